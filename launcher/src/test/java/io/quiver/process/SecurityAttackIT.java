package io.quiver.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Challenge;
import io.quiver.core.protocol.Message.Hello;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.ExecutorRecord;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import io.quiver.local.LocalCluster;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 8, attacked with real processes: a coordinator in this JVM, two executors in child JVMs, a
 * real ZooKeeper, all with a cluster secret, and attackers without it. Each attack carries a
 * {@link TestingDeserializationMarker}; none may ever be deserialized, and the cluster goes on
 * serving jobs after each.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SecurityAttackIT {
    static final String SECRET = "the-cluster-secret-of-SecurityAttackIT";
    static final int MIB = 1 << 20;

    @TempDir
    static Path dir;
    static LocalCluster cluster;
    static CuratorFramework zk;
    static Path marker;

    @BeforeAll
    static void start() {
        cluster = LocalCluster.start(LocalCluster.options().executors(2).slotsPerExecutor(2).separateProcesses(true)
                .executorMemory(256L * MIB).secret(SECRET));
        zk = Zk.start(ClusterUrl.parse(cluster.zkConnectString()), Secret.of(SECRET), 10_000);
        marker = dir.resolve("deserialized.marker");
    }

    @AfterAll
    static void stop() {
        if (zk != null) {
            zk.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void nothingWasDeserializedAndTheClusterServes() {
        assertThat(marker).as("an attacker's object was deserialized").doesNotExist();
        try (Quiver q = cluster.connect()) {
            List<Integer> items = IntStream.range(0, 20).boxed().toList();
            assertThat(q.gather(q.map(i -> i * i, items))).isEqualTo(items.stream().map(i -> i * i).toList());
            assertThat(q.cluster().executors()).hasSize(2);
        }
        for (String id : cluster.executorIds()) {
            assertThat(cluster.executorProcess(id).isAlive()).as(id + " is alive").isTrue();
        }
    }

    static LeaderRecord leader() throws Exception {
        return LeaderRecord.parse(zk.getData().forPath(ZkPaths.LEADER));
    }

    /** host:port of the leader and of every executor: every Quiver port of the cluster. */
    static List<String> everyPort() throws Exception {
        List<String> ports = new ArrayList<>();
        LeaderRecord l = leader();
        ports.add(l.host() + ":" + l.port());
        for (String id : zk.getChildren().forPath(ZkPaths.EXECUTORS)) {
            ExecutorRecord e = ExecutorRecord.parse(zk.getData().forPath(ZkPaths.executor(id)));
            ports.add(e.host() + ":" + e.port());
        }
        return ports;
    }

    static Socket socket(String hostPort) throws IOException {
        int colon = hostPort.lastIndexOf(':');
        Socket s = new Socket(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
        s.setSoTimeout(15_000);
        return s;
    }

    /** Reads until the peer closes; what it sent is ignored. */
    static void awaitClosedByPeer(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[8192];
        try {
            while (in.read(buf) >= 0) {
                // drain
            }
        } catch (SocketException reset) {
            // closed too
        }
    }

    // ------------------------------------------------------------------ the rogue leader

    @Test
    void aRogueLeaderPublishedInZooKeeperIsNeitherRegisteredWithNorBelieved() throws Exception {
        LeaderRecord real = leader();
        try (Quiver before = cluster.connect();
             TestingRoguePeer rogue = new TestingRoguePeer(new TestingDeserializationMarker(marker), real.epoch() + 1000);
             // ZooKeeper's superuser (see the failsafe configuration): someone who can write any
             // znode but has no Quiver secret, e.g. whoever runs a shared ensemble.
             CuratorFramework attacker = CuratorFrameworkFactory.builder()
                     .connectString(ClusterUrl.parse(cluster.zkConnectString()).connectString())
                     .namespace(ClusterUrl.parse(cluster.zkConnectString()).root().substring(1))
                     .authorization("digest", "super:rogue-admin".getBytes(java.nio.charset.StandardCharsets.UTF_8))
                     .retryPolicy(new ExponentialBackoffRetry(100, 3)).build()) {
            assertThat(before.submit(() -> 6 * 7).result()).isEqualTo(42);
            attacker.start();
            byte[] fake = new LeaderRecord("rogue", "127.0.0.1", rogue.port(), 0, real.epoch() + 1000).toBytes();
            // A persistent attacker: it writes itself into /leader again whenever the leader puts
            // itself back, until every executor has tried it.
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> {
                if (!java.util.Arrays.equals(attacker.getData().forPath(ZkPaths.LEADER), fake)) {
                    attacker.setData().forPath(ZkPaths.LEADER, fake);
                }
                return cluster.executorIds().stream().allMatch(id -> rogue.hellos().contains("executor " + id));
            });
            // The leader takes /leader back, and nobody ever went past the rogue's handshake.
            await().atMost(Duration.ofSeconds(30)).until(() -> leader().equals(real));
            assertThat(rogue.framesAfterHandshake()).as("frames sent to the rogue after its welcome").isEmpty();
            // The client that was connected stayed with the real leader.
            assertThat(before.submit(() -> 6 * 7).result(Duration.ofSeconds(30))).isEqualTo(42);
            assertThat(before.cluster().leaderId()).isEqualTo(real.id());
        }
    }

    // ------------------------------------------------------------------ a peer without the secret

    @Test
    void aPeerWithoutTheSecretIsRefusedAtEveryPortBeforeAnythingIsDecoded() throws Exception {
        byte[] launch;
        try (TestingRoguePeer forFrames = new TestingRoguePeer(new TestingDeserializationMarker(marker), 1)) {
            launch = forFrames.launchFrame();
        }
        try (Transport transport = new Transport("attacker", 1)) {
            for (String port : everyPort()) {
                String host = port.substring(0, port.lastIndexOf(':'));
                int p = Integer.parseInt(port.substring(port.lastIndexOf(':') + 1));
                for (Secret wrong : List.of(Secret.NONE, Secret.of("not-the-secret"))) {
                    assertThatThrownBy(() -> Pipelines.connect(transport, host, p, wrong, Role.EXECUTOR, "intruder", 0,
                            MessageCodec.DEFAULT_MAX_FRAME, 5_000, (c, m) -> { }))
                            .as(port).isInstanceOf(QuiverException.class)
                            .hasMessageContaining("wrong or missing cluster secret");
                }
                // A command instead of a hello.
                try (Socket s = socket(port)) {
                    s.getOutputStream().write(launch);
                    awaitClosedByPeer(s);
                }
                // A hello with a made-up proof, and the command right behind it.
                try (Socket s = socket(port)) {
                    Challenge c = (Challenge) TestingRoguePeer.read(new DataInputStream(s.getInputStream()));
                    OutputStream out = s.getOutputStream();
                    out.write(TestingRoguePeer.frame(new Hello(Role.COORDINATOR, "intruder", c.epoch() + 1,
                            Secret.nonce(), new byte[32])));
                    out.write(launch);
                    Message answer = TestingRoguePeer.read(new DataInputStream(s.getInputStream()));
                    assertThat(answer).as(port).isInstanceOf(Message.Refused.class);
                    awaitClosedByPeer(s);
                }
            }
        }
    }

    @Test
    void aReplayedHandshakeIsRefusedAtEveryPort() throws Exception {
        byte[] launch;
        try (TestingRoguePeer forFrames = new TestingRoguePeer(new TestingDeserializationMarker(marker), 1)) {
            launch = forFrames.launchFrame();
        }
        Secret secret = Secret.of(SECRET);
        for (String port : everyPort()) {
            // What an eavesdropper records: an honest peer's hello to this port.
            byte[] recorded;
            try (Socket honest = socket(port)) {
                DataInputStream in = new DataInputStream(honest.getInputStream());
                Challenge c = (Challenge) TestingRoguePeer.read(in);
                byte[] nonce = Secret.nonce();
                recorded = TestingRoguePeer.frame(new Hello(Role.CLIENT, "honest", 0, nonce,
                        secret.helloMac(c.nonce(), nonce, c.serverId(), Role.CLIENT.name(), "honest", 0)));
                honest.getOutputStream().write(recorded);
                assertThat(TestingRoguePeer.read(in)).as("the honest peer is welcomed").isInstanceOf(Message.Welcome.class);
            }
            try (Socket replay = socket(port)) {
                DataInputStream in = new DataInputStream(replay.getInputStream());
                TestingRoguePeer.read(in); // a fresh challenge
                replay.getOutputStream().write(recorded);
                replay.getOutputStream().write(launch);
                Message answer = TestingRoguePeer.read(in);
                assertThat(answer).as(port).isInstanceOf(Message.Refused.class);
                assertThat(((Message.Refused) answer).reason()).contains("wrong or missing cluster secret");
                awaitClosedByPeer(replay);
            }
        }
    }

    // ------------------------------------------------------------------ anonymous ZooKeeper

    @Test
    void anAnonymousZooKeeperClientCanNeitherReadNorWriteAnyQuiverZnode() throws Exception {
        ClusterUrl url = ClusterUrl.parse(cluster.zkConnectString());
        List<String> paths = new ArrayList<>(List.of("", ZkPaths.LEADER, ZkPaths.EPOCH, ZkPaths.EXECUTORS,
                ZkPaths.LEADER_LATCH));
        for (String id : zk.getChildren().forPath(ZkPaths.EXECUTORS)) {
            paths.add(ZkPaths.executor(id));
        }
        for (String latch : zk.getChildren().forPath(ZkPaths.LEADER_LATCH)) {
            paths.add(ZkPaths.LEADER_LATCH + "/" + latch);
        }
        CompletableFuture<Void> connected = new CompletableFuture<>();
        org.apache.zookeeper.ZooKeeper anonymous = new org.apache.zookeeper.ZooKeeper(url.connectString(), 10_000,
                event -> {
                    if (event.getState() == org.apache.zookeeper.Watcher.Event.KeeperState.SyncConnected) {
                        connected.complete(null);
                    }
                });
        try {
            connected.get(20, TimeUnit.SECONDS);
            byte[] fake = new LeaderRecord("rogue", "127.0.0.1", 1, 0, Long.MAX_VALUE).toBytes();
            for (String relative : paths) {
                String path = url.root() + relative;
                List<ThrowingRunnable> attempts = List.of(
                        () -> anonymous.getData(path, false, null),
                        () -> anonymous.getChildren(path, false),
                        () -> anonymous.setData(path, fake, -1),
                        () -> anonymous.create(path + "/rogue", fake, org.apache.zookeeper.ZooDefs.Ids.OPEN_ACL_UNSAFE,
                                org.apache.zookeeper.CreateMode.PERSISTENT),
                        () -> anonymous.setACL(path, org.apache.zookeeper.ZooDefs.Ids.OPEN_ACL_UNSAFE, -1));
                for (ThrowingRunnable attempt : attempts) {
                    assertThatThrownBy(attempt::run).as(path)
                            .isInstanceOf(org.apache.zookeeper.KeeperException.NoAuthException.class);
                }
                if (!relative.isEmpty()) {
                    // Deleting needs the parent's DELETE permission, which only the cluster has.
                    assertThatThrownBy(() -> anonymous.delete(path, -1)).as(path)
                            .isInstanceOf(org.apache.zookeeper.KeeperException.NoAuthException.class);
                }
            }
        } finally {
            anonymous.close();
        }
        assertThat(zk.checkExists().forPath(ZkPaths.EXECUTORS + "/rogue")).isNull();
        assertThat(leader().id()).isEqualTo(cluster.leaderId());
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    // ------------------------------------------------------------------ pre-auth flood

    @Test
    void eightSixtyMibFramesBeforeTheHandshakeAtTheLeaderAndAnExecutorCostNothing() throws Exception {
        List<String> targets = everyPort().subList(0, 2); // the leader and one executor
        try (Quiver q = cluster.connect()) {
            double[] data = new double[2 * MIB]; // 16 MiB, scattered while the flood runs
            java.util.Arrays.fill(data, 1.5);
            CompletableFuture<Double> job = CompletableFuture.supplyAsync(() -> {
                Ref<double[]> shared = q.scatter(data, Scatter.broadcast());
                List<Integer> items = IntStream.range(0, 40).boxed().toList();
                return q.gather(q.map((Integer i, double[] d) -> d[i] * 2, items, shared)).stream()
                        .mapToDouble(Double::doubleValue).sum();
            });
            List<CompletableFuture<Long>> floods = new ArrayList<>();
            for (String target : targets) {
                for (int i = 0; i < 8; i++) {
                    floods.add(CompletableFuture.supplyAsync(() -> flood(target, 60 * MIB)));
                }
            }
            for (CompletableFuture<Long> f : floods) {
                long accepted = f.get(60, TimeUnit.SECONDS);
                // The server hangs up at the length field; only what socket buffers hold got through.
                assertThat(accepted).as("bytes written before the server hung up").isLessThan(60L * MIB);
            }
            assertThat(job.get(90, TimeUnit.SECONDS)).isEqualTo(40 * 3.0);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> Pipelines.unauthenticatedConnections() == 0);
    }

    // ------------------------------------------------------------------ authenticated flood

    /**
     * A peer that knows the secret (a buggy client, or a compromised one) sends eight 256 MiB
     * blocks at once into an executor whose memory is 256 MiB. Blocks that do not fit go to disk at
     * the pace of each connection's inbound budget, so the executor's resident memory grows by far
     * less than the 2 GiB it was sent, it stays alive, and a job running meanwhile is right.
     */
    @Test
    void eightAuthenticatedPeersSendingTwoGibOfBlocksAtAnExecutorAreHeldToItsMemory() throws Exception {
        String target = everyPort().get(1);
        String host = target.substring(0, target.lastIndexOf(':'));
        int port = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
        long pid = executorPidAt(port);
        long rssBefore = rssBytes(pid);
        java.util.concurrent.atomic.AtomicLong peak = new java.util.concurrent.atomic.AtomicLong(rssBefore);
        java.util.concurrent.atomic.AtomicBoolean sampling = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread sampler = new Thread(() -> {
            while (sampling.get()) {
                peak.accumulateAndGet(rssBytes(pid), Math::max);
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.start();
        long blockBytes = 256L * MIB;
        byte[] chunk = new byte[MessageCodec.CHUNK_SIZE];
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        for (long offset = 0; offset < blockBytes; offset += chunk.length) {
            crc.update(chunk);
        }
        long checksum = crc.getValue(); // a well-formed block: the executor stores it
        List<io.quiver.core.net.Connection> flooders = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (Transport transport = new Transport("flooder", 2); Quiver q = cluster.connect()) {
            CompletableFuture<Long> job = CompletableFuture.supplyAsync(() -> {
                List<Integer> items = IntStream.range(0, 200).boxed().toList();
                return q.gather(q.map(i -> (long) i * i, items)).stream().mapToLong(Long::longValue).sum();
            });
            List<CompletableFuture<Long>> floods = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int n = i;

                floods.add(CompletableFuture.supplyAsync(() -> {
                    io.quiver.core.net.Connection c = Pipelines.connect(transport, host, port, Secret.of(SECRET),
                            Role.CLIENT, "flooder-" + n, 0, MessageCodec.DEFAULT_MAX_FRAME, 5_000, (conn, m) -> { });
                    io.quiver.RefId ref = new io.quiver.RefId(Long.MAX_VALUE - n, 1);
                    long sent = 0;
                    for (long offset = 0; offset < blockBytes; offset += chunk.length) {
                        c.send(new Message.PutChunk(ref, blockBytes, offset, checksum, List.of(),
                                io.netty.buffer.Unpooled.wrappedBuffer(chunk)));
                        sent += chunk.length;
                        c.awaitWritable(60_000, "the flood");
                    }
                    flooders.add(c); // closed once the blocks are stored: closing now could cut the last chunks
                    // Still open: the executor took it all (a process out of memory drops its connections).
                    return c.isOpen() ? sent : -1;
                }));
            }
            long sent = 0;
            for (CompletableFuture<Long> f : floods) {
                long n = f.get(150, TimeUnit.SECONDS);
                sent += n < 0 ? 0 : n;
            }
            assertThat(sent).as("bytes sent on connections that stayed open").isEqualTo(8 * blockBytes);
            // Every block was stored: at most one fits in the executor's memory, the others are on its disk.
            String id = executorIdAt(port);
            try {
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> blockFileBytes(cluster.directory().resolve(id)) >= 7 * blockBytes);
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                Path log = cluster.directory().resolve(id + ".log");
                List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
                throw new AssertionError(blockFileBytes(cluster.directory().resolve(id)) + " bytes of block files under "
                        + cluster.directory().resolve(id) + "; the executor's log ends:\n"
                        + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())), e);
            }
            assertThat(job.get(60, TimeUnit.SECONDS)).isEqualTo(IntStream.range(0, 200).mapToLong(i -> (long) i * i).sum());
        } finally {
            flooders.forEach(io.quiver.core.net.Connection::close);
            sampling.set(false);
            sampler.join();
        }
        System.out.printf("SecurityAttackIT: executor RSS grew %d MiB (peak %d MiB) while 2 GiB arrived%n",
                (peak.get() - rssBefore) >> 20, peak.get() >> 20);
        // 256 MiB of memory, at most one budget per connection waiting for the disk, and the heap; not the 2 GiB sent.
        assertThat(peak.get() - rssBefore).as("growth of the executor's resident memory while 2 GiB arrived")
                .isLessThan(1536L * MIB);
    }

    static String executorIdAt(int dataPort) throws Exception {
        for (String id : zk.getChildren().forPath(ZkPaths.EXECUTORS)) {
            ExecutorRecord e = ExecutorRecord.parse(zk.getData().forPath(ZkPaths.executor(id)));
            if (e.port() == dataPort) {
                return id;
            }
        }
        throw new AssertionError("no executor has data port " + dataPort);
    }

    static long executorPidAt(int dataPort) throws Exception {
        return cluster.executorProcess(executorIdAt(dataPort)).pid();
    }

    /** Bytes of block files (spilled, or received to disk) under an executor's work directory. */
    static long blockFileBytes(Path workDir) throws IOException {
        try (var files = Files.walk(workDir)) {
            return files.filter(f -> f.toString().endsWith(".blk")).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    /** The resident set of a process, from /proc. */
    static long rssBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return 0;
    }

    /** Announces a frame of {@code bytes} and sends them, before any handshake; returns what was written. */
    static long flood(String target, int bytes) {
        long written = 0;
        try (Socket s = socket(target)) {
            OutputStream out = s.getOutputStream();
            out.write(new byte[] {(byte) (bytes >>> 24), (byte) (bytes >>> 16), (byte) (bytes >>> 8), (byte) bytes, 2});
            byte[] chunk = new byte[MIB];
            while (written < bytes) {
                out.write(chunk);
                written += chunk.length;
            }
        } catch (IOException e) {
            // the server hung up: what it should do
        }
        return written;
    }
}
