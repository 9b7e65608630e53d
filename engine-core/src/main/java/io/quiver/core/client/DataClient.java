package io.quiver.core.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.quiver.DataLostException;
import io.quiver.QuiverException;
import io.quiver.RefId;
import io.quiver.core.net.Connection;
import io.quiver.core.net.Endpoint;
import io.quiver.core.net.HostShare;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Fetch;
import io.quiver.core.protocol.Message.FetchChunk;
import io.quiver.core.protocol.Message.FetchFailed;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.PutChunk;
import io.quiver.core.protocol.Message.PutShared;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.Message.ShareProbe;
import io.quiver.core.protocol.Message.ShareProbeReply;
import io.quiver.core.protocol.MessageCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

/**
 * Thread-safe; called on user threads, which it blocks while streaming or fetching. The client's
 * data plane: streams scattered blocks to executors and fetches results from them, one connection
 * per executor.
 */
final class DataClient implements AutoCloseable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(DataClient.class);
    private static final long FETCH_TIMEOUT_MILLIS = 120_000;
    /** How long a peer may read nothing of a block or jar being sent before the send fails. */
    static final long WRITE_STALL_MILLIS = 60_000;

    private final Transport transport;
    private final Secret secret;
    private final String clientId;
    private final Map<String, Connection> connections = new ConcurrentHashMap<>();
    private final Map<Long, Download> downloads = new ConcurrentHashMap<>();
    private final AtomicLong requestIds = new AtomicLong();
    /** Whether an executor (by address) shares this host's memory: {@link #sameHost}. */
    private final Map<Peer, Boolean> sameHost = new ConcurrentHashMap<>();
    private final Map<Long, CompletableFuture<Boolean>> probes = new ConcurrentHashMap<>();
    /** How long {@link #sameHost} waits for executors' answers. */
    static final long PROBE_MILLIS = 2_000;
    /** The file {@link ShareProbe}s name, written once; guarded by {@code this}. */
    private Path probeFile;
    private byte[] probeNonce;
    /** Set once at connect; every new connection offers the client's code first. */
    private volatile CodeShipper code;

    DataClient(Transport transport, Secret secret, String clientId) {
        this.transport = transport;
        this.secret = secret;
        this.clientId = clientId;
    }

    /** One block being fetched; filled on the connection's event loop. */
    private static final class Download {
        final CompletableFuture<ByteBuf> result = new CompletableFuture<>();
        ByteBuf buffer;
        long received;
    }

    void code(CodeShipper shipper) {
        this.code = shipper;
    }

    /** The connection to {@code peer}, opened (and offered the client's code) if there is none. */
    Connection connection(Peer peer) {
        Connection c = connections.get(peer.id());
        if (c != null && c.isOpen()) {
            return c;
        }
        synchronized (connections) {
            c = connections.get(peer.id());
            if (c != null && c.isOpen()) {
                return c;
            }
            c = Pipelines.connect(transport, peer.host(), peer.port(), secret, Role.CLIENT, clientId, 0,
                    MessageCodec.DEFAULT_MAX_FRAME, 5_000, new DataEndpoint());
            connections.put(peer.id(), c);
            CodeShipper shipper = code;
            if (shipper != null) {
                shipper.shipOn(c);
            }
            return c;
        }
    }

    /** Where the chunks of a block come from, in order; each chunk is a buffer the caller then owns. */
    interface ChunkSource {
        boolean hasNext();

        ByteBuf next();
    }

    /** Chunks of an encoded buffer, as retained slices: no copy. */
    static ChunkSource slices(ByteBuf block) {
        return new ChunkSource() {
            int offset = block.readerIndex();

            @Override
            public boolean hasNext() {
                return offset < block.writerIndex();
            }

            @Override
            public ByteBuf next() {
                int len = Math.min(MessageCodec.CHUNK_SIZE, block.writerIndex() - offset);
                ByteBuf slice = block.retainedSlice(offset, len);
                offset += len;
                return slice;
            }
        };
    }

    /**
     * Stores a block of {@code total} bytes on every one of {@code targets} and returns the host's
     * shared copy, to hand to {@link #doneWith} once they all confirmed it (null if none was made).
     *
     * <p>Targets on this host ({@link #sameHost}) get one copy written into the host's shared memory
     * ({@link HostShare}) and map it: no loopback transfer each. The others get the chunks streamed
     * to the first of them, which forwards each down the rest of the chain. Both are fed by one pass
     * over the chunks, which also computes the CRC32C of the whole block (each chunk while it is
     * still in cache). If the shared copy cannot be written (the host's tmpfs is full), its targets
     * get the block streamed as a chain instead, from a second pass of {@code chunks}.
     */
    Path put(RefId ref, long total, Supplier<ChunkSource> chunks, List<Peer> targets) {
        List<Peer> shared = total >= HostShare.MIN_BYTES ? sameHost(targets) : List.of();
        if (shared.isEmpty()) {
            stream(ref, total, chunks.get(), targets, null);
            return null;
        }
        List<Peer> remote = targets.stream().filter(t -> !shared.contains(t)).toList();
        SharedCopy copy = SharedCopy.create(total, reuse(total));
        if (copy == null) {
            stream(ref, total, chunks.get(), targets, null);
            return null;
        }
        long crc = stream(ref, total, chunks.get(), remote, copy);
        if (copy.finish()) {
            for (Peer p : shared) {
                connection(p).send(new PutShared(ref, copy.file.toString(), total, crc));
            }
            return copy.file;
        }
        stream(ref, total, chunks.get(), shared, null);
        return null;
    }

    /**
     * Streams the chunks to {@code targets.get(0)}, which forwards each down the rest of the chain,
     * and writes each into {@code copy} too (either may be absent). The CRC32C of the whole block
     * rides on the last chunk and is returned. Blocks while the socket is above its high water mark.
     */
    private long stream(RefId ref, long total, ChunkSource chunks, List<Peer> targets, SharedCopy copy) {
        Connection c = targets.isEmpty() ? null : connection(targets.get(0));
        List<Peer> forward = targets.isEmpty() ? List.of() : List.copyOf(targets.subList(1, targets.size()));
        CRC32C crc = new CRC32C();
        long offset = 0;
        while (chunks.hasNext()) {
            ByteBuf chunk = chunks.next();
            int len = chunk.readableBytes();
            crc.update(chunk.nioBuffer());
            boolean last = offset + len >= total;
            if (copy != null) {
                copy.write(chunk);
            }
            if (c == null) {
                chunk.release();
            } else if (!c.awaitWritable(WRITE_STALL_MILLIS, ref + " (" + total + " bytes)")) {
                chunk.release();
                throw new QuiverException("executor " + targets.get(0).id() + " closed the connection while " + ref
                        + " was being sent");
            } else {
                c.send(new PutChunk(ref, total, offset, last ? crc.getValue() : 0, forward, chunk));
            }
            offset += len;
        }
        return crc.getValue();
    }

    /** A block being written once into the host's shared memory; on the caller's thread. */
    private static final class SharedCopy {
        final Path file;
        final FileChannel out;
        IOException failure;

        private SharedCopy(Path file, FileChannel out) {
            this.file = file;
            this.out = out;
        }

        /**
         * A copy written into {@code reused} (a file of this client's that no one maps), or a new one
         * with room for {@code total} bytes; null (logged) if the host's tmpfs cannot take it.
         */
        static SharedCopy create(long total, Path reused) {
            Path file = reused;
            try {
                if (file == null) {
                    file = HostShare.newFile("blk");
                    if (file == null) {
                        return null;
                    }
                    long free = Files.getFileStore(file).getUsableSpace();
                    if (free < total) {
                        throw new IOException("only " + free + " bytes free there");
                    }
                }
                return new SharedCopy(file, FileChannel.open(file,
                        StandardOpenOption.WRITE));
            } catch (IOException e) {
                log.warn("cannot write a shared copy of {} bytes in {} ({}); the executors on this host get it over"
                        + " sockets. Free space there, or set -Dquiver.shm.dir", total, HostShare.dir(), e.toString());
                if (file != null) {
                    HostShare.delete(file);
                }
                return null;
            }
        }

        void write(ByteBuf chunk) {
            if (failure != null) {
                return;
            }
            try {
                for (ByteBuffer bb : chunk.nioBuffers()) {
                    while (bb.hasRemaining()) {
                        out.write(bb);
                    }
                }
            } catch (IOException e) {
                failure = e;
            }
        }

        /** Closes the file; false (logged, file deleted) if any write failed. */
        boolean finish() {
            try {
                out.close();
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                }
            }
            if (failure == null) {
                return true;
            }
            log.warn("could not write the shared copy {} ({}); the executors on this host get the block over sockets."
                    + " Free space in {}, or set -Dquiver.shm.dir", file, failure.toString(), file.getParent());
            HostShare.delete(file);
            return false;
        }
    }

    /** A file of a finished shared copy of {@code ref}, kept to be written again; since when it is idle. */
    private static final class Idle {
        final RefId ref;
        final Path file;
        final long capacity;
        final long since;
        /** The user released {@code ref}: its executors are about to unmap the file. Guarded by the pool. */
        boolean released;

        Idle(RefId ref, Path file, long capacity, long since) {
            this.ref = ref;
            this.file = file;
            this.capacity = capacity;
            this.since = since;
        }

        boolean fits(long total) {
            return capacity >= total && capacity <= 2 * total;
        }
    }

    /** How long a scatter waits for the file of a released copy to be unmapped rather than write fresh pages. */
    static final long RELEASED_WAIT_MILLIS = 25;

    /**
     * Files of finished shared copies, at most {@link #POOL_BYTES} of them, each kept for {@link
     * #POOL_IDLE_MILLIS}: writing pages tmpfs already holds costs this host about half what fresh
     * ones do. A file is written again only once no executor maps it ({@link HostShare#inUse}).
     * Guarded by itself.
     */
    private final ArrayDeque<Idle> idle = new ArrayDeque<>();
    static final long POOL_BYTES = Long.getLong("quiver.shm.poolBytes", 1L << 30);
    static final long POOL_IDLE_MILLIS = 30_000;

    /**
     * An idle file of at least {@code total} bytes (and at most twice that) that no one maps, renamed;
     * or null. If every such file is still mapped but one's value was released, waits up to {@link
     * #RELEASED_WAIT_MILLIS} for its executors to drop it: rewriting held pages saves more than that.
     */
    private Path reuse(long total) {
        Idle waitFor = null;
        synchronized (idle) {
            for (Iterator<Idle> it = idle.iterator(); it.hasNext(); ) {
                Idle f = it.next();
                if (f.fits(total) && !HostShare.inUse(f.file)) {
                    it.remove();
                    return renamed(f);
                }
                if (f.fits(total) && f.released && waitFor == null) {
                    waitFor = f;
                }
            }
        }
        if (waitFor == null) {
            return null;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RELEASED_WAIT_MILLIS);
        while (HostShare.inUse(waitFor.file) && System.nanoTime() < deadline) {
            LockSupport.parkNanos(500_000);
        }
        synchronized (idle) {
            return !HostShare.inUse(waitFor.file) && idle.remove(waitFor) ? renamed(waitFor) : null;
        }
    }

    private static Path renamed(Idle f) {
        try {
            return HostShare.rename(f.file);
        } catch (IOException e) {
            HostShare.delete(f.file);
            return null;
        }
    }

    /** The user released {@code ref}: a scatter may wait a moment for its shared copy's file ({@link #reuse}). */
    void released(RefId ref) {
        synchronized (idle) {
            for (Idle f : idle) {
                if (f.ref.equals(ref)) {
                    f.released = true;
                }
            }
        }
    }

    /** The scatter of a shared copy ({@link #put}) is over: its file is kept for another, or deleted. */
    void doneWith(RefId ref, Path file) {
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            HostShare.delete(file);
            return;
        }
        synchronized (idle) {
            long held = 0;
            for (Idle f : idle) {
                held += f.capacity;
            }
            while (held + size > POOL_BYTES && !idle.isEmpty()) {
                Idle oldest = idle.poll();
                held -= oldest.capacity;
                HostShare.delete(oldest.file);
            }
            if (size > POOL_BYTES) {
                HostShare.delete(file);
                return;
            }
            idle.add(new Idle(ref, file, size, System.nanoTime()));
        }
        try {
            transport.group().schedule(this::evictIdle, POOL_IDLE_MILLIS + 100, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            evictAll();
        }
    }

    private void evictIdle() {
        long cutoff = System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(POOL_IDLE_MILLIS);
        synchronized (idle) {
            while (!idle.isEmpty() && idle.peek().since <= cutoff) {
                HostShare.delete(idle.poll().file);
            }
        }
    }

    private void evictAll() {
        synchronized (idle) {
            while (!idle.isEmpty()) {
                HostShare.delete(idle.poll().file);
            }
        }
    }

    /**
     * Those of {@code targets} that share this host's memory: each is asked once ({@link ShareProbe})
     * to read a nonce from a file this client wrote, and the answer is kept for its address. A target
     * that does not answer within {@link #PROBE_MILLIS} counts as remote this time.
     */
    private List<Peer> sameHost(List<Peer> targets) {
        if (HostShare.dir() == null) {
            return List.of();
        }
        Map<Peer, CompletableFuture<Boolean>> asked = new java.util.HashMap<>();
        for (Peer t : targets) {
            if (!sameHost.containsKey(t)) {
                asked.put(t, probe(t));
            }
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PROBE_MILLIS);
        for (Map.Entry<Peer, CompletableFuture<Boolean>> e : asked.entrySet()) {
            try {
                long left = Math.max(0, deadline - System.nanoTime());
                sameHost.put(e.getKey(), e.getValue().get(left, TimeUnit.NANOSECONDS));
            } catch (TimeoutException | ExecutionException ex) {
                log.debug("executor {} did not answer a shared-memory probe: {}", e.getKey().id(), ex.toString());
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new QuiverException("interrupted while asking executors whether they share this host");
            } finally {
                probes.values().remove(e.getValue());
            }
        }
        return targets.stream().filter(t -> Boolean.TRUE.equals(sameHost.get(t))).toList();
    }

    private CompletableFuture<Boolean> probe(Peer target) {
        CompletableFuture<Boolean> answer = new CompletableFuture<>();
        byte[] nonce;
        Path file;
        try {
            synchronized (this) {
                if (probeFile == null) {
                    HostShare.sweep();
                    probeNonce = new byte[16];
                    new java.security.SecureRandom().nextBytes(probeNonce);
                    Path f = HostShare.newFile("probe");
                    Files.write(f, probeNonce);
                    probeFile = f;
                }
                nonce = probeNonce;
                file = probeFile;
            }
        } catch (IOException e) {
            log.warn("cannot write a shared-memory probe in {} ({}); blocks go to executors on this host over sockets",
                    HostShare.dir(), e.toString());
            answer.complete(false);
            return answer;
        }
        long reqId = requestIds.incrementAndGet();
        probes.put(reqId, answer);
        connection(target).sendNow(new ShareProbe(reqId, file.toString(), nonce));
        return answer;
    }

    /** Fetches a block from the first of {@code locations} that has it. The caller releases the buffer. */
    ByteBuf fetch(RefId ref, List<String> locations, Function<String, Peer> locator) {
        StringBuilder problems = new StringBuilder();
        for (String id : locations) {
            Peer peer = locator.apply(id);
            if (peer == null) {
                problems.append(id).append(": not registered; ");
                continue;
            }
            long reqId = requestIds.incrementAndGet();
            Download d = new Download();
            downloads.put(reqId, d);
            try {
                connection(peer).sendNow(new Fetch(reqId, ref));
                return d.result.get(FETCH_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                problems.append(id).append(": ").append(e.getCause().getMessage()).append("; ");
            } catch (TimeoutException e) {
                problems.append(id).append(": timed out; ");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new QuiverException("interrupted while fetching " + ref);
            } catch (QuiverException e) {
                problems.append(id).append(": ").append(e.getMessage()).append("; ");
            } finally {
                Download gone = downloads.remove(reqId);
                if (gone != null && gone.buffer != null && !gone.result.isDone()) {
                    gone.buffer.release();
                }
            }
        }
        throw new DataLostException("could not fetch " + ref + " from " + locations + ": " + problems
                + "the executors holding it are gone");
    }

    private final class DataEndpoint implements Endpoint {
        @Override
        public void onMessage(Connection c, Message m) {
            if (m instanceof FetchChunk chunk) {
                try {
                    Download d = downloads.get(chunk.reqId());
                    if (d == null || d.result.isDone()) {
                        return;
                    }
                    if (d.buffer == null) {
                        if (chunk.total() > Integer.MAX_VALUE - 16) {
                            d.result.completeExceptionally(new QuiverException("block of " + chunk.total()
                                    + " bytes is too large to fetch into one buffer"));
                            return;
                        }
                        d.buffer = PooledByteBufAllocator.DEFAULT.directBuffer((int) chunk.total(), (int) chunk.total());
                    }
                    ByteBuf data = chunk.data();
                    d.buffer.setBytes((int) chunk.offset(), data, data.readerIndex(), data.readableBytes());
                    d.received += data.readableBytes();
                    if (d.received >= chunk.total()) {
                        d.buffer.writerIndex((int) chunk.total());
                        if (!d.result.complete(d.buffer)) {
                            d.buffer.release();
                        }
                    }
                } finally {
                    chunk.data().release();
                }
            } else if (m instanceof ShareProbeReply reply) {
                CompletableFuture<Boolean> answer = probes.remove(reply.reqId());
                if (answer != null) {
                    if (!reply.sameHost()) {
                        log.debug("executor {} does not share this host's memory: {}", c.peerId(), reply.reason());
                    }
                    answer.complete(reply.sameHost());
                }
            } else if (m instanceof FetchFailed f) {
                Download d = downloads.get(f.reqId());
                if (d != null) {
                    d.result.completeExceptionally(new QuiverException(f.reason()));
                }
            } else if (m instanceof Message.CodeWant want && code != null) {
                code.onWant(c, want);
            } else if (m instanceof Message.CodeReady ready && code != null) {
                code.onReady(c, ready);
            } else if (m instanceof Message.DataMessage dm) {
                dm.data().release();
            }
        }

        @Override
        public void onClose(Connection c) {
            CodeShipper shipper = code;
            if (shipper != null) {
                shipper.onClose(c);
            }
            for (Download d : downloads.values()) {
                d.result.completeExceptionally(new QuiverException("connection to " + c.peerId() + " closed"));
            }
        }
    }

    @Override
    public void close() {
        evictAll();
        synchronized (this) {
            if (probeFile != null) {
                HostShare.delete(probeFile);
                probeFile = null;
            }
        }
        for (Connection c : connections.values()) {
            c.channel().close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
        connections.clear();
    }
}
