package io.quiver.executor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.quiver.QuiverException;
import io.quiver.RefId;
import io.quiver.core.net.Secret;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.zk.Records.ExecutorRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import java.time.Duration;
import java.util.List;
import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.Test;

class ExecutorLifecycleTest extends ClusterTestBase {
    private CuratorFramework zk() {
        return closeLater(Zk.start(cluster, 10_000));
    }

    @Test
    void znodeExistsOnceStartedAndGoesOnClose() throws Exception {
        CuratorFramework zk = zk();
        Executor e = new Executor(config("exec-a", 2, 1 << 20));
        assertThat(zk.checkExists().forPath(ZkPaths.executor("exec-a"))).isNull();
        e.start();
        try {
            ExecutorRecord rec = ExecutorRecord.parse(zk.getData().forPath(ZkPaths.executor("exec-a")));
            assertThat(rec).isEqualTo(new ExecutorRecord("exec-a", "127.0.0.1", e.port(), 2, 1 << 20, e.metricsPort(), false));
            assertThat(e.metricsPort()).isPositive();
        } finally {
            e.close();
        }
        assertThat(zk.checkExists().forPath(ZkPaths.executor("exec-a"))).isNull();
        e.close(); // idempotent
        assertThatThrownBy(e::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("already started");
    }

    @Test
    void znodeGoesWhenKilled() throws Exception {
        CuratorFramework zk = zk();
        Executor e = startExecutor("exec-k", 1);
        assertThat(zk.checkExists().forPath(ZkPaths.executor("exec-k"))).isNotNull();
        e.kill();
        await().atMost(Duration.ofSeconds(10)).until(() -> zk.checkExists().forPath(ZkPaths.executor("exec-k")) == null);
        e.kill();
        e.close();
    }

    @Test
    void closeAndKillLeaveNoThreadBehind() throws Exception {
        TestingLeader leader = startLeader("leader-th", 1);
        Executor closed = startExecutor("exec-th1", 2);
        Executor killed = startExecutor("exec-th2", 2);
        leader.awaitExecutor("exec-th1");
        leader.awaitExecutor("exec-th2");
        leader.close(); // its ZooKeeper client's threads would match too
        closed.close();
        killed.kill();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Thread.getAllStackTraces().keySet())
                .filteredOn(Thread::isAlive)
                .extracting(Thread::getName)
                .filteredOn(n -> n.contains("exec-th") || n.contains("Curator") || n.contains("EventThread")
                        || n.contains("SendThread"))
                .isEmpty());
    }

    @Test
    void refusesToListenBeyondLoopbackWithoutASecret() {
        ExecutorConfig c = config("exec-x", 1, 1 << 20);
        Executor e = new Executor(new ExecutorConfig(c.cluster(), c.id(), "192.0.2.1", 0, 1, 1 << 20, c.workDir(),
                Secret.NONE, c.classLoader()));
        assertThatThrownBy(e::start).isInstanceOf(QuiverException.class).hasMessageContaining("without a cluster secret");
        e.close();
    }

    @Test
    void registersWithTheLeaderAndAgainWithItsInventoryAfterALeaderChange() throws Exception {
        TestingLeader first = startLeader("leader-1", 1);
        Executor e = startExecutor("exec-r", 3);
        first.awaitExecutor("exec-r");
        Register reg = first.registersBy.get("exec-r").get(0);
        assertThat(reg.port()).isEqualTo(e.port());
        assertThat(reg.slots()).isEqualTo(3);
        assertThat(reg.memoryLimit()).isEqualTo(256L << 20);
        assertThat(reg.inventory()).isEmpty();

        // Give it a block, then fail the leader over.
        RefId ref = ref();
        byte[] block = encode(new double[] {1, 2, 3});
        try (TestingClient client = new TestingClient(e.port())) {
            client.put(ref, block, List.of());
            await().atMost(Duration.ofSeconds(10)).until(() -> first.storedOn(ref).contains("exec-r"));
        }
        first.close();
        TestingLeader second = startLeader("leader-2", 2);
        second.awaitExecutor("exec-r");
        Register again = second.registersBy.get("exec-r").get(0);
        assertThat(again.inventory()).containsExactly(new BlockInfo(ref, block.length));
        assertThat(again.memoryUsed()).isEqualTo(block.length);
        assertThat(e.registrations()).isEqualTo(2);
    }

    @Test
    void waitsForALeaderThatAppearsLater() throws Exception {
        Executor e = startExecutor("exec-w", 1);
        assertThat(e.registrations()).isZero();
        TestingLeader leader = startLeader("leader-late", 3);
        leader.awaitExecutor("exec-w");
        assertThat(e.registrations()).isEqualTo(1);
    }

    @Test
    void sendsStatusPeriodically() throws Exception {
        TestingLeader leader = startLeader("leader-s", 1);
        startExecutor("exec-s", 1);
        leader.awaitExecutor("exec-s");
        await().atMost(Duration.ofSeconds(10)).until(() -> !leader.statuses.isEmpty());
    }
}
