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

    /** Queues a message; it is flushed at the end of the current event-loop turn. */
    public void send(Message message) {
        channel.write(message, channel.voidPromise());
        if (flushScheduled.compareAndSet(false, true)) {
            channel.eventLoop().execute(() -> {
                flushScheduled.set(false);
                channel.flush();
            });
        }
    }

    /** Writes and flushes at once. */
    public void sendNow(Message message) {
        channel.writeAndFlush(message, channel.voidPromise());
    }

    /**
     * Blocks the calling thread (never an event loop) while the outbound buffer is above its high
     * water mark: back-pressure for streaming bulk data.
     *
     * @return false if the connection closed while waiting
     */
    public boolean awaitWritable() {
        synchronized (writability) {
            while (channel.isActive() && !channel.isWritable()) {
                try {
                    writability.wait(100);
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
