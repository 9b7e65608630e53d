package io.quiver.executor;

import io.quiver.QuiverException;
import io.quiver.core.net.Connection;
import io.quiver.core.net.Endpoint;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.FetchChunk;
import io.quiver.core.protocol.Message.FetchFailed;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.MessageCodec;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This executor's outbound connections to peers' data ports, one per peer, shared by chunk
 * forwarding and fetches. Connecting blocks, so it runs on the {@code io} executor; callers get a
 * future. Writability waiters let a forwarding chain stop reading upstream until the downstream
 * connection drains. Thread-safe; the {@link Endpoint} methods run on event loops and never block.
 */
final class PeerLinks implements Endpoint, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeerLinks.class);
    static final int CONNECT_TIMEOUT_MILLIS = 5_000;

    private final String selfId;
    private final Transport transport;
    private final Secret secret;
    private final LongSupplier epoch;
    private final Executor io;
    private final Map<String, CompletableFuture<Connection>> links = new ConcurrentHashMap<>();
    private final Map<Connection, ConcurrentLinkedQueue<Runnable>> writableWaiters = new ConcurrentHashMap<>();
    private volatile Fetcher fetcher;
    private volatile boolean closed;

    PeerLinks(String selfId, Transport transport, Secret secret, LongSupplier epoch, Executor io) {
        this.selfId = selfId;
        this.transport = transport;
        this.secret = secret;
        this.epoch = epoch;
        this.io = io;
    }

    void fetcher(Fetcher f) {
        this.fetcher = f;
    }

    /** The connection to {@code peer}'s data port, connecting if there is none (or it closed). */
    CompletableFuture<Connection> link(Peer peer) {
        String key = peer.host() + ":" + peer.port();
        while (true) {
            CompletableFuture<Connection> f = links.get(key);
            if (f != null) {
                Connection c = connectionOf(f);
                if (!f.isDone() || (c != null && c.isOpen())) {
                    return f;
                }
                links.remove(key, f);
                continue;
            }
            CompletableFuture<Connection> mine = new CompletableFuture<>();
            if (links.putIfAbsent(key, mine) != null) {
                continue;
            }
            if (closed) {
                links.remove(key, mine);
                mine.completeExceptionally(new QuiverException("executor " + selfId + " is closing"));
                return mine;
            }
            try {
                io.execute(() -> connect(peer, key, mine));
            } catch (RuntimeException e) { // rejected: shutting down
                links.remove(key, mine);
                mine.completeExceptionally(e);
            }
            return mine;
        }
    }

    private void connect(Peer peer, String key, CompletableFuture<Connection> future) {
        try {
            Connection c = Pipelines.connect(transport, peer.host(), peer.port(), secret, Role.EXECUTOR, selfId,
                    epoch.getAsLong(), MessageCodec.DEFAULT_MAX_FRAME, CONNECT_TIMEOUT_MILLIS, this);
            if (closed) {
                c.close();
                throw new QuiverException("executor " + selfId + " is closing");
            }
            future.complete(c);
        } catch (RuntimeException e) {
            links.remove(key, future);
            log.debug("could not connect to executor {} at {}: {}", peer.id(), key, e.getMessage());
            future.completeExceptionally(e);
        }
    }

    /**
     * Runs {@code action} once {@code c} is writable (or closed): at once if it is now. The action
     * runs on whatever thread notices; it must only post work to its own event loop.
     */
    void whenWritable(Connection c, Runnable action) {
        writableWaiters.computeIfAbsent(c, k -> new ConcurrentLinkedQueue<>()).add(action);
        if (c.channel().isWritable() || !c.isOpen()) {
            fire(c);
        }
    }

    private void fire(Connection c) {
        ConcurrentLinkedQueue<Runnable> q = writableWaiters.get(c);
        if (q == null) {
            return;
        }
        Runnable r;
        while ((r = q.poll()) != null) {
            try {
                r.run();
            } catch (RuntimeException e) {
                log.warn("writability waiter failed", e);
            }
        }
    }

    @Override
    public void onWritabilityChanged(Connection c) {
        if (c.channel().isWritable()) {
            fire(c);
        }
    }

    @Override
    public void onMessage(Connection c, Message m) {
        Fetcher f = fetcher;
        if (m instanceof FetchChunk chunk) {
            if (f == null) {
                chunk.data().release();
            } else {
                f.onChunk(c, chunk);
            }
        } else if (m instanceof FetchFailed failed) {
            if (f != null) {
                f.onFailed(c, failed);
            }
        } else {
            if (m instanceof Message.DataMessage d) {
                d.data().release();
            }
            log.warn("closing connection to {}: unexpected {} from a data port", c, m.getClass().getSimpleName());
            c.close();
        }
    }

    @Override
    public void onClose(Connection c) {
        links.values().removeIf(f -> connectionOf(f) == c);
        fire(c);
        writableWaiters.remove(c);
        Fetcher f = fetcher;
        if (f != null) {
            f.onClosed(c);
        }
    }

    private static Connection connectionOf(CompletableFuture<Connection> f) {
        return f.isDone() && !f.isCompletedExceptionally() ? f.join() : null;
    }

    @Override
    public void close() {
        closed = true;
        for (CompletableFuture<Connection> f : links.values()) {
            Connection c = connectionOf(f);
            if (c != null) {
                c.close();
            }
        }
        links.clear();
    }
}
