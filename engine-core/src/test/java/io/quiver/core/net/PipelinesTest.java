package io.quiver.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.channel.Channel;
import io.quiver.QuiverException;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.InfoRequest;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.MessageCodec;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real sockets on loopback: the handshake, the secret, and what bad peers cause (only their own close). */
class PipelinesTest {
    Transport transport;
    Channel server;
    int port;
    final List<Message> received = new CopyOnWriteArrayList<>();
    final List<Connection> opened = new CopyOnWriteArrayList<>();

    final Endpoint recorder = new Endpoint() {
        @Override
        public void onOpen(Connection c) {
            opened.add(c);
        }

        @Override
        public void onMessage(Connection c, Message m) {
            received.add(m);
            if (m instanceof InfoRequest r) {
                c.send(new Message.InfoReply(r.reqId(), "server", 1, List.of()));
            }
        }
    };

    void startServer(Secret secret) {
        AtomicLong sessions = new AtomicLong();
        server = transport.bind("127.0.0.1", 0, Pipelines.server(
                new Pipelines.ServerSpec("server", secret, 64 * 1024, () -> 1, sessions::incrementAndGet), recorder));
        port = ((InetSocketAddress) server.localAddress()).getPort();
    }

    @BeforeEach
    void setUp() {
        transport = new Transport("test", 2);
    }

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.close().awaitUninterruptibly();
        }
        transport.close();
    }

    Connection connect(Secret secret, Endpoint endpoint) {
        return Pipelines.connect(transport, "127.0.0.1", port, secret, Role.CLIENT, "c1", 0, 64 * 1024, 5_000, endpoint);
    }

    @Test
    void theRightSecretIsWelcomedAndMessagesFlowBothWays() {
        startServer(Secret.of("s3cret"));
        List<Message> replies = new CopyOnWriteArrayList<>();
        Connection c = connect(Secret.of("s3cret"), (conn, m) -> replies.add(m));
        assertThat(c.session()).isPositive();
        c.send(new InfoRequest(42));
        await().atMost(Duration.ofSeconds(5)).until(() -> replies.size() == 1);
        assertThat(opened).singleElement().satisfies(o -> {
            assertThat(o.peerRole()).isEqualTo(Role.CLIENT);
            assertThat(o.peerId()).isEqualTo("c1");
        });
    }

    @Test
    void aPeerWithoutTheSecretIsRefusedBeforeAnythingItSentIsDecoded() {
        startServer(Secret.of("s3cret"));
        assertThatThrownBy(() -> connect(Secret.of("wrong"), (c, m) -> {}))
                .isInstanceOf(QuiverException.class).hasMessageContaining("authentication failed");
        assertThatThrownBy(() -> connect(Secret.NONE, (c, m) -> {}))
                .isInstanceOf(QuiverException.class).hasMessageContaining("authentication failed");
        assertThat(opened).isEmpty();
        assertThat(received).isEmpty();
    }

    @Test
    void aMessageBeforeTheHandshakeIsRefusedUndecoded() throws Exception {
        startServer(Secret.of("s3cret"));
        try (Socket raw = new Socket("127.0.0.1", port)) {
            OutputStream out = raw.getOutputStream();
            // A well-formed InfoRequest frame, but no Hello first.
            out.write(new byte[] {0, 0, 0, 9, 13, 0, 0, 0, 0, 0, 0, 0, 1});
            out.flush();
            raw.setSoTimeout(5_000);
            InputStream in = raw.getInputStream();
            byte[] buf = new byte[4096];
            while (in.read(buf) >= 0) {
                // drain the challenge and the refusal until the server closes
            }
        }
        assertThat(received).isEmpty();
        assertThat(opened).isEmpty();
    }

    @Test
    void garbageAndOversizedFramesCloseOnlyTheirOwnConnection() throws Exception {
        startServer(Secret.NONE);
        List<Message> replies = new CopyOnWriteArrayList<>();
        Connection good = connect(Secret.NONE, (conn, m) -> replies.add(m));

        for (byte[] attack : List.of(
                new byte[] {0x7f, 0x7f, 0x7f, 0x7f, 1, 2, 3}, // a 2 GiB length prefix
                "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(),
                new byte[] {0, 0, 0, 1, 99})) {
            try (Socket raw = new Socket("127.0.0.1", port)) {
                raw.getOutputStream().write(attack);
                raw.getOutputStream().flush();
                raw.setSoTimeout(15_000);
                InputStream in = raw.getInputStream();
                byte[] buf = new byte[4096];
                while (in.read(buf) >= 0) {
                    // the server closes this connection
                }
            }
        }
        // An authenticated peer that turns malicious is closed too.
        Connection bad = connect(Secret.NONE, (c, m) -> {});
        bad.channel().writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 2, 99, 1}));
        await().atMost(Duration.ofSeconds(5)).until(() -> !bad.isOpen());

        good.send(new InfoRequest(7));
        await().atMost(Duration.ofSeconds(5)).until(() -> replies.size() == 1);
        assertThat(good.isOpen()).isTrue();
    }

    @Test
    void listeningBeyondLoopbackNeedsASecret() {
        assertThatThrownBy(() -> Pipelines.checkBindAllowed("0.0.0.0", Secret.NONE))
                .isInstanceOf(QuiverException.class).hasMessageContaining("secret");
        Pipelines.checkBindAllowed("0.0.0.0", Secret.of("x"));
        Pipelines.checkBindAllowed("127.0.0.1", Secret.NONE);
    }

    @Test
    void chunkSizedFramesFitTheDefaultLimit() {
        assertThat(MessageCodec.DEFAULT_MAX_FRAME).isGreaterThan(MessageCodec.CHUNK_SIZE + 4096);
    }
}
