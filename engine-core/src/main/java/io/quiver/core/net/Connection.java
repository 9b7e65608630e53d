package io.quiver.core.net;

import io.netty.channel.Channel;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Role;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One authenticated connection. {@link #send} may be called from any thread: writes are queued and
 * flushed once per event-loop turn, so a burst of sends becomes a few syscalls.
 */
public final class Connection {
    private final Channel channel;
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final java.util.concurrent.atomic.AtomicLong outboxBytes = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.ConcurrentLinkedQueue<Message> outbox = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final Object writability = new Object();
    private volatile Role peerRole;
    private volatile String peerId = "?";
    private volatile long peerEpoch;
    private volatile long session;
    private volatile Object attachment;

    Connection(Channel channel) {
        this.channel = channel;
    }

    void identify(Role role, String id, long epoch, long session) {
        this.peerRole = role;
        this.peerId = id;
        this.peerEpoch = epoch;
        this.session = session;
    }

    public Channel channel() {
        return channel;
    }

    /** The role the peer proved in the handshake (for outbound connections: the server's). */
    public Role peerRole() {
        return peerRole;
    }

    public String peerId() {
        return peerId;
    }

    public long peerEpoch() {
        return peerEpoch;
    }

    /** The session number the server assigned in the handshake. */
    public long session() {
        return session;
    }

    /** Per-connection state of the component that owns the connection. */
    @SuppressWarnings("unchecked")
    public <T> T attachment() {
        return (T) attachment;
    }

    public void attach(Object value) {
        this.attachment = value;
    }

    public boolean isOpen() {
        return channel.isActive();
    }

    /**
     * Queues a message; it is flushed at the end of the current event-loop turn. From another
     * thread, messages go through a queue that one task on the event loop drains and flushes: a
     * flush task queued before a cross-thread write would not cover it, so writes and their flush
     * must be ordered by the same task.
     */
    public void send(Message message) {
        if (channel.eventLoop().inEventLoop()) {
            channel.write(message, channel.voidPromise());
            if (flushScheduled.compareAndSet(false, true)) {
                channel.eventLoop().execute(() -> {
                    flushScheduled.set(false);
                    channel.flush();
                });
            }
            return;
        }
        if (message instanceof Message.DataMessage d) {
            outboxBytes.addAndGet(d.data().readableBytes());
        }
        outbox.add(message);
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                channel.eventLoop().execute(this::drainOutbox);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                drainScheduled.set(false);
                releaseOutbox(); // the event loop is shut down: the channel is gone
            }
        }
    }

    private void drainOutbox() {
        drainScheduled.set(false);
        Message m;
        boolean wrote = false;
        long bytes = 0;
        while ((m = outbox.poll()) != null) {
            if (m instanceof Message.DataMessage d) {
                bytes += d.data().readableBytes();
            }
            channel.write(m, channel.voidPromise());
            wrote = true;
        }
        if (wrote) {
            channel.flush();
        }
        if (bytes > 0) {
            outboxBytes.addAndGet(-bytes);
            writabilityChanged(); // wakes awaitWritable, which also counts the outbox
        }
    }

    private void releaseOutbox() {
        Message m;
        while ((m = outbox.poll()) != null) {
            if (m instanceof Message.DataMessage d) {
                d.data().release();
            }
        }
    }

    /** Writes and flushes at once (after anything already sent from this thread). */
    public void sendNow(Message message) {
        if (channel.eventLoop().inEventLoop()) {
            channel.writeAndFlush(message, channel.voidPromise());
        } else {
            send(message); // the drain flushes
        }
    }

    /**
     * Blocks the calling thread (never an event loop) while the outbound buffer is above its high
     * water mark: back-pressure for streaming bulk data. A peer that keeps the connection open but
     * stops reading cannot hold the caller forever.
     *
     * @param timeoutMillis the longest the buffer may stay full
     * @param what what is being sent, for the message, e.g. "ref r-1-2 (64 MiB)"
     * @return false if the connection closed while waiting
     * @throws QuiverException with a {@link java.util.concurrent.TimeoutException} cause, naming the
     *     peer and {@code what}, if the peer read nothing for {@code timeoutMillis}
     */
    public boolean awaitWritable(long timeoutMillis, String what) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        synchronized (writability) {
            while (channel.isActive()
                    && (!channel.isWritable() || outboxBytes.get() > Transport.WATER_MARK.high())) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new io.quiver.QuiverException(this + " read nothing for " + timeoutMillis + " ms while "
                            + what + " was being sent to it; giving up on it",
                            new java.util.concurrent.TimeoutException("peer stopped reading"));
                }
                try {
                    writability.wait(Math.max(1, Math.min(100, left / 1_000_000)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return channel.isActive();
    }

    void writabilityChanged() {
        synchronized (writability) {
            writability.notifyAll();
        }
    }

    public void close() {
        channel.close();
    }

    @Override
    public String toString() {
        return (peerRole == null ? "peer" : peerRole.name().toLowerCase()) + " " + peerId + " at " + channel.remoteAddress();
    }
}
