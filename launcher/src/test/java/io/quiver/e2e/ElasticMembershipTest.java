package io.quiver.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.quiver.ExecutorInfo;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.local.LocalCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Executors join ({@link LocalCluster#addExecutor()}) and leave (kill, clean stop) while values
 * and tasks are live, on real in-process executors: broadcasts reach newcomers from a peer, and a
 * value scattered {@code Scatter.on(...)} keeps its readers where it lives. Where a task ran is
 * read from the worker thread that ran it ({@code quiver-<executor>-worker-<n>}).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ElasticMembershipTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    /** The id of the executor whose worker runs this (its thread is named after it). */
    static String where() {
        String name = Thread.currentThread().getName(); // quiver-exec-2-worker-0
        return name.substring("quiver-".length(), name.lastIndexOf("-worker-"));
    }

    static String slowWhere(int millis) throws InterruptedException {
        Thread.sleep(millis); // stands for work, so that tasks queue and spread
        return where();
    }

    static double[] data(int doubles) {
        double[] d = new double[doubles];
        for (int i = 0; i < d.length; i++) {
            d[i] = i % 100;
        }
        return d;
    }

    static Set<String> ids(Quiver q) {
        Set<String> ids = new HashSet<>();
        for (ExecutorInfo e : q.cluster().executors()) {
            ids.add(e.id());
        }
        return ids;
    }

    @Test
    void aBroadcastReachesAnExecutorAddedAfterItAndItsTasksRunThereToo() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2));
             Quiver q = cluster.connect()) {
            double[] values = data(512 * 1024); // 4 MiB
            Ref<double[]> shared = q.scatter(values, Scatter.broadcast());
            assertThat(shared.locations()).containsExactlyInAnyOrder("exec-1", "exec-2");

            String added = cluster.addExecutor();
            assertThat(added).isEqualTo("exec-3");
            assertThat(cluster.executorIds()).containsExactly("exec-1", "exec-2", "exec-3");
            assertThat(ids(q)).contains("exec-3");
            await().atMost(WAIT).untilAsserted(() ->
                    assertThat(shared.locations()).containsExactlyInAnyOrder("exec-1", "exec-2", "exec-3"));
            assertThat(cluster.executor(added).stats().bytesFetched()).as("copied from a peer")
                    .isGreaterThanOrEqualTo(values.length * 8L);

            List<Ref<String>> refs = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                int k = i;
                refs.add(q.submit(d -> d[k] >= 0 ? slowWhere(50) : "?", shared));
            }
            List<String> ranOn = q.gather(refs);
            assertThat(new HashSet<>(ranOn)).contains("exec-3");
            assertThat(q.submit(d -> d.length, shared).result(WAIT)).isEqualTo(values.length);
        }
    }

    @Test
    void anExecutorJoiningWhileABroadcastStreamsEndsUpWithACopyToo() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2)
                .executorMemory(128L << 20));
             Quiver q = cluster.connect()) {
            double[] values = data(8 * 1024 * 1024); // 64 MiB: streaming it takes a while
            // Whichever comes first, the join or the end of the scatter, the newcomer gets a copy:
            // before the scatter is done it is no target, and it is topped up once the scatter is.
            CompletableFuture<String> joining = CompletableFuture.supplyAsync(cluster::addExecutor);
            Ref<double[]> shared = q.scatter(values, Scatter.broadcast());
            String added = joining.get(60, TimeUnit.SECONDS);
            await().atMost(WAIT).untilAsserted(() ->
                    assertThat(shared.locations()).containsExactlyInAnyOrder("exec-1", "exec-2", added));
            List<Ref<Double>> refs = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                int k = i;
                refs.add(q.submit(d -> d[k] + d.length, shared));
            }
            assertThat(q.gather(refs)).hasSize(12).allSatisfy(r -> assertThat(r).isGreaterThanOrEqualTo(values.length));
        }
    }

    @Test
    void executorsThatLeaveShrinkABroadcastsLocationsAndTheOthersServe() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2));
             Quiver q = cluster.connect()) {
            Ref<double[]> shared = q.scatter(data(1024), Scatter.broadcast());
            String third = cluster.addExecutor();
            await().atMost(WAIT).until(() -> shared.locations().size() == 3);

            cluster.stopExecutor("exec-1"); // a clean leave
            await().atMost(WAIT).untilAsserted(() ->
                    assertThat(shared.locations()).containsExactlyInAnyOrder("exec-2", third));
            cluster.killExecutor("exec-2"); // a crash
            await().atMost(WAIT).untilAsserted(() -> assertThat(shared.locations()).containsExactly(third));
            assertThat(cluster.executorIds()).containsExactly(third);

            assertThat(q.submit(d -> d.length + ":" + where(), shared).result(WAIT)).isEqualTo("1024:" + third);
            // And one more joins the lone survivor: it gets the copy from there.
            String fourth = cluster.addExecutor();
            await().atMost(WAIT).untilAsserted(() ->
                    assertThat(shared.locations()).containsExactlyInAnyOrder(third, fourth));
        }
    }

    @Test
    void tasksOverAValueScatteredOnOneExecutorAllRunThereWhileBroadcastReadersSpread() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2));
             Quiver q = cluster.connect()) {
            double[] values = data(512 * 1024); // 4 MiB
            Ref<double[]> onSecond = q.scatter(values, Scatter.on("exec-2"));
            assertThat(onSecond.locations()).containsExactly("exec-2");
            List<Ref<String>> refs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                int k = i;
                refs.add(q.submit(d -> d[k] >= 0 ? where() : "?", onSecond));
            }
            assertThat(q.gather(refs)).hasSize(20).containsOnly("exec-2");
            assertThat(refs).allSatisfy(r -> assertThat(r.locations()).containsExactly("exec-2"));
            assertThat(onSecond.locations()).as("never copied elsewhere").containsExactly("exec-2");

            Ref<double[]> everywhere = q.scatter(values, Scatter.broadcast());
            List<Ref<String>> spread = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                int k = i;
                spread.add(q.submit(d -> d[k] >= 0 ? slowWhere(50) : "?", everywhere));
            }
            assertThat(new HashSet<>(q.gather(spread))).containsExactlyInAnyOrder("exec-1", "exec-2");
        }
    }

    @Test
    void aValueScatteredOnAnExecutorThatLeavesIsLostForItsReaders() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2));
             Quiver q = cluster.connect()) {
            Ref<double[]> onFirst = q.scatter(data(1024), Scatter.on("exec-1"));
            assertThat(q.submit(d -> where(), onFirst).result(WAIT)).isEqualTo("exec-1");
            cluster.stopExecutor("exec-1");
            await().atMost(WAIT).until(() -> !ids(q).contains("exec-1"));
            assertThatThrownBy(() -> q.submit(d -> d.length, onFirst).result(WAIT))
                    .isInstanceOf(io.quiver.DataLostException.class).hasMessageContaining("exec-1");
        }
    }

    @Test
    void addExecutorOnAClosedClusterSaysSo() {
        LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(1));
        cluster.close();
        assertThatThrownBy(cluster::addExecutor).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("addExecutor needs a started cluster");
        assertThatThrownBy(() -> cluster.stopExecutor("exec-1")).isInstanceOf(IllegalStateException.class);
    }
}
