package io.quiver.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.quiver.ExecutorInfo;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

/** LocalCluster with in-process executors, through the public API. Needs the coordinator, executor and client. */
@Timeout(value = 2, unit = TimeUnit.MINUTES) // a hung scatter or gather fails the test instead of the build
class LocalClusterTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void startReturnsWithALeaderAndEveryExecutorRegistered() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2).slotsPerExecutor(2));
                Quiver q = cluster.connect()) {
            assertThat(cluster.executorIds()).containsExactly("exec-1", "exec-2");
            assertThat(cluster.leaderId()).isEqualTo("coord-1");
            assertThat(cluster.zkConnectString()).matches("zk://127\\.0\\.0\\.1:\\d+/quiver");
            // No waiting: start() has already seen every executor registered with the leader.
            List<ExecutorInfo> executors = q.cluster().executors();
            assertThat(executors).extracting(ExecutorInfo::id).containsExactlyInAnyOrder("exec-1", "exec-2");
            assertThat(executors).allSatisfy(e -> {
                assertThat(e.slots()).isEqualTo(2);
                assertThat(e.host()).isEqualTo("127.0.0.1");
            });
            assertThat(q.cluster().leaderId()).isEqualTo("coord-1");
        }
    }

    @Test
    void runsScatterSubmitGather() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2).executorMemory(64L << 20));
                Quiver q = cluster.connect()) {
            double[] data = new double[100_000];
            for (int i = 0; i < data.length; i++) {
                data[i] = i;
            }
            Ref<double[]> pinned = q.scatter(data, Scatter.broadcast());
            assertThat(pinned.locations()).containsExactlyInAnyOrder("exec-1", "exec-2");
            List<Ref<Double>> refs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                int k = i;
                refs.add(q.submit(d -> d[k] * 2, pinned));
            }
            List<Double> results = q.gather(refs);
            for (int i = 0; i < 20; i++) {
                assertThat(results.get(i)).isEqualTo(2.0 * i);
            }
            assertThat(cluster.executor("exec-1").stats().tasksRun() + cluster.executor("exec-2").stats().tasksRun())
                    .isGreaterThanOrEqualTo(20);
        }
    }

    /** {@code n} items of 800 KB, item i starting with byte i: each small enough to travel inline. */
    static List<byte[]> itemsOf800Kb(int n) {
        List<byte[]> items = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] b = new byte[800_000];
            b[0] = (byte) i;
            items.add(b);
        }
        return items;
    }

    @Test
    void aMapWhoseItemsTogetherExceedAFrameRuns() {
        // 100 items of 800 KB: each small enough to travel inline, 80 MB together, over the 64 MiB
        // a frame may hold. The tasks must go in frames of their own size, not as one.
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2).executorMemory(256L << 20));
                Quiver q = cluster.connect()) {
            List<byte[]> items = itemsOf800Kb(100);
            List<Ref<Integer>> refs = q.map(b -> b.length + b[0], items);
            List<Integer> out = q.gather(refs);
            for (int i = 0; i < 100; i++) {
                assertThat(out.get(i)).isEqualTo(800_000 + i);
            }
        }
    }

    @Test
    void aSecondClientConnectsThroughTheZkUrl() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options());
                Quiver q = Quiver.connect(cluster.zkConnectString())) {
            assertThat(q.submit(() -> 6 * 7).result(WAIT)).isEqualTo(42);
        }
    }

    @Test
    void aClusterWithASecretWorksForItsOwnConnections() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().secret("s3cret"));
                Quiver q = cluster.connect()) {
            assertThat(q.submit(() -> "ok").result(WAIT)).isEqualTo("ok");
        }
    }

    @Test
    void killExecutorTakesItOutOfTheClusterAndWorkGoesOn() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2));
                Quiver q = cluster.connect()) {
            cluster.killExecutor("exec-1");
            assertThat(cluster.executorIds()).containsExactly("exec-2");
            await().atMost(WAIT).until(() -> q.cluster().executors().stream().map(ExecutorInfo::id).toList(),
                    ids -> ids.equals(List.of("exec-2")));
            assertThat(q.submit(() -> 1 + 1).result(WAIT)).isEqualTo(2);
            assertThatThrownBy(() -> cluster.killExecutor("exec-1"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("no live executor 'exec-1'")
                    .hasMessageContaining("[exec-2]");
            assertThatThrownBy(() -> cluster.killExecutor("exec-9")).isInstanceOf(IllegalArgumentException.class);
            assertThat(cluster.executor("exec-1")).isNotNull(); // killed ones stay readable for their stats
        }
    }

    @Test
    void killLeaderHandsOverToTheStandby() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(1).coordinators(2));
                Quiver q = cluster.connect()) {
            String old = cluster.leaderId();
            assertThat(old).isIn("coord-1", "coord-2");
            assertThat(cluster.killLeader()).isEqualTo(old);
            await().atMost(WAIT).until(() -> {
                String now = cluster.leaderId();
                return now != null && !now.equals(old);
            });
            await().atMost(WAIT).ignoreExceptions()
                    .until(() -> q.submit(() -> "after failover").result(Duration.ofSeconds(5)).equals("after failover"));
        }
    }

    @Test
    void aFailoverResumesAMapWhoseItemsTogetherExceedAFrame() {
        // The client re-sends every live task to the new leader: 100 items of 800 KB are 80 MB,
        // over the 64 MiB a frame may hold, so the resume must go in frames of their own size too.
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2).coordinators(2)
                        .executorMemory(256L << 20));
                Quiver q = cluster.connect()) {
            List<byte[]> items = itemsOf800Kb(100);
            List<Ref<Integer>> refs = q.map(b -> {
                Thread.sleep(50);
                return b.length + b[0];
            }, items);
            String old = cluster.leaderId();
            cluster.killLeader();
            List<Integer> out = q.gather(refs);
            for (int i = 0; i < 100; i++) {
                assertThat(out.get(i)).isEqualTo(800_000 + i);
            }
            assertThat(cluster.leaderId()).isNotEqualTo(old);
            long runs = cluster.executor("exec-1").stats().tasksRun() + cluster.executor("exec-2").stats().tasksRun();
            assertThat(runs).as("tasks run: each once, none lost to the failover and none repeated").isEqualTo(100);
        }
    }

    @Test
    void closeStopsEverythingAndIsIdempotent() {
        Set<Thread> before = Threads.running();
        LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2));
        Path dir = cluster.directory();
        Quiver q = cluster.connect();
        assertThat(dir).isDirectory();
        cluster.close();
        cluster.close();
        assertThat(dir).doesNotExist();
        assertThatThrownBy(cluster::connect).isInstanceOf(IllegalStateException.class).hasMessageContaining("CLOSED");
        assertThatThrownBy(() -> cluster.killExecutor("exec-1")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> q.submit(() -> 1).result(WAIT)).isInstanceOf(RuntimeException.class);
        q.close();
        await().atMost(WAIT).untilAsserted(() -> assertThat(Threads.startedSince(before)).isEmpty());
    }

    @Test
    void executorObjectsAreOnlyForInProcessExecutors() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options())) {
            assertThat(cluster.executor("exec-1").id()).isEqualTo("exec-1");
            assertThatThrownBy(() -> cluster.executor("exec-7"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[exec-1]");
            assertThatThrownBy(() -> cluster.executorProcess("exec-1"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("separateProcesses(true)");
        }
    }
}
