package io.quiver.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.local.LocalCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Elastic membership with executors as child JVMs ({@code separateProcesses(true)}): one joins
 * after a broadcast and gets it from a peer process, one is killed with SIGKILL, and a leader
 * change in between does not make the cluster forget which values are broadcast. Tasks report
 * where they ran by the executor in their worker thread's name. The leader change also keeps a
 * {@code Scatter.on} value's readers on its executor.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ElasticMembershipIT {
    private static final Duration WAIT = Duration.ofSeconds(60);

    static String where() {
        String name = Thread.currentThread().getName(); // quiver-exec-3-worker-0
        return name.substring("quiver-".length(), name.lastIndexOf("-worker-"));
    }

    static String slowWhere() throws InterruptedException {
        Thread.sleep(50); // stands for work, so that tasks queue and spread
        return where();
    }

    static double[] data(int doubles) {
        double[] d = new double[doubles];
        for (int i = 0; i < d.length; i++) {
            d[i] = i % 100;
        }
        return d;
    }

    @Test
    void aChildExecutorAddedLaterGetsTheBroadcastAndRunsItsTasksAndOneKilledLeavesItsLocations() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2).separateProcesses(true)
                        .executorMemory(64L << 20));
             Quiver q = cluster.connect()) {
            Ref<double[]> shared = q.scatter(data(512 * 1024), Scatter.broadcast()); // 4 MiB
            assertThat(shared.locations()).containsExactlyInAnyOrder("exec-1", "exec-2");

            String added = cluster.addExecutor();
            assertThat(added).isEqualTo("exec-3");
            assertThat(cluster.executorProcess(added).isAlive()).isTrue();
            await().atMost(WAIT).untilAsserted(() ->
                    assertThat(shared.locations()).containsExactlyInAnyOrder("exec-1", "exec-2", "exec-3"));
            List<Ref<String>> refs = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                int k = i;
                refs.add(q.submit(d -> d[k] >= 0 ? slowWhere() : "?", shared));
            }
            assertThat(new HashSet<>(q.gather(refs))).contains("exec-3");

            cluster.killExecutor("exec-1");
            await().atMost(WAIT).untilAsserted(() ->
                    assertThat(shared.locations()).containsExactlyInAnyOrder("exec-2", "exec-3"));
            assertThat(q.submit(d -> d.length, shared).result(WAIT)).isEqualTo(512 * 1024);

            // Scatter.on keeps its readers in its process.
            Ref<double[]> onThird = q.scatter(data(512 * 1024), Scatter.on("exec-3"));
            List<Ref<String>> pinned = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                int k = i;
                pinned.add(q.submit(d -> d[k] >= 0 ? where() : "?", onThird));
            }
            assertThat(q.gather(pinned)).containsOnly("exec-3");
        }
    }

    @Test
    void aBroadcastAndAScatterOnKeepWhatTheyAreAcrossALeaderChange() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2).separateProcesses(true)
                        .coordinators(2).executorMemory(64L << 20));
             Quiver q = cluster.connect()) {
            Ref<double[]> shared = q.scatter(data(64 * 1024), Scatter.broadcast());
            Ref<double[]> onSecond = q.scatter(data(512 * 1024), Scatter.on("exec-2")); // 4 MiB
            long epoch = q.cluster().epoch();
            String old = cluster.killLeader();
            await().atMost(WAIT).until(() -> {
                String now = cluster.leaderId();
                return now != null && !now.equals(old);
            });
            await().atMost(WAIT).until(() -> q.cluster().epoch() > epoch);

            String added = cluster.addExecutor();
            await().atMost(WAIT).untilAsserted(() ->
                    assertThat(shared.locations()).containsExactlyInAnyOrder("exec-1", "exec-2", added));
            assertThat(q.submit(d -> d.length + ":" + where(), shared).result(WAIT)).startsWith("65536:");
            // The client told the new leader about the pin (HoldPins): its readers still stay on exec-2.
            List<Ref<String>> pinned = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                int k = i;
                pinned.add(q.submit(d -> d[k] >= 0 ? where() : "?", onSecond));
            }
            assertThat(q.gather(pinned)).containsOnly("exec-2");
        }
    }
}
