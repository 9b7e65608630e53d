package io.quiver.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.quiver.QuiverException;
import io.quiver.RefId;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.PutChunk;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.MessageCodec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A peer that keeps its connection open but stops reading cannot hold a sender forever. */
class ConnectionStallTest {
    final Transport transport = new Transport("stall-test", 2);
    Channel server;

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.close().awaitUninterruptibly();
        }
        transport.close();
    }

    @Test
    void awaitWritableGivesUpOnAPeerThatStoppedReadingAndNamesWhatWasBeingSent() {
        AtomicReference<Connection> serverSide = new AtomicReference<>();
        server = transport.bind("127.0.0.1", 0, Pipelines.server(new Pipelines.ServerSpec("exec-stuck", Secret.NONE,
                MessageCodec.DEFAULT_MAX_FRAME, () -> 1, new AtomicLong()::incrementAndGet), new Endpoint() {
                    @Override
                    public void onOpen(Connection c) {
                        c.channel().config().setAutoRead(false); // alive, but reads nothing more
                        serverSide.set(c);
                    }

                    @Override
                    public void onMessage(Connection c, Message m) {
                        if (m instanceof Message.DataMessage d) {
                            d.data().release();
                        }
                    }
                }));
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        Connection c = Pipelines.connect(transport, "127.0.0.1", port, Secret.NONE, Role.CLIENT, "c1", 0,
                MessageCodec.DEFAULT_MAX_FRAME, 5_000, (conn, m) -> { });
        await().atMost(Duration.ofSeconds(5)).until(() -> serverSide.get() != null);
        RefId ref = new RefId(1, 1);
        byte[] chunk = new byte[MessageCodec.CHUNK_SIZE];
        // 64 MiB: more than the high water mark (16 MiB) and both sockets' buffers can hold.
        for (long offset = 0; offset < 64L << 20; offset += chunk.length) {
            c.send(new PutChunk(ref, 1L << 30, offset, 0, List.of(), Unpooled.wrappedBuffer(chunk)));
        }
        assertThatThrownBy(() -> c.awaitWritable(300, "ref " + ref + " (1 GiB)"))
                .isInstanceOf(QuiverException.class)
                .hasCauseInstanceOf(TimeoutException.class)
                .hasMessageContaining("exec-stuck")
                .hasMessageContaining("read nothing for 300 ms while ref " + ref + " (1 GiB) was being sent");
        assertThat(c.isOpen()).isTrue();
        c.close();
    }
}
