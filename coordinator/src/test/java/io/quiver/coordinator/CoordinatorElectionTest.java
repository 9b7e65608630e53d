package io.quiver.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.core.net.Secret;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import java.time.Duration;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Election against a real ZooKeeper: one leader, a bumped epoch per term, a standby that takes over. */
class CoordinatorElectionTest {
    TestingServer zkServer;
    ClusterUrl url;
    CuratorFramework zk;

    @BeforeEach
    void setUp() throws Exception {
        zkServer = new TestingServer(true);
        url = ClusterUrl.parse("zk://" + zkServer.getConnectString() + "/election-test");
        zk = Zk.start(url, 10_000);
    }

    @AfterEach
    void tearDown() throws Exception {
        zk.close();
        zkServer.close();
    }

    Coordinator coordinator(String id) {
        Coordinator c = new Coordinator(new CoordinatorConfig(url, id, "127.0.0.1", 0, Secret.NONE));
        c.start();
        return c;
    }

    LeaderRecord leaderRecord() throws Exception {
        return LeaderRecord.parse(zk.getData().forPath(ZkPaths.LEADER));
    }

    @Test
    void oneLeaderPublishesItselfAndAStandbyTakesOverWithANewerEpoch() throws Exception {
        try (Coordinator a = coordinator("coord-a"); Coordinator b = coordinator("coord-b")) {
            await().atMost(Duration.ofSeconds(20)).until(() -> a.isLeader() || b.isLeader());
            Coordinator leader = a.isLeader() ? a : b;
            Coordinator standby = leader == a ? b : a;
            assertThat(standby.isLeader()).isFalse();
            await().atMost(Duration.ofSeconds(10)).until(() -> zk.checkExists().forPath(ZkPaths.LEADER) != null);
            LeaderRecord first = leaderRecord();
            assertThat(first.id()).isEqualTo(leader.id());
            assertThat(first.port()).isEqualTo(leader.port());

            leader.kill();

            await().atMost(Duration.ofSeconds(30)).until(standby::isLeader);
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                try {
                    return leaderRecord().id().equals(standby.id());
                } catch (Exception e) {
                    return false;
                }
            });
            assertThat(leaderRecord().epoch()).isGreaterThan(first.epoch());
            assertThat(standby.epoch()).isEqualTo(leaderRecord().epoch());
        }
    }

    @Test
    void theLeaderPutsBackALeaderNodeThatSomeoneDeletedOrOverwrote() throws Exception {
        try (Coordinator a = coordinator("coord-repair")) {
            await().atMost(Duration.ofSeconds(20)).until(a::isLeader);
            await().atMost(Duration.ofSeconds(10)).until(() -> zk.checkExists().forPath(ZkPaths.LEADER) != null);
            LeaderRecord published = leaderRecord();

            zk.delete().forPath(ZkPaths.LEADER);
            await().atMost(Duration.ofSeconds(10)).until(() -> zk.checkExists().forPath(ZkPaths.LEADER) != null);
            assertThat(leaderRecord()).isEqualTo(published);

            zk.setData().forPath(ZkPaths.LEADER, new LeaderRecord("someone", "127.0.0.1", 1, 0,
                    published.epoch() + 5).toBytes());
            await().atMost(Duration.ofSeconds(10)).until(() -> leaderRecord().equals(published));
            assertThat(a.isLeader()).isTrue();
        }
    }

    @Test
    void closingIsIdempotentAndRemovesTheLeaderNode() throws Exception {
        Coordinator a = coordinator("coord-solo");
        await().atMost(Duration.ofSeconds(20)).until(a::isLeader);
        a.close();
        a.close();
        assertThat(a.isLeader()).isFalse();
        await().atMost(Duration.ofSeconds(10)).until(() -> zk.checkExists().forPath(ZkPaths.LEADER) == null);
    }
}
