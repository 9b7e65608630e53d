package io.quiver.core.net;

import io.quiver.core.protocol.Message;

/**
 * What a component does with its connections. Called on Netty event-loop threads: implementations
 * turn each call into an event for their own loop and return at once, never block.
 */
public interface Endpoint {
    /** The handshake succeeded. */
    default void onOpen(Connection connection) {}

    /**
     * A message arrived. The endpoint owns a {@link Message.DataMessage}'s data and must release it.
     * A message handled after this returns (queued for another thread, parked until a peer is
     * writable) must be kept with {@link Connection#keepInput()} and settled with
     * {@link Connection#releaseInput(long)} once handled: that is how the connection's inbound
     * budget bounds what a peer can make this process hold.
     */
    void onMessage(Connection connection, Message message);

    /** The connection closed, for whatever reason. */
    default void onClose(Connection connection) {}

    /** Writability of the connection changed (back-pressure for data forwarding). */
    default void onWritabilityChanged(Connection connection) {}
}
