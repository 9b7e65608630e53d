package io.quiver.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import javax.management.ObjectName;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedZooKeeperTest {
    /** Threads a ZooKeeper server runs; none may survive close(). */
    private static final List<String> SERVER_THREADS = List.of("NIOServerCxnFactory", "NIOWorkerThread",
            "SessionTracker", "SyncThread", "ProcessThread", "RequestThrottler");

    @Test
    void servesRealClientsOnAFreeLoopbackPortAndCleansUp() throws Exception {
        Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
        Path dataDir;
        int port;
        try (EmbeddedZooKeeper zk = EmbeddedZooKeeper.forLocalCluster().start()) {
            port = zk.port();
            dataDir = zk.dataDir();
            assertThat(port).isPositive();
            assertThat(zk.connectString()).isEqualTo("127.0.0.1:" + port);
            assertThat(dataDir).isDirectory();
            try (CuratorFramework client = CuratorFrameworkFactory.newClient(zk.connectString(), new RetryOneTime(100))) {
                client.start();
                client.blockUntilConnected();
                client.create().creatingParentsIfNeeded().forPath("/quiver/hello", "world".getBytes(StandardCharsets.UTF_8));
                assertThat(new String(client.getData().forPath("/quiver/hello"), StandardCharsets.UTF_8)).isEqualTo("world");
            }
        }
        assertThat(dataDir).doesNotExist();
        assertThatThrownBy(() -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1_000);
            }
        }).isInstanceOf(IOException.class);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(serverThreadsSince(before)).isEmpty());
    }

    @Test
    void registersJmxBeansUnlessToldNotTo() throws Exception {
        try (EmbeddedZooKeeper standalone = new EmbeddedZooKeeper(InetAddress.getLoopbackAddress(), 0, null,
                        EmbeddedZooKeeper.LOCAL_TICK_MILLIS, 0).start();
                EmbeddedZooKeeper local = EmbeddedZooKeeper.forLocalCluster().start()) {
            assertThat(zooKeeperBeans(standalone.port())).isNotEmpty();
            try (CuratorFramework client = CuratorFrameworkFactory.newClient(local.connectString(), new RetryOneTime(100))) {
                client.start();
                client.blockUntilConnected();
                client.checkExists().forPath("/");
                assertThat(zooKeeperBeans(local.port())).isEmpty();
                // The standalone one has no clients: any connection bean would be the local one's.
                assertThat(ManagementFactory.getPlatformMBeanServer()
                        .queryNames(new ObjectName("org.apache.ZooKeeperService:*"), null))
                        .noneMatch(name -> name.toString().contains("Connections"));
            }
            assertThatThrownBy(local::withoutJmx).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("before start()");
        }
    }

    private static Set<ObjectName> zooKeeperBeans(int port) throws Exception {
        return ManagementFactory.getPlatformMBeanServer()
                .queryNames(new ObjectName("org.apache.ZooKeeperService:name0=StandaloneServer_port" + port + ",*"), null);
    }

    @Test
    void grantsShortSessionsSoThatDeadProcessesVanishQuickly() throws Exception {
        try (EmbeddedZooKeeper zk = EmbeddedZooKeeper.forLocalCluster().start();
                CuratorFramework client = CuratorFrameworkFactory.builder().connectString(zk.connectString())
                        .sessionTimeoutMs(60_000).retryPolicy(new RetryOneTime(100)).build()) {
            client.start();
            client.blockUntilConnected();
            assertThat(client.getZookeeperClient().getZooKeeper().getSessionTimeout())
                    .isLessThanOrEqualTo(EmbeddedZooKeeper.LOCAL_MAX_SESSION_MILLIS);
        }
    }

    @Test
    void keepsADataDirItWasGiven(@TempDir Path dir) {
        Path data = dir.resolve("zk-data");
        try (EmbeddedZooKeeper zk = new EmbeddedZooKeeper(InetAddress.getLoopbackAddress(), 0, data,
                EmbeddedZooKeeper.STANDARD_TICK_MILLIS, 0).start()) {
            assertThat(zk.dataDir()).isEqualTo(data);
        }
        assertThat(data).isDirectory();
    }

    @Test
    void startsOnceAndClosesIdempotently() {
        EmbeddedZooKeeper zk = EmbeddedZooKeeper.forLocalCluster().start();
        assertThatThrownBy(zk::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("started once");
        zk.close();
        zk.close();
        assertThatThrownBy(zk::port).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aTakenPortIsAClearError() throws IOException {
        try (EmbeddedZooKeeper first = EmbeddedZooKeeper.forLocalCluster().start()) {
            EmbeddedZooKeeper second = new EmbeddedZooKeeper(InetAddress.getLoopbackAddress(), first.port(), null,
                    EmbeddedZooKeeper.LOCAL_TICK_MILLIS, 0);
            assertThatThrownBy(second::start)
                    .hasMessageContaining("cannot start ZooKeeper on 127.0.0.1:" + first.port())
                    .hasMessageContaining("--port");
            second.close();
        }
    }

    @Test
    void checksItsArguments() {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        assertThatThrownBy(() -> new EmbeddedZooKeeper(loopback, -1, null, 100, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got -1");
        assertThatThrownBy(() -> new EmbeddedZooKeeper(loopback, 0, null, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tick time must be > 0 ms, got 0");
        assertThatThrownBy(() -> new EmbeddedZooKeeper(loopback, 0, null, 100, 150))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(">= 2 ticks");
        assertThatThrownBy(() -> new EmbeddedZooKeeper(null, 0, null, 100, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static Set<String> serverThreadsSince(Set<Thread> before) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .filter(t -> !before.contains(t))
                .map(Thread::getName)
                .filter(name -> SERVER_THREADS.stream().anyMatch(name::startsWith))
                .collect(Collectors.toSet());
    }
}
