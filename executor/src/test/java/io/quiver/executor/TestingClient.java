package io.quiver.executor;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
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
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/** A client on an executor's data port: puts blocks (with a forward chain) and fetches them. */
final class TestingClient implements Endpoint, AutoCloseable {
    private final Transport transport = new Transport("test-client", 1);
    private final Connection connection;
    private final AtomicLong requests = new AtomicLong();
    private final Map<Long, Receiving> fetches = new ConcurrentHashMap<>();

    private static final class Receiving {
        final CompletableFuture<byte[]> done = new CompletableFuture<>();
        byte[] bytes;
        long received;
    }

    TestingClient(int port) {
        connection = Pipelines.connect(transport, "127.0.0.1", port, Secret.NONE, Role.CLIENT, "test-client", 0,
                MessageCodec.DEFAULT_MAX_FRAME, 5_000, this);
    }

    static long crc(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        return crc.getValue();
    }

    void put(RefId ref, byte[] bytes, List<Peer> forward) {
        put(ref, bytes, forward, crc(bytes));
    }

    /** Streams the block in chunks; the last carries {@code checksum}. */
    void put(RefId ref, byte[] bytes, List<Peer> forward, long checksum) {
        int offset = 0;
        do {
            int n = Math.min(MessageCodec.CHUNK_SIZE, bytes.length - offset);
            boolean last = offset + n == bytes.length;
            ByteBuf data = Unpooled.wrappedBuffer(bytes, offset, n);
            connection.awaitWritable(60_000, "a test block");
            connection.send(new PutChunk(ref, bytes.length, offset, last ? checksum : 0, forward, data));
            offset += n;
        } while (offset < bytes.length);
    }

    CompletableFuture<byte[]> fetch(RefId ref) {
        long id = requests.incrementAndGet();
        Receiving r = new Receiving();
        fetches.put(id, r);
        connection.send(new Fetch(id, ref));
        return r.done;
    }

    /** Asks for slices of map outputs in one request; completes with the reply stream's bytes. */
    CompletableFuture<byte[]> fetchSlices(List<Message.SliceFetch.Slice> slices) {
        long id = requests.incrementAndGet();
        Receiving r = new Receiving();
        fetches.put(id, r);
        connection.send(new Message.SliceFetch(id, slices));
        return r.done;
    }

    private final Map<Long, CompletableFuture<Message.ShareProbeReply>> probes = new ConcurrentHashMap<>();

    /** Asks whether the executor reads {@code nonce} from {@code path}, in its shared directory. */
    CompletableFuture<Message.ShareProbeReply> probe(String path, byte[] nonce) {
        long id = requests.incrementAndGet();
        CompletableFuture<Message.ShareProbeReply> reply = new CompletableFuture<>();
        probes.put(id, reply);
        connection.send(new Message.ShareProbe(id, path, nonce));
        return reply;
    }

    /** Replies to code offers (CodeWant, CodeReady), in arrival order. */
    final java.util.concurrent.LinkedBlockingQueue<Message> codeReplies = new java.util.concurrent.LinkedBlockingQueue<>();

    /** Offers code with no jars of its own for {@code owner}, and waits until the executor has it. */
    void offerNoCode(long owner) {
        connection.send(new Message.CodeOffer(owner, "test-client", List.of()));
        try {
            Message want = codeReplies.poll(30, java.util.concurrent.TimeUnit.SECONDS);
            Message ready = codeReplies.poll(30, java.util.concurrent.TimeUnit.SECONDS);
            if (!(want instanceof Message.CodeWant) || !(ready instanceof Message.CodeReady r) || r.error() != null) {
                throw new IllegalStateException("code offer not accepted: " + want + ", " + ready);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    void sendRaw(Message m) {
        connection.send(m);
    }

    boolean isOpen() {
        return connection.isOpen();
    }

    @Override
    public void onMessage(Connection c, Message m) {
        if (m instanceof FetchChunk chunk) {
            try {
                Receiving r = fetches.get(chunk.reqId());
                if (r.bytes == null) {
                    r.bytes = new byte[(int) chunk.total()];
                }
                int n = chunk.data().readableBytes();
                chunk.data().getBytes(chunk.data().readerIndex(), r.bytes, (int) chunk.offset(), n);
                r.received += n;
                if (r.received == chunk.total()) {
                    r.done.complete(r.bytes);
                }
            } finally {
                chunk.data().release();
            }
        } else if (m instanceof FetchFailed f) {
            fetches.get(f.reqId()).done.completeExceptionally(new IllegalStateException(f.reason()));
        } else if (m instanceof Message.ShareProbeReply reply) {
            probes.remove(reply.reqId()).complete(reply);
        } else if (m instanceof Message.CodeWant || m instanceof Message.CodeReady) {
            codeReplies.add(m);
        } else if (m instanceof Message.DataMessage d) {
            d.data().release();
        }
    }

    @Override
    public void close() {
        // Closed through the event loop after what was sent: shutting the loop down first would
        // close the channel before queued writes run.
        connection.channel().close().awaitUninterruptibly(5_000);
        transport.close();
    }
}
