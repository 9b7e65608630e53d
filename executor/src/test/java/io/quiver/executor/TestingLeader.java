package io.quiver.executor;

import static org.awaitility.Awaitility.await;

import io.netty.channel.Channel;
import io.quiver.RefId;
import io.quiver.core.net.Connection;
import io.quiver.core.net.Endpoint;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Pipelines.ServerSpec;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.BlockFailure;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.Status;
import io.quiver.core.protocol.Message.StoredBlocks;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.protocol.Message.TaskResults;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.CreateMode;

/**
 * A stand-in leader for executor tests: a real server built with {@link Pipelines#server} on
 * loopback, published in {@code /leader} through its own ZooKeeper session. It records everything
 * executors send and can send them Launch and Drop.
 */
final class TestingLeader implements Endpoint, AutoCloseable {
    record Stored(String executorId, BlockInfo block) {}

    record Failed(String executorId, BlockFailure failure) {}

    final String id;
    private volatile long epoch;
    private final ClusterUrl cluster;
    private final AtomicLong sessions = new AtomicLong();
    private Transport transport;
    private Channel server;
    private CuratorFramework zk;
    private int port;

    final Map<String, Connection> executors = new ConcurrentHashMap<>();
    final List<Register> registers = new CopyOnWriteArrayList<>();
    final Map<String, List<Register>> registersBy = new ConcurrentHashMap<>();
    final Map<RefId, TaskResult> results = new ConcurrentHashMap<>();
    final Map<RefId, String> resultFrom = new ConcurrentHashMap<>();
    final List<TaskResults> batches = new CopyOnWriteArrayList<>();
    final List<Stored> stored = new CopyOnWriteArrayList<>();
    final List<Failed> blockFailures = new CopyOnWriteArrayList<>();
    final List<Status> statuses = new CopyOnWriteArrayList<>();
    final List<Message> unexpected = new CopyOnWriteArrayList<>();

    TestingLeader(ClusterUrl cluster, String id, long epoch) {
        this.cluster = cluster;
        this.id = id;
        this.epoch = epoch;
    }

    TestingLeader start() throws Exception {
        transport = new Transport("leader-" + id, 1);
        server = transport.bind("127.0.0.1", 0, Pipelines.server(new ServerSpec(id, Secret.NONE,
                MessageCodec.DEFAULT_MAX_FRAME, () -> epoch, sessions::incrementAndGet), this));
        port = ((InetSocketAddress) server.localAddress()).getPort();
        zk = Zk.start(cluster, 10_000);
        publish();
        return this;
    }

    long epoch() {
        return epoch;
    }

    /** Bumps the epoch and rewrites /leader, as a re-elected leader would. */
    void setEpoch(long newEpoch) throws Exception {
        epoch = newEpoch;
        publish();
    }

    private void publish() throws Exception {
        byte[] data = new LeaderRecord(id, "127.0.0.1", port, 0, epoch).toBytes();
        if (zk.checkExists().forPath(ZkPaths.LEADER) == null) {
            zk.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(ZkPaths.LEADER, data);
        } else {
            zk.setData().forPath(ZkPaths.LEADER, data);
        }
    }

    /** The executor's connection once it registered. */
    Connection awaitExecutor(String executorId) {
        await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5)).atMost(Duration.ofSeconds(20)).until(() -> {
            Connection c = executors.get(executorId);
            return c != null && c.isOpen();
        });
        return executors.get(executorId);
    }

    void send(String executorId, Message m) {
        awaitExecutor(executorId).send(m);
    }

    TaskResult awaitResult(RefId ref) {
        await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(2)).atMost(Duration.ofSeconds(30))
                .until(() -> results.containsKey(ref));
        return results.get(ref);
    }

    Set<String> storedOn(RefId ref) {
        Set<String> out = ConcurrentHashMap.newKeySet();
        for (Stored s : stored) {
            if (s.block().ref().equals(ref)) {
                out.add(s.executorId());
            }
        }
        return out;
    }

    @Override
    public void onMessage(Connection c, Message m) {
        String from = c.peerId();
        if (m instanceof Register r) {
            executors.put(from, c);
            registers.add(r);
            registersBy.computeIfAbsent(from, k -> new CopyOnWriteArrayList<>()).add(r);
        } else if (m instanceof TaskResults batch) {
            batches.add(batch);
            for (TaskResult r : batch.results()) {
                resultFrom.put(r.task(), from);
                results.put(r.task(), r);
            }
        } else if (m instanceof StoredBlocks s) {
            s.stored().forEach(b -> stored.add(new Stored(from, b)));
            s.failed().forEach(f -> blockFailures.add(new Failed(from, f)));
        } else if (m instanceof Status s) {
            statuses.add(s);
        } else {
            if (m instanceof Message.DataMessage d) {
                d.data().release();
            }
            unexpected.add(m);
        }
    }

    @Override
    public void onClose(Connection c) {
        executors.remove(c.peerId(), c);
    }

    @Override
    public void close() {
        if (zk != null) {
            zk.close();
        }
        if (server != null) {
            server.close().awaitUninterruptibly();
        }
        if (transport != null) {
            transport.close();
        }
    }
}
