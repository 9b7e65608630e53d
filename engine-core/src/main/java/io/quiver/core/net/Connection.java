package io.quiver.core.net;

import io.netty.channel.Channel;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Role;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One authenticated connection. {@link #send} may be called from any thread: writes are queued and
 * flushed once per event-loop turn, so a burst of sends becomes a few syscalls.
 *
 * <p><b>Inbound budget.</b> Every frame received after the handshake is charged to the
 * connection's budget ({@value #BUDGET_PROPERTY}, default {@link #DEFAULT_INBOUND_BUDGET} bytes)
 * until it is dealt with. A message the endpoint handles within {@link Endpoint#onMessage} is
 * settled when that returns; one it keeps for later (an event queued for the scheduler loop, a
 * chunk waiting for its forward connection) is kept with {@link #keepInput()} and settled with
 * {@link #releaseInput(long)}, from any thread. While more than the budget is kept, the connection
 * stops reading, so TCP pushes back on the peer; it reads again once half of it is settled. A
 * single message larger than the budget is still accepted (frames are bounded by the pipeline's
 * maximum frame), then reading pauses until it is settled.
 *
 * <p>The read state is confined to the channel's event loop: reading is paused while either the
 * budget or the endpoint ({@link #pauseReading()}, for its own back-pressure) asks for it.
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

    /** The system property that sets every connection's inbound budget, in bytes. */
    public static final String BUDGET_PROPERTY = "quiver.net.inboundBudget";
    /** Bytes a connection may have received and not yet settled before it stops reading. */
    public static final long DEFAULT_INBOUND_BUDGET = 64L << 20;
    private static final long BUDGET = Math.max(1, Long.getLong(BUDGET_PROPERTY, DEFAULT_INBOUND_BUDGET));
    private static final int PAUSED_BY_BUDGET = 1;
    private static final int PAUSED_BY_ENDPOINT = 2;
    private static final java.util.concurrent.atomic.LongAdder PAUSES = new java.util.concurrent.atomic.LongAdder();

    private final long budget;
    /** Bytes received and not yet settled: charged on the event loop, settled from any thread. */
    private final java.util.concurrent.atomic.AtomicLong held = new java.util.concurrent.atomic.AtomicLong();
    /** Event loop only: bytes of frames that arrived and whose message is not yet dispatched. */
    private long arriving;
    /** Event loop only: bytes of the message being dispatched, until kept or settled. */
    private long dispatching;
    private boolean kept;
    /** Event loop only: why reading is paused (PAUSED_BY_* bits). */
    private int pausedBy;
    /** Whether the budget paused reading; written on the event loop, read by releasing threads. */
    private volatile boolean budgetPaused;
    private final AtomicBoolean resumeScheduled = new AtomicBoolean();

    Connection(Channel channel) {
        this(channel, BUDGET);
    }

    Connection(Channel channel, long budget) {
        this.channel = channel;
        this.budget = budget;
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

    // ------------------------------------------------------------------ inbound budget

    /** A frame of {@code bytes} was received after the handshake; on the event loop. */
    void arrived(int bytes) {
        held.addAndGet(bytes);
        arriving += bytes;
    }

    /** Its message is being handed to the endpoint; on the event loop. */
    void dispatching() {
        dispatching = arriving;
        arriving = 0;
        kept = false;
    }

    /** The endpoint returned; settles the message unless it was kept. On the event loop. */
    void dispatched() {
        long n = dispatching;
        dispatching = 0;
        if (!kept) {
            releaseInput(n);
        } else if (held.get() > budget && !budgetPaused) {
            PAUSES.increment();
            setPaused(PAUSED_BY_BUDGET, true);
            // A release on another thread that ran before budgetPaused was set did not see it: look again.
            if (held.get() <= budget / 2) {
                setPaused(PAUSED_BY_BUDGET, false);
            }
        }
    }

    /**
     * Called in {@link Endpoint#onMessage}: the endpoint keeps the message being delivered beyond
     * the call, so its bytes stay charged to this connection's budget until {@link #releaseInput}.
     *
     * @return the bytes to settle later with {@link #releaseInput(long)}
     */
    public long keepInput() {
        kept = true;
        return dispatching;
    }

    /** Settles {@code bytes} that {@link #keepInput()} kept; any thread, once per kept message. */
    public void releaseInput(long bytes) {
        if (bytes == 0) {
            return;
        }
        long left = held.addAndGet(-bytes);
        if (left > budget / 2 || !budgetPaused) {
            return;
        }
        if (channel.eventLoop().inEventLoop()) {
            setPaused(PAUSED_BY_BUDGET, false);
        } else if (resumeScheduled.compareAndSet(false, true)) {
            try {
                channel.eventLoop().execute(() -> {
                    resumeScheduled.set(false);
                    if (budgetPaused && held.get() <= budget / 2) {
                        setPaused(PAUSED_BY_BUDGET, false);
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                resumeScheduled.set(false); // the event loop is gone, and the channel with it
            }
        }
    }

    /** Bytes this connection received and has not settled yet. */
    public long inputHeld() {
        return held.get();
    }

    /** This connection's inbound budget in bytes. */
    public long inputBudget() {
        return budget;
    }

    /** How many times any connection of this process paused reading because its budget was full. */
    public static long budgetPauses() {
        return PAUSES.sum();
    }

    /** Stops reading for the endpoint's own back-pressure (the budget may pause it too). On the event loop. */
    public void pauseReading() {
        setPaused(PAUSED_BY_ENDPOINT, true);
    }

    /** Ends {@link #pauseReading()}; reading resumes unless the budget still holds it. On the event loop. */
    public void resumeReading() {
        setPaused(PAUSED_BY_ENDPOINT, false);
    }

    private void setPaused(int reason, boolean paused) {
        pausedBy = paused ? pausedBy | reason : pausedBy & ~reason;
        budgetPaused = (pausedBy & PAUSED_BY_BUDGET) != 0;
        channel.config().setAutoRead(pausedBy == 0);
    }

    @Override
    public String toString() {
        return (peerRole == null ? "peer" : peerRole.name().toLowerCase()) + " " + peerId + " at " + channel.remoteAddress();
    }
}
