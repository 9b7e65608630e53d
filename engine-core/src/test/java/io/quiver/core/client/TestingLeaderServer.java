package io.quiver.core.client;

import static org.awaitility.Awaitility.await;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.quiver.core.net.Connection;
import io.quiver.core.net.Endpoint;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Pipelines.ServerSpec;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.ExecInfo;
import io.quiver.core.protocol.Message.InfoReply;
import io.quiver.core.protocol.Message.InfoRequest;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.PutChunk;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.CreateMode;

/**
 * A stand-in leader for client tests: a real server ({@link Pipelines#server}) on loopback that
 * speaks the real protocol, published in {@code /leader} through its own ZooKeeper session. It
 * records every message clients send, in order, and lets the test reply. It can also stand in for
 * an executor's data port (it records {@link PutChunk}s). Thread-safe.
 */
final class TestingLeaderServer implements AutoCloseable {
    /** One message as received, with the number of the connection (1, 2, ...) it came on. */
    record Received(int connection, Message message) {}

    final String id;
    final long epoch;
    private final Secret secret;
    private final Transport transport;
    private final AtomicLong sessions = new AtomicLong();
    private final AtomicInteger connectionCount = new AtomicInteger();
    final List<Received> received = new CopyOnWriteArrayList<>();
    final List<Connection> connections = new CopyOnWriteArrayList<>();
    /** Answer InfoRequests with one executor, so that connect's executor check passes. */
    volatile boolean answerInfo = true;
    private Channel server;
    private Channel deadPort;
    private CuratorFramework zk;
    private int port;

    TestingLeaderServer(String id, long epoch, Secret secret) {
        this.id = id;
        this.epoch = epoch;
        this.secret = secret;
        this.transport = new Transport("testing-" + id, 1);
    }

    TestingLeaderServer start() {
        server = transport.bind("127.0.0.1", 0, Pipelines.server(new ServerSpec(id, secret,
                MessageCodec.DEFAULT_MAX_FRAME, () -> epoch, () -> (epoch << 32) | sessions.incrementAndGet()),
                new Recorder()));
        port = ((InetSocketAddress) server.localAddress()).getPort();
        return this;
    }

    int port() {
        return port;
    }

    Peer peer() {
        return new Peer(id, "127.0.0.1", port);
    }

    LeaderRecord record() {
        return new LeaderRecord(id, "127.0.0.1", port, 0, epoch);
    }

    /** Writes this server into {@code /leader} (replacing whatever is there) under its own session. */
    TestingLeaderServer publish(ClusterUrl url) throws Exception {
        zk = Zk.start(url, 10_000);
        if (zk.checkExists().forPath(ZkPaths.LEADER) != null) {
            zk.delete().forPath(ZkPaths.LEADER);
        }
        zk.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(ZkPaths.LEADER, record().toBytes());
        return this;
    }

    /** The newest open client connection. */
    Connection client() {
        await().atMost(Duration.ofSeconds(20)).until(() -> connections.stream().anyMatch(Connection::isOpen));
        List<Connection> open = connections.stream().filter(Connection::isOpen).toList();
        return open.get(open.size() - 1);
    }

    void send(Message m) {
        client().send(m);
    }

    /** Messages of one type, in arrival order. */
    <M extends Message> List<M> all(Class<M> type) {
        return received.stream().map(Received::message).filter(type::isInstance).map(type::cast).toList();
    }

    /** Every received message but InfoRequests (connect's executor check) and data chunks. */
    List<Message> controlMessages() {
        return received.stream().map(Received::message)
                .filter(m -> !(m instanceof InfoRequest) && !(m instanceof PutChunk)).toList();
    }

    <M extends Message> M awaitFirst(Class<M> type) {
        await().atMost(Duration.ofSeconds(20)).until(() -> !all(type).isEmpty());
        return all(type).get(0);
    }

    int connectionCount() {
        return connectionCount.get();
    }

    /** A frozen process: every connection stops reading, and stays open; nothing is answered. */
    void freeze() {
        answerInfo = false;
        for (Connection c : connections) {
            c.channel().config().setAutoRead(false);
        }
        server.config().setAutoRead(false);
    }

    /**
     * A dead process: every connection closes and the port refuses the handshake. From then on the
     * port is held by a listener that only counts connection attempts (and closes them at once), so
     * a test can prove nobody comes back to the dead address.
     */
    AtomicInteger kill() {
        AtomicInteger attempts = new AtomicInteger();
        server.close().awaitUninterruptibly();
        deadPort = transport.bind("127.0.0.1", port, new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                attempts.incrementAndGet();
                ch.close();
            }
        });
        for (Connection c : connections) {
            c.close();
        }
        return attempts;
    }

    /** Drops every client connection but keeps serving: a network blip. */
    void dropConnections() {
        for (Connection c : connections) {
            c.channel().close().awaitUninterruptibly();
        }
    }

    @Override
    public void close() {
        if (zk != null) {
            zk.close();
        }
        if (server != null) {
            server.close().awaitUninterruptibly();
        }
        if (deadPort != null) {
            deadPort.close().awaitUninterruptibly();
        }
        transport.close();
    }

    private final class Recorder implements Endpoint {
        private final java.util.Map<Connection, Integer> numbers = new java.util.concurrent.ConcurrentHashMap<>();

        @Override
        public void onOpen(Connection c) {
            numbers.put(c, connectionCount.incrementAndGet());
            connections.add(c);
        }

        @Override
        public void onMessage(Connection c, Message m) {
            if (m instanceof Message.DataMessage d) {
                d.data().release();
            }
            received.add(new Received(numbers.getOrDefault(c, 0), m));
            if (m instanceof InfoRequest r && answerInfo) {
                c.send(new InfoReply(r.reqId(), id, epoch, List.of(new ExecInfo("exec-1", "127.0.0.1", 1, 1, 0, 1 << 30))));
            }
        }
    }
}
