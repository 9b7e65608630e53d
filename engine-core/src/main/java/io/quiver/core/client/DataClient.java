package io.quiver.core.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.quiver.DataLostException;
import io.quiver.QuiverException;
import io.quiver.RefId;
import io.quiver.core.net.Connection;
import io.quiver.core.net.Endpoint;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Fetch;
import io.quiver.core.protocol.Message.FetchChunk;
import io.quiver.core.protocol.Message.FetchFailed;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.PutChunk;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.MessageCodec;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.zip.CRC32C;

/**
 * Thread-safe; called on user threads, which it blocks while streaming or fetching. The client's
 * data plane: streams scattered blocks to executors and fetches results from them, one connection
 * per executor.
 */
final class DataClient implements AutoCloseable {
    private static final long FETCH_TIMEOUT_MILLIS = 120_000;
    /** How long a peer may read nothing of a block or jar being sent before the send fails. */
    static final long WRITE_STALL_MILLIS = 60_000;

    private final Transport transport;
    private final Secret secret;
    private final String clientId;
    private final Map<String, Connection> connections = new ConcurrentHashMap<>();
    private final Map<Long, Download> downloads = new ConcurrentHashMap<>();
    private final AtomicLong requestIds = new AtomicLong();
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
     * Streams a block of {@code total} bytes to {@code targets.get(0)}, which forwards each chunk down
     * the rest of the chain. The CRC32C of the whole block rides on the last chunk, computed here as
     * the chunks pass (each while it is still in cache). Blocks while the socket is above its high
     * water mark.
     */
    void put(RefId ref, long total, ChunkSource chunks, List<Peer> targets) {
        Connection c = connection(targets.get(0));
        List<Peer> forward = List.copyOf(targets.subList(1, targets.size()));
        CRC32C crc = new CRC32C();
        long offset = 0;
        while (chunks.hasNext()) {
            ByteBuf chunk = chunks.next();
            int len = chunk.readableBytes();
            crc.update(chunk.nioBuffer());
            boolean last = offset + len >= total;
            if (!c.awaitWritable(WRITE_STALL_MILLIS, ref + " (" + total + " bytes)")) {
                chunk.release();
                throw new QuiverException("executor " + targets.get(0).id() + " closed the connection while " + ref
                        + " was being sent");
            }
            c.send(new PutChunk(ref, total, offset, last ? crc.getValue() : 0, forward, chunk));
            offset += len;
        }
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
        for (Connection c : connections.values()) {
            c.channel().close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
        connections.clear();
    }
}
