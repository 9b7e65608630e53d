package io.quiver.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.quiver.QuiverException;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Challenge;
import io.quiver.core.protocol.Message.Hello;
import io.quiver.core.protocol.Message.InfoRequest;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.Message.Welcome;
import io.quiver.core.protocol.MessageCodec;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The handshake attacked with raw sockets on loopback: both sides must prove the secret, a recorded
 * handshake works on no other connection, and an unauthenticated peer can make a process buffer,
 * decode or keep almost nothing.
 */
class MutualAuthTest {
    private static final Secret SECRET = Secret.of("the-cluster-secret");

    Transport transport;
    Channel server;
    int port;
    final List<Message> received = new CopyOnWriteArrayList<>();
    final List<Connection> opened = new CopyOnWriteArrayList<>();
    final List<AutoCloseable> closeAfter = new ArrayList<>();

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

    @BeforeEach
    void setUp() {
        transport = new Transport("auth-test", 2);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeAfter) {
            c.close();
        }
        if (server != null) {
            server.close().awaitUninterruptibly();
        }
        transport.close();
    }

    void startServer(Secret secret, long handshakeTimeoutMillis) {
        AtomicLong sessions = new AtomicLong();
        server = transport.bind("127.0.0.1", 0, Pipelines.server(new Pipelines.ServerSpec("server", secret,
                MessageCodec.DEFAULT_MAX_FRAME, () -> 7, sessions::incrementAndGet, handshakeTimeoutMillis), recorder));
        port = ((InetSocketAddress) server.localAddress()).getPort();
    }

    Connection connect(int to, Secret secret, Endpoint endpoint) {
        return Pipelines.connect(transport, "127.0.0.1", to, secret, Role.EXECUTOR, "exec-1", 0,
                MessageCodec.DEFAULT_MAX_FRAME, 5_000, endpoint);
    }

    // ------------------------------------------------------------------ raw frames

    static byte[] frame(Message m) {
        ByteBuf buf = Unpooled.buffer();
        buf.writeInt(0);
        buf.writeByte(m.type().code);
        m.write(buf);
        buf.setInt(0, buf.readableBytes() - 4);
        byte[] bytes = new byte[buf.readableBytes()];
        buf.readBytes(bytes);
        return bytes;
    }

    static Message read(DataInputStream in) throws IOException {
        int length = in.readInt();
        byte[] body = new byte[length];
        in.readFully(body);
        return MessageCodec.decode(Unpooled.wrappedBuffer(body));
    }

    /** Reads until the peer closes; true if it did within the socket's timeout. */
    static boolean closedByPeer(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[8192];
        try {
            while (in.read(buf) >= 0) {
                // drain whatever the server still sends
            }
            return true;
        } catch (SocketException e) {
            return true; // reset by the peer: closed too
        }
    }

    /**
     * A fake server: accepts one connection and runs {@code script} on it in a thread of its own.
     *
     * @return its port
     */
    int fakeServer(Script script) throws IOException {
        ServerSocket listener = new ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress());
        closeAfter.add(listener);
        Thread t = new Thread(() -> {
            try (Socket s = listener.accept()) {
                s.setSoTimeout(10_000);
                script.run(new DataInputStream(s.getInputStream()), s.getOutputStream());
            } catch (IOException e) {
                // the client closed on us: what the tests expect
            }
        }, "fake-server");
        t.setDaemon(true);
        t.start();
        return listener.getLocalPort();
    }

    interface Script {
        void run(DataInputStream in, OutputStream out) throws IOException;
    }

    // ------------------------------------------------------------------ the server proves itself

    @Test
    void theRightSecretIsProvenBothWays() {
        startServer(SECRET, Pipelines.HANDSHAKE_TIMEOUT_MILLIS);
        List<Message> replies = new CopyOnWriteArrayList<>();
        Connection c = connect(port, SECRET, (conn, m) -> replies.add(m));
        assertThat(c.peerId()).isEqualTo("server");
        assertThat(c.peerEpoch()).isEqualTo(7);
        c.send(new InfoRequest(1));
        await().atMost(Duration.ofSeconds(5)).until(() -> replies.size() == 1);
    }

    @Test
    void aServerWithoutTheSecretIsRefusedAndNothingItSendsIsDecoded() throws Exception {
        List<Message> got = new CopyOnWriteArrayList<>();
        CompletableFuture<Boolean> closed = new CompletableFuture<>();
        CompletableFuture<Hello> hello = new CompletableFuture<>();
        int rogue = fakeServer((in, out) -> {
            try {
                out.write(frame(new Challenge(Secret.nonce(), "leader-1", 99)));
                hello.complete((Hello) read(in));
                // A welcome whose proof is made up, then a command, in one write.
                java.io.ByteArrayOutputStream both = new java.io.ByteArrayOutputStream();
                both.write(frame(new Welcome("leader-1", 99, 1, new byte[32])));
                both.write(frame(new InfoRequest(5)));
                out.write(both.toByteArray());
                out.flush();
                closed.complete(in.read() < 0);
            } catch (java.net.SocketTimeoutException e) {
                closed.complete(false); // the client kept the connection open
            } catch (IOException e) {
                closed.complete(true); // reset by the client
            }
        });
        assertThatThrownBy(() -> connect(rogue, SECRET, (c, m) -> got.add(m)))
                .isInstanceOf(QuiverException.class)
                .hasCauseInstanceOf(UnprovenPeerException.class)
                .hasMessageContaining("did not prove the cluster secret");
        assertThat(closed.get(20, TimeUnit.SECONDS)).as("the client hung up").isTrue();
        assertThat(hello.get(1, TimeUnit.SECONDS).mac()).as("the peer proves itself first").hasSize(32);
        assertThat(got).isEmpty();
    }

    @Test
    void aServerThatSkipsTheWelcomeIsRefusedWithoutDecodingWhatItSent() throws Exception {
        List<Message> got = new CopyOnWriteArrayList<>();
        int rogue = fakeServer((in, out) -> {
            out.write(frame(new Challenge(Secret.nonce(), "leader-1", 99)));
            read(in);
            out.write(frame(new InfoRequest(5))); // not a handshake message
            out.flush();
            in.read();
        });
        assertThatThrownBy(() -> connect(rogue, SECRET, (c, m) -> got.add(m)))
                .hasCauseInstanceOf(UnprovenPeerException.class)
                .hasMessageContaining("sent a frame of type 13 during the handshake");
        assertThat(got).isEmpty();
    }

    @Test
    void aServerThatSendsABigFrameBeforeTheWelcomeIsDroppedAtItsLengthField() throws Exception {
        int rogue = fakeServer((in, out) -> {
            out.write(new byte[] {0x03, (byte) 0xc0, 0, 0}); // announces 60 MiB
            out.write(new byte[64 << 10]);
            out.flush();
            in.read();
        });
        assertThatThrownBy(() -> connect(rogue, SECRET, (c, m) -> {}))
                .hasCauseInstanceOf(UnprovenPeerException.class)
                .hasMessageContaining("before the handshake finished");
    }

    @Test
    void aRecordedWelcomeIsWorthlessOnAnotherConnection() throws Exception {
        startServer(SECRET, Pipelines.HANDSHAKE_TIMEOUT_MILLIS);
        // Record a real server's challenge and welcome, as an eavesdropper would.
        byte[] challenge;
        byte[] welcome;
        try (Socket s = new Socket("127.0.0.1", port)) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            Challenge c = (Challenge) read(in);
            byte[] nonce = Secret.nonce();
            s.getOutputStream().write(frame(new Hello(Role.EXECUTOR, "exec-1", 0, nonce,
                    SECRET.helloMac(c.nonce(), nonce, c.serverId(), Role.EXECUTOR.name(), "exec-1", 0))));
            Welcome w = (Welcome) read(in);
            challenge = frame(c);
            welcome = frame(w);
        }
        int replayer = fakeServer((in, out) -> {
            out.write(challenge);
            read(in);
            out.write(welcome);
            out.flush();
            in.read();
        });
        assertThatThrownBy(() -> connect(replayer, SECRET, (c, m) -> {}))
                .hasCauseInstanceOf(UnprovenPeerException.class)
                .hasMessageContaining("did not prove the cluster secret");
    }

    @Test
    void aRecordedHelloIsRefusedOnAnotherConnection() throws Exception {
        startServer(SECRET, Pipelines.HANDSHAKE_TIMEOUT_MILLIS);
        byte[] recorded;
        try (Socket first = new Socket("127.0.0.1", port)) {
            DataInputStream in = new DataInputStream(first.getInputStream());
            Challenge c = (Challenge) read(in);
            byte[] nonce = Secret.nonce();
            // What a real executor answered to this challenge.
            recorded = frame(new Hello(Role.EXECUTOR, "exec-1", 0, nonce,
                    SECRET.helloMac(c.nonce(), nonce, c.serverId(), Role.EXECUTOR.name(), "exec-1", 0)));
        }
        try (Socket replay = new Socket("127.0.0.1", port)) {
            replay.setSoTimeout(10_000);
            DataInputStream in = new DataInputStream(replay.getInputStream());
            read(in); // a fresh challenge
            replay.getOutputStream().write(recorded);
            replay.getOutputStream().write(frame(new InfoRequest(3)));
            Message answer = read(in);
            assertThat(answer).isInstanceOf(Message.Refused.class);
            assertThat(((Message.Refused) answer).reason()).contains("wrong or missing cluster secret");
            assertThat(closedByPeer(replay)).isTrue();
        }
        assertThat(opened).isEmpty();
        assertThat(received).isEmpty();
    }

    @Test
    void aServerCannotPassThePeersOwnProofAsItsWelcome() throws Exception {
        // A fake server that hands the peer's own MAC back as its proof.
        int reflector = fakeServer((in, out) -> {
            byte[] nonce = Secret.nonce();
            out.write(frame(new Challenge(nonce, "leader-1", 1)));
            Hello hello = (Hello) read(in);
            out.write(frame(new Welcome("leader-1", 1, 1, hello.mac())));
            out.flush();
            in.read();
        });
        assertThatThrownBy(() -> connect(reflector, SECRET, (c, m) -> {}))
                .hasCauseInstanceOf(UnprovenPeerException.class);
    }

    // ------------------------------------------------------------------ bounded pre-auth work

    @Test
    void anUnauthenticatedFrameAboveAFewKibClosesTheConnectionAtItsLengthField() throws Exception {
        startServer(SECRET, Pipelines.HANDSHAKE_TIMEOUT_MILLIS);
        try (Socket raw = new Socket("127.0.0.1", port)) {
            raw.setSoTimeout(10_000);
            OutputStream out = raw.getOutputStream();
            byte[] header = {0, 0, 0x13, (byte) 0x88, 2}; // 5000 bytes, "a hello"
            out.write(header);
            out.flush();
            assertThat(closedByPeer(raw)).isTrue();
        }
        assertThat(opened).isEmpty();
        Connection good = connect(port, SECRET, (c, m) -> {});
        assertThat(good.isOpen()).isTrue();
    }

    @Test
    void aPeerThatNeverFinishesTheHandshakeIsClosedAtTheDeadline() throws Exception {
        startServer(SECRET, 300);
        try (Socket raw = new Socket("127.0.0.1", port)) {
            raw.setSoTimeout(10_000);
            DataInputStream in = new DataInputStream(raw.getInputStream());
            assertThat(read(in)).isInstanceOf(Challenge.class);
            Message answer = read(in); // nothing sent: the deadline passes
            assertThat(((Message.Refused) answer).reason()).contains("no handshake within 300 ms");
            assertThat(closedByPeer(raw)).isTrue();
        }
    }

    @Test
    void unauthenticatedConnectionsPerProcessAreCapped() throws Exception {
        startServer(SECRET, 30_000);
        int before = Pipelines.unauthenticatedConnections();
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = before; i < Pipelines.MAX_UNAUTHENTICATED; i++) {
                Socket s = new Socket("127.0.0.1", port);
                idle.add(s);
                new DataInputStream(s.getInputStream()).readInt(); // its challenge came: it holds a place
            }
            assertThat(Pipelines.unauthenticatedConnections()).isEqualTo(Pipelines.MAX_UNAUTHENTICATED);
            try (Socket over = new Socket("127.0.0.1", port)) {
                over.setSoTimeout(10_000);
                int first;
                try {
                    first = over.getInputStream().read();
                } catch (SocketException reset) {
                    first = -1;
                }
                assertThat(first).as("closed without a challenge").isEqualTo(-1);
            }
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> Pipelines.unauthenticatedConnections() == before);
        Connection good = connect(port, SECRET, (c, m) -> {});
        assertThat(good.isOpen()).isTrue();
        assertThat(Pipelines.unauthenticatedConnections()).isEqualTo(before);
    }
}
