package io.quiver.bench.raw;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * One hop of the raw pipeline baseline ({@link RawPipelineBenchmark}): plain blocking NIO, no
 * framing but a length, no checksum, no copy into the heap. It listens on an ephemeral loopback
 * port, prints {@code PORT <n>} and serves one upstream connection: each transfer is an 8-byte
 * length and that many bytes, read into one reused direct buffer and, when a next hop is given,
 * written on to it as they come; once the bytes are all in (and the next hop acknowledged them),
 * it answers one byte upstream.
 *
 * <pre>java -cp benchmarks.jar io.quiver.bench.raw.RawRelay [nextPort]</pre>
 */
public final class RawRelay {
    static final int CHUNK = 1 << 20;

    private RawRelay() {}

    public static void main(String[] args) throws IOException {
        SocketChannel next = null;
        if (args.length > 0) {
            next = SocketChannel.open(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0])));
            next.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
        }
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress("127.0.0.1", 0));
            System.out.println("PORT " + ((InetSocketAddress) server.getLocalAddress()).getPort());
            System.out.flush();
            try (SocketChannel up = server.accept()) {
                up.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
                serve(up, next);
            }
        } finally {
            if (next != null) {
                next.close();
            }
        }
    }

    private static void serve(SocketChannel up, SocketChannel next) throws IOException {
        ByteBuffer header = ByteBuffer.allocateDirect(8);
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        ByteBuffer ack = ByteBuffer.allocateDirect(1);
        while (true) {
            header.clear();
            if (!readFully(up, header)) {
                return; // upstream closed: the benchmark is over
            }
            long length = header.getLong(0);
            if (next != null) {
                header.flip();
                writeFully(next, header);
            }
            long left = length;
            while (left > 0) {
                buf.clear();
                buf.limit((int) Math.min(CHUNK, left));
                int n = up.read(buf);
                if (n < 0) {
                    return;
                }
                left -= n;
                if (next != null) {
                    buf.flip();
                    writeFully(next, buf);
                }
            }
            if (next != null) {
                ack.clear();
                if (!readFully(next, ack)) {
                    return;
                }
            }
            ack.clear();
            ack.put(0, (byte) 1);
            writeFully(up, ack);
        }
    }

    static boolean readFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                return false;
            }
        }
        return true;
    }

    static void writeFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
