package io.quiver.coordinator.sched;

import io.quiver.core.protocol.Message;

/** Where the scheduler sends messages: a client's or an executor's connection (a fake in tests). */
public interface Link {
    void send(Message message);

    /** Closes the link; the peer sees the connection drop. */
    void close();
}
