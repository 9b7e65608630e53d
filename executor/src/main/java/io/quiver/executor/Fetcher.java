package io.quiver.executor;

import io.netty.buffer.ByteBuf;
import io.quiver.RefId;
import io.quiver.core.net.Connection;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.Fetch;
import io.quiver.core.protocol.Message.FetchChunk;
import io.quiver.core.protocol.Message.FetchFailed;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.SliceFetch;
import io.quiver.core.codec.ShuffleBlocks;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import io.quiver.executor.block.BlockStore;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Fetches blocks this executor lacks from peers that hold them: one fetch per block however many
 * tasks wait for it, trying each location in turn. A fetched block goes into the store, then
 * {@code onFetched} runs (report to the leader, wake the waiting tasks); when every location
 * failed, {@code onFailed} runs with a {@link Failure#LOST} failure.
 *
 * <p>Shuffle reads fetch slices instead ({@link #fetchSlices}): the buckets one reduce task needs
 * of map outputs held elsewhere, asked of each holder in one {@link SliceFetch} and answered as one
 * stream, as Spark's ShuffleBlockFetcherIterator batches its block fetches. A slice whose holder
 * fails moves, with the others that holder failed, to its next location; one with none left fails
 * as a whole-block fetch does ({@link Failure#FETCH}, so the leader recomputes the map output).
 * Thread-safe: a fetch's chunks arrive on its connection's event loop.
 */
final class Fetcher implements AutoCloseable {
    static final long STALL_MILLIS = Long.getLong("quiver.fetchStallMs", 20_000);
    private final String selfId;
    private final PeerLinks links;
    private final BlockStore store;
    private final LongAdder bytesFetched;
    private final LongAdder requests;
    private final Consumer<RefId> onFetched;
    private final BiConsumer<RefId, Failure> onFailed;
    private final Map<RefId, Pending> byRef = new ConcurrentHashMap<>();
    private final Map<Long, Pending> byRequest = new ConcurrentHashMap<>();
    private final AtomicLong requestIds = new AtomicLong();

    /** One bucket of a map output a task needs, and where it may be fetched from. Guarded by its group's fetch. */
    static final class SliceWant {
        final int arg;
        final RefId ref;
        final int bucket;
        final ArrayDeque<Peer> candidates;
        final StringBuilder reasons = new StringBuilder();

        SliceWant(int arg, RefId ref, int bucket, List<Peer> locations, String selfId) {
            this.arg = arg;
            this.ref = ref;
            this.bucket = bucket;
            this.candidates = new ArrayDeque<>(locations.size());
            for (Peer p : locations) {
                if (!p.id().equals(selfId)) {
                    candidates.add(p);
                }
            }
        }
    }

    /** Where a task's fetched slices go. Called on a connection's event loop (or an io thread). */
    interface SliceSink {
        /** {@code slices.get(i)} (owned by the callee: one slice entry each) is {@code wants.get(i)}'s. */
        void arrived(List<SliceWant> wants, List<ByteBuf> slices);

        /** Every location of {@code want} failed. */
        void failed(SliceWant want, Failure failure);
    }

    private static final class Pending {
        final RefId ref;
        /** A slice fetch's wants (ref is then the first one's, for messages) and sink; null for a block. */
        List<SliceWant> slices;
        SliceSink sink;
        final ArrayDeque<Peer> candidates;
        final StringBuilder reasons = new StringBuilder();
        volatile Connection connection;
        volatile long requestId;
        Peer peer;
        ByteBuf buf;
        long total;
        long received;

        Pending(RefId ref, ArrayDeque<Peer> candidates) {
            this.ref = ref;
            this.candidates = candidates;
        }

        synchronized void reason(Peer peer, String why) {
            reasons.append(reasons.length() == 0 ? "" : "; ").append(peer.id()).append(": ").append(why);
        }

        void releaseBuffer() {
            if (buf != null) {
                buf.release();
                buf = null;
            }
        }
    }

    Fetcher(String selfId, PeerLinks links, BlockStore store, LongAdder bytesFetched, LongAdder requests,
            Consumer<RefId> onFetched, BiConsumer<RefId, Failure> onFailed) {
        this.requests = requests;
        this.selfId = selfId;
        this.links = links;
        this.store = store;
        this.bytesFetched = bytesFetched;
        this.onFetched = onFetched;
        this.onFailed = onFailed;
    }

    /** Fetches {@code ref} from one of {@code locations} unless a fetch of it is under way. */
    void fetch(RefId ref, List<Peer> locations) {
        ArrayDeque<Peer> candidates = new ArrayDeque<>(locations.size());
        for (Peer p : locations) {
            if (!p.id().equals(selfId)) {
                candidates.add(p);
            }
        }
        Pending p = new Pending(ref, candidates);
        if (byRef.putIfAbsent(ref, p) == null) {
            next(p);
        }
    }

    /**
     * Fetches the slices {@code wants} from their first locations: one request per holder. Each
     * want must have a location other than this executor.
     */
    void fetchSlices(List<SliceWant> wants, SliceSink sink) {
        Map<String, List<SliceWant>> byHolder = new LinkedHashMap<>();
        Map<String, Peer> holders = new LinkedHashMap<>();
        for (SliceWant w : wants) {
            Peer peer;
            synchronized (w) {
                peer = w.candidates.poll();
            }
            if (peer == null) {
                String why;
                synchronized (w) {
                    why = w.reasons.length() == 0 ? "no location other than this executor was given" : w.reasons.toString();
                }
                sink.failed(w, new Failure(Failure.FETCH, "io.quiver.DataLostException", "executor " + selfId
                        + " could not fetch bucket " + w.bucket + " of block " + w.ref + " from any of its locations ("
                        + why + ")", "", selfId, 1));
                continue;
            }
            byHolder.computeIfAbsent(peer.id(), k -> new ArrayList<>()).add(w);
            holders.putIfAbsent(peer.id(), peer);
        }
        byHolder.forEach((id, group) -> sendSlices(holders.get(id), group, sink));
    }

    private void sendSlices(Peer peer, List<SliceWant> group, SliceSink sink) {
        Pending p = new Pending(group.get(0).ref, new ArrayDeque<>());
        p.slices = group;
        p.sink = sink;
        links.link(peer).whenComplete((c, e) -> {
            if (e != null) {
                sliceFailed(p, peer, "cannot connect: " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
                return;
            }
            long id = register(p, peer, c);
            List<SliceFetch.Slice> asked = new ArrayList<>(group.size());
            for (SliceWant w : group) {
                asked.add(new SliceFetch.Slice(w.ref, w.bucket));
            }
            c.send(new SliceFetch(id, asked));
            watch(c, p, id, 0);
            if (!c.isOpen() && byRequest.remove(id, p)) {
                sliceFailed(p, peer, "connection closed");
            }
        });
    }

    /** Starts a request for {@code p} on {@code c}: its id, under which the replies find it. */
    private long register(Pending p, Peer peer, Connection c) {
        long id = requestIds.incrementAndGet();
        p.received = 0;
        p.peer = peer;
        p.connection = c;
        p.requestId = id;
        byRequest.put(id, p);
        requests.increment();
        return id;
    }

    /** The holder failed these slices: each moves on to its next location. */
    private void sliceFailed(Pending p, Peer peer, String why) {
        for (SliceWant w : p.slices) {
            synchronized (w) {
                w.reasons.append(w.reasons.length() == 0 ? "" : "; ").append(peer.id()).append(": ").append(why);
            }
        }
        fetchSlices(p.slices, p.sink);
    }

    /** A slice stream is complete: cut it into its entries, in request order. */
    private void slicesArrived(Pending p, ByteBuf stream) {
        List<ByteBuf> out = new ArrayList<>(p.slices.size());
        try {
            int at = stream.readerIndex();
            for (int i = 0; i < p.slices.size(); i++) {
                int len = ShuffleBlocks.entryLength(stream, at);
                out.add(stream.retainedSlice(at, len));
                at += len;
            }
            if (at != stream.writerIndex()) {
                throw new io.quiver.QuiverException("corrupt slice stream: " + (stream.writerIndex() - at)
                        + " bytes after its " + p.slices.size() + " entries");
            }
        } catch (RuntimeException e) {
            for (ByteBuf b : out) {
                b.release();
            }
            stream.release();
            org.slf4j.LoggerFactory.getLogger(Fetcher.class).warn("slices from {}: {}; trying their next locations",
                    p.peer.id(), e.getMessage());
            sliceFailed(p, p.peer, e.getMessage());
            return;
        }
        stream.release();
        p.sink.arrived(p.slices, out);
    }

    private void next(Pending p) {
        Peer peer;
        synchronized (p) {
            peer = p.candidates.poll();
        }
        if (peer == null) {
            byRef.remove(p.ref, p);
            String why;
            synchronized (p) {
                why = p.reasons.length() == 0 ? "no location other than this executor was given" : p.reasons.toString();
            }
            onFailed.accept(p.ref, new Failure(Failure.FETCH, "io.quiver.DataLostException", "executor " + selfId
                    + " could not fetch block " + p.ref + " from any of its locations (" + why + ")", "", selfId, 1));
            return;
        }
        links.link(peer).whenComplete((c, e) -> {
            if (e != null) {
                p.reason(peer, "cannot connect: " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
                next(p);
                return;
            }
            long id = register(p, peer, c);
            c.send(new Fetch(id, p.ref));
            watch(c, p, id, 0);
            if (!c.isOpen() && byRequest.remove(id, p)) { // closed before onClosed could see the request
                p.reason(peer, "connection closed");
                next(p);
            }
        });
    }

    /**
     * A peer that stops sending (frozen, or its process half dead) must not hold a task forever:
     * a fetch that receives nothing for {@link #STALL_MILLIS} moves on to its next location.
     */
    private void watch(Connection c, Pending p, long requestId, long receivedBefore) {
        c.channel().eventLoop().schedule(() -> {
            if (byRequest.get(requestId) != p) {
                return; // done, failed or moved on
            }
            if (p.received == receivedBefore) {
                abort(p, "no data for " + STALL_MILLIS + " ms");
            } else {
                watch(c, p, requestId, p.received);
            }
        }, STALL_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** On the connection's event loop. Takes ownership of the chunk's data. */
    void onChunk(Connection c, FetchChunk chunk) {
        ByteBuf data = chunk.data();
        try {
            Pending p = byRequest.get(chunk.reqId());
            if (p == null || p.connection != c) {
                return;
            }
            if (p.buf == null) {
                if (chunk.offset() != 0) {
                    abort(p, "stream began at offset " + chunk.offset());
                    return;
                }
                p.total = chunk.total();
                try {
                    p.buf = store.allocate(chunk.total());
                } catch (RuntimeException e) {
                    abort(p, e.getMessage());
                    return;
                }
            }
            if (chunk.total() != p.total || chunk.offset() != p.received) {
                abort(p, "chunk at offset " + chunk.offset() + " of " + chunk.total() + " bytes, expected offset "
                        + p.received + " of " + p.total);
                return;
            }
            int n = data.readableBytes();
            p.buf.writeBytes(data, data.readerIndex(), n);
            p.received += n;
            if (p.received == p.total) {
                byRequest.remove(chunk.reqId(), p);
                ByteBuf block = p.buf;
                p.buf = null;
                bytesFetched.add(p.total);
                if (p.slices != null) {
                    slicesArrived(p, block);
                    return;
                }
                byRef.remove(p.ref, p);
                store.putIfAbsent(p.ref, block);
                onFetched.accept(p.ref);
            }
        } finally {
            data.release();
        }
    }

    private void abort(Pending p, String why) {
        if (byRequest.remove(p.requestId, p)) {
            p.releaseBuffer();
            if (p.slices != null) {
                org.slf4j.LoggerFactory.getLogger(Fetcher.class).info("fetch of {} slices from {}: {}; trying their"
                        + " next locations", p.slices.size(), p.peer == null ? "?" : p.peer.id(), why);
                sliceFailed(p, p.peer, why);
                return;
            }
            org.slf4j.LoggerFactory.getLogger(Fetcher.class).info("fetch of {} from {}: {}; trying its next location",
                    p.ref, p.peer == null ? "?" : p.peer.id(), why);
            p.reason(p.peer, why);
            next(p);
        }
    }

    /** On the connection's event loop. */
    void onFailed(Connection c, FetchFailed failed) {
        Pending p = byRequest.get(failed.reqId());
        if (p != null && p.connection == c) {
            abort(p, failed.reason());
        }
    }

    /** On the connection's event loop: fetches in flight on it move to their next location. */
    void onClosed(Connection c) {
        for (Pending p : byRequest.values()) {
            if (p.connection == c) {
                abort(p, "connection closed");
            }
        }
    }

    /** Releases the buffers of fetches in flight. Call once the event loops have stopped. */
    @Override
    public void close() {
        for (Pending p : byRequest.values()) {
            p.releaseBuffer();
        }
        byRequest.clear();
        byRef.clear();
    }
}
