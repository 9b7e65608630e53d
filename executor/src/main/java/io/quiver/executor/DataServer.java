package io.quiver.executor;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.quiver.RefId;
import io.quiver.core.net.Connection;
import io.quiver.core.net.Endpoint;
import io.quiver.core.net.HostShare;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.BlockFailure;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Fetch;
import io.quiver.core.protocol.Message.FetchChunk;
import io.quiver.core.protocol.Message.FetchFailed;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.PutChunk;
import io.quiver.core.protocol.Message.PutShared;
import io.quiver.core.protocol.Message.ShareProbe;
import io.quiver.core.protocol.Message.ShareProbeReply;
import io.quiver.core.protocol.Message.SliceFetch;
import io.quiver.core.codec.ShuffleBlocks;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.executor.block.BlockStore;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executor's data port: accepts blocks ({@link PutChunk}, passing each chunk on down a
 * forward chain) and serves them ({@link Fetch}).
 *
 * <pre>
 *  client --PutChunk(fwd=[B,C])--> A --PutChunk(fwd=[C])--> B --PutChunk(fwd=[])--> C
 *            A, B and C each copy the chunk in, CRC32C it, and on the last chunk verify and
 *            report StoredBlocks (or a BlockFailure) to the leader
 *
 *  peer --Fetch(req, ref)--> here --FetchChunk(req, total, offset, slice)*--> peer   (or FetchFailed)
 *  peer --SliceFetch(req, [(ref, bucket)...])--> here --FetchChunk*--> peer   one stream of slice
 *        entries, cut from the map-output blocks by their bucket index, never decoded (or FetchFailed)
 *
 *  client --ShareProbe(req, path, nonce)--> here --ShareProbeReply(req, sameHost)--> client
 *  client --PutShared(ref, path, total, crc)--> here: maps the host's one copy (HostShare), verifies,
 *            reports StoredBlocks (or a BlockFailure) like a received block; no byte on the socket
 *
 *  client --CodeOffer / JarChunk* / CodeRelease--> here: {@link ClientCodes}
 * </pre>
 *
 * Per-connection state lives in the connection's attachment and is touched only on that
 * connection's event loop. Back-pressure: when a forward connection is not writable, this
 * connection stops reading until it is; a fetch stream pauses while this connection is not
 * writable. A spilled block is read back on the {@code disk} executor before it is streamed.
 */
final class DataServer implements Endpoint {
    private static final Logger log = LoggerFactory.getLogger(DataServer.class);

    private final String selfId;
    private final BlockStore store;
    private final PeerLinks links;
    private final Reports reports;
    private final Consumer<RefId> onStored;
    private final Executor disk;
    private final ClientCodes codes;

    /** Bytes of blocks received to disk that the disk thread has not written yet, over all connections. */
    static final long DISK_PENDING_MAX = 32L << 20;
    private final java.util.concurrent.atomic.AtomicLong diskPending = new java.util.concurrent.atomic.AtomicLong();
    /** Connections that stopped reading until the disk catches up. */
    private final java.util.Set<Inbound> waitingForDisk = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Bytes of blocks stored from the host's shared copy ({@link PutShared}) instead of received. */
    final java.util.concurrent.atomic.LongAdder bytesShared = new java.util.concurrent.atomic.LongAdder();

    /** Data-plane bytes this server sent (fetch replies, forwarded chunks) and received (put chunks). */
    final java.util.concurrent.atomic.LongAdder bytesSent = new java.util.concurrent.atomic.LongAdder();
    final java.util.concurrent.atomic.LongAdder bytesReceived = new java.util.concurrent.atomic.LongAdder();

    DataServer(String selfId, BlockStore store, PeerLinks links, Reports reports, Consumer<RefId> onStored,
               Executor disk, ClientCodes codes) {
        this.codes = codes;
        this.selfId = selfId;
        this.store = store;
        this.links = links;
        this.reports = reports;
        this.onStored = onStored;
        this.disk = disk;
    }

    /**
     * A block arriving on one connection: in memory (its chunks composed in {@code buf}), or, when
     * it does not fit in the store's memory, written chunk by chunk to a file on the disk thread.
     */
    private static final class Incoming {
        final long total;
        final CRC32C crc = new CRC32C();
        ByteBuf buf; // null once failed: the rest of its chunks are skipped
        long received;
        /** Set on the event loop when the block goes to disk, before any write is queued. */
        final ToDisk toDisk;

        Incoming(long total, ByteBuf buf, ToDisk toDisk) {
            this.total = total;
            this.buf = buf;
            this.toDisk = toDisk;
        }

        boolean failed() {
            return toDisk == null ? buf == null : toDisk.abandoned;
        }
    }

    /** The file a block is received into; its channel and failure are touched only on the disk thread. */
    private static final class ToDisk {
        java.nio.file.Path file;
        java.nio.channels.FileChannel out;
        Exception failure;
        /** Event loop only: no more chunks will be written (failed, rejected or the connection closed). */
        boolean abandoned;
    }

    /** Where this connection's chunks are forwarded to: one per next peer. */
    private static final class Forward {
        final Peer to;
        final ArrayDeque<PutChunk> pending = new ArrayDeque<>();
        final java.util.Set<RefId> reportedFailed = new java.util.HashSet<>();
        String failure;
        Connection out;
        boolean failed;
        boolean waiting;

        Forward(Peer to) {
            this.to = to;
        }
    }

    private static final class Stream {
        final long reqId;
        final ByteBuf buf;
        int offset;

        Stream(long reqId, ByteBuf buf) {
            this.reqId = reqId;
            this.buf = buf;
        }
    }

    private static final class Inbound {
        final Connection conn;
        final Map<RefId, Incoming> puts = new HashMap<>();
        final Map<String, Forward> forwards = new HashMap<>();
        final ArrayDeque<Stream> streams = new ArrayDeque<>();
        boolean closed;

        Inbound(Connection conn) {
            this.conn = conn;
        }
    }

    @Override
    public void onOpen(Connection c) {
        c.attach(new Inbound(c));
    }

    @Override
    public void onMessage(Connection c, Message m) {
        Inbound in = c.attachment();
        if (m instanceof PutChunk put) {
            onPut(in, put);
        } else if (m instanceof Fetch fetch) {
            onFetch(in, fetch);
        } else if (m instanceof SliceFetch fetch) {
            onSliceFetch(in, fetch);
        } else if (m instanceof PutShared put) {
            onPutShared(in, put);
        } else if (m instanceof ShareProbe probe) {
            onShareProbe(in, probe);
        } else if (m instanceof Message.JarChunk chunk) {
            codes.onChunk(c, chunk);
        } else if (m instanceof Message.CodeOffer offer) {
            codes.onOffer(c, offer);
        } else if (m instanceof Message.CodeRelease release) {
            codes.onRelease(c, release);
        } else {
            if (m instanceof Message.DataMessage d) {
                d.data().release();
            }
            log.warn("closing data connection from {}: a data port takes PutChunk, Fetch and client code, not {}", c,
                    m.getClass().getSimpleName());
            c.close();
        }
    }

    // ------------------------------------------------------------------ put

    private void onPut(Inbound in, PutChunk put) {
        ByteBuf data = put.data();
        try {
            if (!put.forward().isEmpty()) {
                forward(in, put);
            }
            RefId ref = put.ref();
            Incoming block = in.puts.get(ref);
            int n = data.readableBytes();
            bytesReceived.add(n);
            boolean last = put.offset() + n == put.total();
            if (block == null) {
                if (put.offset() != 0) {
                    reject(in, ref, null, "first chunk of block " + ref + " at offset " + put.offset() + ", expected 0",
                            last);
                    return;
                }
                if (put.total() > Integer.MAX_VALUE - 8) {
                    reject(in, ref, null, "block of " + put.total() + " bytes is too large (over 2 GiB); split the value",
                            last);
                    return;
                }
                if (store.receivingBytes() + put.total() > store.memoryLimit()) {
                    // Blocks already arriving fill this executor's memory: this one goes to a file.
                    block = new Incoming(put.total(), null, new ToDisk());
                    openFile(ref, block.toDisk);
                } else {
                    // The block keeps the received chunks themselves: no copy into a block-sized buffer.
                    ByteBuf buf = in.conn.channel().alloc().compositeDirectBuffer(Integer.MAX_VALUE);
                    block = new Incoming(put.total(), buf, null);
                }
                in.puts.put(ref, block);
            }
            if (block.failed()) { // failed earlier: skip to its end
                if (last) {
                    in.puts.remove(ref);
                }
                return;
            }
            if (put.total() != block.total || put.offset() != block.received) {
                reject(in, ref, block, "chunk [" + put.offset() + ", +" + n + ") of " + put.total()
                        + " bytes does not continue block " + ref + " at " + block.received + " of " + block.total, last);
                return;
            }
            for (ByteBuffer bb : data.nioBuffers(data.readerIndex(), n)) {
                block.crc.update(bb);
            }
            if (block.toDisk != null) {
                block.received += n;
                write(in, block.toDisk, data.retainedSlice());
                if (block.received == block.total) {
                    in.puts.remove(ref);
                    finishFile(in, ref, block, put.checksum());
                }
                return;
            }
            ((CompositeByteBuf) block.buf).addComponent(true, data.retainedSlice());
            block.received += n;
            store.receiving(n); // a block being received counts as memory in use: older blocks spill for it
            if (block.received == block.total) {
                in.puts.remove(ref);
                long crc = block.crc.getValue();
                store.receiving(-block.received);
                if (crc == put.checksum()) {
                    store.put(ref, block.buf, null, false);
                    block.buf = null;
                    reports.stored(new BlockInfo(ref, block.total));
                    onStored.accept(ref);
                } else {
                    block.buf.release();
                    block.buf = null;
                    log.warn("block {} from {} failed its checksum: CRC32C {} computed, {} sent", ref, in.conn,
                            Long.toHexString(crc), Long.toHexString(put.checksum()));
                    reports.blockFailed(new BlockFailure(ref, "checksum mismatch on executor " + selfId + ": CRC32C "
                            + Long.toHexString(crc) + " computed, " + Long.toHexString(put.checksum()) + " sent"));
                }
            }
        } finally {
            data.release();
        }
    }

    // ------------------------------------------------------------------ the host's shared copy

    /**
     * Answers whether the probe's file, named in this executor's own shared directory, holds the
     * nonce: then the client and this executor share the host's memory. Read on the disk thread.
     */
    private void onShareProbe(Inbound in, ShareProbe probe) {
        disk.execute(() -> {
            String reason = "";
            boolean same = false;
            try {
                java.nio.file.Path file = HostShare.checked(probe.path());
                byte[] held = java.nio.file.Files.readAllBytes(file);
                same = probe.nonce() != null && java.security.MessageDigest.isEqual(held, probe.nonce());
                if (!same) {
                    reason = "the file " + probe.path() + " here does not hold the nonce sent";
                }
            } catch (IllegalArgumentException | java.io.IOException e) {
                reason = e.getMessage();
            }
            in.conn.send(new ShareProbeReply(probe.reqId(), same, reason));
        });
    }

    /**
     * Stores a block from the host's shared copy: maps it copy-on-write (no byte received, none
     * copied), verifies its CRC32C and reports it like a received block. On the disk thread: the
     * checksum pass over a large block must not hold up the event loop.
     */
    private void onPutShared(Inbound in, PutShared put) {
        RefId ref = put.ref();
        disk.execute(() -> {
            ByteBuf buf = null;
            try {
                buf = HostShare.map(HostShare.checked(put.path()), put.total());
                CRC32C crc = new CRC32C();
                crc.update(buf.nioBuffer());
                if (crc.getValue() != put.checksum()) {
                    throw new java.io.IOException("checksum mismatch: CRC32C " + Long.toHexString(crc.getValue())
                            + " computed, " + Long.toHexString(put.checksum()) + " sent");
                }
                store.put(ref, buf, null, false);
                buf = null;
                bytesShared.add(put.total());
                reports.stored(new BlockInfo(ref, put.total()));
                onStored.accept(ref);
            } catch (IllegalArgumentException | java.io.IOException e) {
                log.warn("shared copy of block {} from {} not stored: {}", ref, in.conn, e.getMessage());
                reports.blockFailed(new BlockFailure(ref, "executor " + selfId + " could not map the shared copy of "
                        + ref + " at " + put.path() + ": " + e.getMessage()));
            } finally {
                if (buf != null) {
                    buf.release();
                }
            }
        });
    }

    private void reject(Inbound in, RefId ref, Incoming block, String reason, boolean last) {
        log.warn("rejecting block {} from {}: {}", ref, in.conn, reason);
        if (block != null) {
            discard(block);
        }
        if (last) {
            in.puts.remove(ref);
        } else {
            in.puts.put(ref, block != null ? block : new Incoming(-1, null, null));
        }
        reports.blockFailed(new BlockFailure(ref, "executor " + selfId + ": " + reason));
    }

    /** Blocking, on the disk thread: creates the file a block is received into. */
    private void openFile(RefId ref, ToDisk d) {
        disk.execute(() -> {
            try {
                d.file = store.newFile(ref);
                d.out = java.nio.channels.FileChannel.open(d.file, java.nio.file.StandardOpenOption.WRITE);
            } catch (java.io.IOException | RuntimeException e) {
                d.failure = e;
            }
        });
    }

    /**
     * Writes a chunk of a block received to disk, on the disk thread. The chunk stays charged to the
     * connection's inbound budget until written, so a peer can be no more than the budget ahead of
     * the disk: the connection stops reading until the writes catch up.
     */
    private void write(Inbound in, ToDisk d, ByteBuf chunk) {
        long kept = in.conn.keepInput();
        int n = chunk.readableBytes();
        if (diskPending.addAndGet(n) > DISK_PENDING_MAX && waitingForDisk.add(in)) {
            // Across connections at most DISK_PENDING_MAX bytes wait for the one disk thread: this
            // one reads no further until the writes catch up (a budget per connection alone would
            // let many connections hold a budget each).
            in.conn.pauseReading();
            if (diskPending.get() <= DISK_PENDING_MAX / 2 && waitingForDisk.remove(in)) {
                updateReading(in); // the disk caught up meanwhile, before it could see this one waiting
            }
        }
        disk.execute(() -> {
            try {
                if (d.failure == null && d.out != null) {
                    for (ByteBuffer bb : chunk.nioBuffers()) {
                        while (bb.hasRemaining()) {
                            d.out.write(bb);
                        }
                    }
                }
            } catch (java.io.IOException | RuntimeException e) {
                d.failure = e;
            } finally {
                chunk.release();
                in.conn.releaseInput(kept);
                if (diskPending.addAndGet(-n) <= DISK_PENDING_MAX / 2 && !waitingForDisk.isEmpty()) {
                    for (Inbound w : waitingForDisk) {
                        if (waitingForDisk.remove(w)) {
                            w.conn.channel().eventLoop().execute(() -> updateReading(w));
                        }
                    }
                }
            }
        });
    }

    /** After a block's last chunk was queued for disk: closes its file and stores or reports it, on the disk thread. */
    private void finishFile(Inbound in, RefId ref, Incoming block, long checksum) {
        long crc = block.crc.getValue();
        ToDisk d = block.toDisk;
        disk.execute(() -> {
            closeQuietly(d);
            if (d.failure == null && crc == checksum) {
                store.putFile(ref, d.file, block.total);
                reports.stored(new BlockInfo(ref, block.total));
                onStored.accept(ref);
                return;
            }
            deleteQuietly(d);
            String reason = d.failure != null
                    ? "executor " + selfId + " could not write block " + ref + " (" + block.total + " bytes, more than"
                        + " its free memory) to its spill directory: " + d.failure
                    : "checksum mismatch on executor " + selfId + ": CRC32C " + Long.toHexString(crc) + " computed, "
                        + Long.toHexString(checksum) + " sent";
            log.warn("block {} from {} not stored: {}", ref, in.conn, reason);
            reports.blockFailed(new BlockFailure(ref, reason));
        });
    }

    private static void closeQuietly(ToDisk d) {
        if (d.out != null) {
            try {
                d.out.close();
            } catch (java.io.IOException e) {
                if (d.failure == null) {
                    d.failure = e;
                }
            }
            d.out = null;
        }
    }

    private static void deleteQuietly(ToDisk d) {
        if (d.file != null) {
            try {
                java.nio.file.Files.deleteIfExists(d.file);
            } catch (java.io.IOException e) {
                log.warn("could not delete {}: {}", d.file, e.toString());
            }
        }
    }

    /** Drops a block that will not be completed, and gives back the memory it counted as received. */
    private void discard(Incoming block) {
        if (block.toDisk != null) {
            if (!block.toDisk.abandoned) {
                block.toDisk.abandoned = true;
                ToDisk d = block.toDisk;
                disk.execute(() -> {
                    closeQuietly(d);
                    deleteQuietly(d);
                });
            }
            return;
        }
        if (block.buf != null) {
            block.buf.release();
            block.buf = null;
            store.receiving(-block.received);
        }
    }

    /** Passes the chunk on to the next executor of its chain. */
    private void forward(Inbound in, PutChunk put) {
        List<Peer> chain = put.forward();
        Peer to = chain.get(0);
        String key = to.host() + ":" + to.port();
        Forward f = in.forwards.get(key);
        if (f == null) {
            Forward created = new Forward(to);
            f = created;
            in.forwards.put(key, f);
            Channel ch = in.conn.channel();
            links.link(to).whenComplete((c, e) -> ch.eventLoop().execute(() -> connected(in, created, c, e)));
        }
        if (f.failed) {
            reportForwardFailure(f, put.ref());
            return;
        }
        PutChunk next = new PutChunk(put.ref(), put.total(), put.offset(), put.checksum(), chain.subList(1, chain.size()),
                put.data().retainedDuplicate());
        bytesSent.add(put.data().readableBytes());
        if (f.out == null) {
            f.pending.add(next);
            in.conn.pauseReading();
            return;
        }
        send(in, f, next);
    }

    private void connected(Inbound in, Forward f, Connection c, Throwable e) {
        if (e != null || in.closed) {
            if (e != null) {
                f.failed = true;
                f.failure = "cannot connect: " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
                log.warn("cannot forward blocks from {} to executor {} at {}:{}: {}", in.conn, f.to.id(), f.to.host(),
                        f.to.port(), f.failure);
                for (PutChunk p : f.pending) {
                    reportForwardFailure(f, p.ref());
                }
            }
            releasePending(f);
            updateReading(in);
            return;
        }
        f.out = c;
        while (!f.pending.isEmpty()) {
            send(in, f, f.pending.poll());
        }
        updateReading(in);
    }

    private void send(Inbound in, Forward f, PutChunk chunk) {
        if (!f.out.isOpen()) {
            chunk.data().release();
            if (!f.failed) {
                f.failed = true;
                f.failure = "the connection closed";
                log.warn("connection to executor {} closed: chunks from {} are no longer forwarded", f.to.id(), in.conn);
            }
            reportForwardFailure(f, chunk.ref());
            return;
        }
        f.out.send(chunk);
        if (!f.out.channel().isWritable()) {
            block(in, f);
        }
    }

    /** Stops reading this connection until {@code f}'s downstream drains. */
    private void block(Inbound in, Forward f) {
        in.conn.pauseReading();
        if (!f.waiting) {
            f.waiting = true;
            Channel ch = in.conn.channel();
            links.whenWritable(f.out, () -> ch.eventLoop().execute(() -> {
                f.waiting = false;
                updateReading(in);
            }));
        }
    }

    /** Reads again once no forward of this connection is connecting or backed up. */
    private void updateReading(Inbound in) {
        if (in.closed || waitingForDisk.contains(in)) {
            return;
        }
        for (Forward f : in.forwards.values()) {
            if (f.failed) {
                continue;
            }
            if (f.out == null || f.waiting) {
                return;
            }
            if (f.out.isOpen() && !f.out.channel().isWritable()) {
                block(in, f);
                return;
            }
        }
        in.conn.resumeReading();
    }

    /**
     * Tells the leader, once per block, that the rest of its chain will not get it: the executors
     * from {@code f.to} on never report it stored, so the scatter fails now instead of timing out.
     */
    private void reportForwardFailure(Forward f, RefId ref) {
        if (f.reportedFailed.add(ref)) {
            reports.blockFailed(new BlockFailure(ref, "executor " + selfId + " could not forward block " + ref
                    + " to executor " + f.to.id() + " at " + f.to.host() + ":" + f.to.port() + " (" + f.failure
                    + "); it and the executors after it in the chain do not have the block"));
        }
    }

    private static void releasePending(Forward f) {
        PutChunk p;
        while ((p = f.pending.poll()) != null) {
            p.data().release();
        }
    }

    // ------------------------------------------------------------------ fetch

    private void onFetch(Inbound in, Fetch fetch) {
        ByteBuf buf = store.retainedDataIfInMemory(fetch.ref());
        if (buf != null) {
            in.streams.add(new Stream(fetch.reqId(), buf));
            pump(in);
            return;
        }
        if (store.residency(fetch.ref()) == BlockStore.Residency.ABSENT) {
            in.conn.send(new FetchFailed(fetch.reqId(), "block " + fetch.ref() + " is not on executor " + selfId));
            return;
        }
        Channel ch = in.conn.channel();
        disk.execute(() -> {
            ByteBuf loaded = null;
            String error = null;
            try {
                loaded = store.retainedData(fetch.ref());
            } catch (RuntimeException e) {
                error = e.getMessage();
            }
            ByteBuf b = loaded;
            String why = error != null ? error : "block " + fetch.ref() + " is not on executor " + selfId;
            ch.eventLoop().execute(() -> {
                if (b == null) {
                    in.conn.send(new FetchFailed(fetch.reqId(), why));
                } else if (in.closed) {
                    b.release();
                } else {
                    in.streams.add(new Stream(fetch.reqId(), b));
                    pump(in);
                }
            });
        });
    }

    /** A block of a slice request was spilled while it was being answered on the event loop. */
    private static final class Spilled extends RuntimeException {
        Spilled() {
            super(null, null, false, false);
        }
    }

    /** Why a slice request is not answered with data: sent back as its FetchFailed. */
    private static final class SliceRefused extends RuntimeException {
        SliceRefused(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Serves buckets of map outputs: each slice entry is a header and a slice of the block's
     * bytes, found by the block's bucket index. A request this executor cannot answer (a block it
     * does not hold, a bucket out of range, a block that is not a map output, too much at once)
     * gets a FetchFailed saying why, and the connection stays open.
     */
    private void onSliceFetch(Inbound in, SliceFetch req) {
        int n = req.slices().size();
        if (n == 0 || n > SliceFetch.MAX_SLICES) {
            String why = n == 0 ? "a slice fetch that asks for no slices" : "a slice fetch for " + n
                    + " slices, more than the " + SliceFetch.MAX_SLICES + " one request may ask for; split it";
            log.warn("refusing {} from {}", why, in.conn);
            in.conn.send(new FetchFailed(req.reqId(), "executor " + selfId + " refuses " + why));
            return;
        }
        boolean inMemory = true;
        for (SliceFetch.Slice sl : req.slices()) {
            if (store.residency(sl.ref()) != BlockStore.Residency.MEMORY) {
                inMemory = false;
                break;
            }
        }
        if (inMemory) {
            try {
                sendSlices(in, req, answer(in, req, false));
                return;
            } catch (Spilled e) {
                // spilled since the check: read it back off the event loop, below
            }
        }
        Channel ch = in.conn.channel();
        disk.execute(() -> {
            Answer a = answer(in, req, true);
            ch.eventLoop().execute(() -> sendSlices(in, req, a));
        });
    }

    /** A slice request's stream, or why it has none. */
    private record Answer(ByteBuf stream, String why) {}

    /** Assembles the answer; {@code blocking} false: a spilled block throws {@link Spilled} instead of being read. */
    private Answer answer(Inbound in, SliceFetch req, boolean blocking) {
        try {
            return new Answer(assemble(req, blocking), null);
        } catch (SliceRefused e) {
            return new Answer(null, e.getMessage());
        } catch (Spilled e) {
            throw e;
        } catch (RuntimeException e) {
            String why = "executor " + selfId + " could not read the slices: " + e;
            log.warn("slice fetch {} from {}: {}", req.reqId(), in.conn, why, e);
            return new Answer(null, why);
        }
    }

    private void sendSlices(Inbound in, SliceFetch req, Answer a) {
        ByteBuf stream = a.stream();
        if (stream == null) {
            in.conn.send(new FetchFailed(req.reqId(), a.why()));
        } else if (in.closed) {
            stream.release();
        } else {
            in.streams.add(new Stream(req.reqId(), stream));
            pump(in);
        }
    }

    /** The reply stream of a slice fetch; blocking: may read spilled blocks back. */
    private ByteBuf assemble(SliceFetch req, boolean blocking) {
        List<SliceFetch.Slice> slices = req.slices();
        Map<RefId, ByteBuf> blocks = new HashMap<>();
        CompositeByteBuf out = io.netty.buffer.ByteBufAllocator.DEFAULT.compositeBuffer(2 * slices.size());
        boolean done = false;
        try {
            long total = 0;
            for (SliceFetch.Slice sl : slices) {
                ByteBuf block = blocks.get(sl.ref());
                if (block == null) {
                    block = blocking ? store.retainedData(sl.ref()) : store.retainedDataIfInMemory(sl.ref());
                    if (block == null && !blocking && store.residency(sl.ref()) == BlockStore.Residency.DISK) {
                        throw new Spilled(); // spilled meanwhile: the caller reads it back on the disk executor
                    }
                    if (block == null) {
                        log.info("slice fetch {}: block {} is not here", req.reqId(), sl.ref());
                        throw new SliceRefused("block " + sl.ref() + " is not on executor " + selfId);
                    }
                    blocks.put(sl.ref(), block);
                }
                ShuffleBlocks.Slice at;
                try {
                    at = ShuffleBlocks.locate(block, sl.bucket());
                } catch (IllegalArgumentException e) {
                    log.warn("refusing slice fetch {}: bucket {} of block {}: {}", req.reqId(), sl.bucket(), sl.ref(),
                            e.getMessage());
                    throw new SliceRefused("executor " + selfId + " cannot serve bucket " + sl.bucket() + " of block "
                            + sl.ref() + ": " + e.getMessage());
                }
                total += ShuffleBlocks.ENTRY_HEADER + at.length();
                if (total > Integer.MAX_VALUE - 8) {
                    log.warn("refusing slice fetch {}: over 2 GiB of slices", req.reqId());
                    throw new SliceRefused("the " + slices.size() + " slices asked of executor " + selfId
                            + " add up to over 2 GiB; ask for fewer at once");
                }
                ByteBuf header = io.netty.buffer.Unpooled.buffer(ShuffleBlocks.ENTRY_HEADER);
                ShuffleBlocks.writeEntryHeader(header, at);
                out.addComponent(true, header);
                if (at.length() > 0) {
                    out.addComponent(true, block.retainedSlice(at.offset(), at.length()));
                }
            }
            done = true;
            return out;
        } finally {
            for (ByteBuf b : blocks.values()) {
                b.release();
            }
            if (!done) {
                out.release();
            }
        }
    }

    /** Streams queued blocks while the connection is writable; slices, never copies. */
    private void pump(Inbound in) {
        Channel ch = in.conn.channel();
        boolean wrote = false;
        while (!in.streams.isEmpty() && ch.isWritable()) {
            Stream s = in.streams.peek();
            int total = s.buf.readableBytes();
            int n = Math.min(MessageCodec.CHUNK_SIZE, total - s.offset);
            bytesSent.add(n);
            ch.write(new FetchChunk(s.reqId, total, s.offset, s.buf.retainedSlice(s.buf.readerIndex() + s.offset, n)),
                    ch.voidPromise());
            wrote = true;
            s.offset += n;
            if (s.offset >= total) {
                s.buf.release();
                in.streams.poll();
            }
        }
        if (wrote) {
            ch.flush();
        }
    }

    @Override
    public void onWritabilityChanged(Connection c) {
        Inbound in = c.attachment();
        if (in != null && c.channel().isWritable()) {
            pump(in);
        }
    }

    @Override
    public void onClose(Connection c) {
        codes.onClose(c);
        Inbound in = c.attachment();
        if (in == null) {
            return;
        }
        in.closed = true;
        waitingForDisk.remove(in);
        for (Incoming b : in.puts.values()) {
            discard(b);
        }
        in.puts.clear();
        for (Forward f : in.forwards.values()) {
            releasePending(f);
        }
        Stream s;
        while ((s = in.streams.poll()) != null) {
            s.buf.release();
        }
    }
}
