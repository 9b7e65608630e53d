package io.quiver.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.quiver.DataLostException;
import io.quiver.ExecutorInfo;
import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.local.LocalCluster;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Things really die (executors, the leader) or misbehave (garbage on ports); nothing is lost. */
class FailuresTest {

    static int slowSquare(int x) throws InterruptedException {
        Thread.sleep(200);
        return x * x;
    }

    @Test
    void tasksOfAKilledExecutorRunAgainElsewhere() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2));
             Quiver q = cluster.connect()) {
            List<Integer> items = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                items.add(i);
            }
            List<Ref<Integer>> refs = q.map(FailuresTest::slowSquare, items);
            String victim = cluster.executorIds().get(0);
            await().atMost(Duration.ofSeconds(10)).until(() -> refs.stream().anyMatch(Ref::isDone));
            cluster.killExecutor(victim);

            List<Integer> results = q.gather(refs);
            for (int i = 0; i < 20; i++) {
                assertThat(results.get(i)).isEqualTo(i * i);
            }
            await().atMost(Duration.ofSeconds(15)).until(() -> q.cluster().executors().size() == 1);
            assertThat(q.cluster().executors()).extracting(ExecutorInfo::id).doesNotContain(victim);
            assertThat(q.submit(() -> "still works").result()).isEqualTo("still works");
        }
    }

    @Test
    void singleCopyDataOfAKilledExecutorIsLostButBroadcastSurvives() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2));
             Quiver q = cluster.connect()) {
            String victim = cluster.executorIds().get(0);
            Ref<int[]> single = q.scatter(new int[] {1, 2, 3}, Scatter.on(victim));
            Ref<int[]> everywhere = q.scatter(new int[] {4, 5, 6}, Scatter.broadcast());
            assertThat(everywhere.locations()).contains(victim).hasSize(2);
            cluster.killExecutor(victim);
            await().atMost(Duration.ofSeconds(15)).until(() -> q.cluster().executors().size() == 1);
            // API.md section 5: locations() drops an executor once the leader has declared it lost.
            await().atMost(Duration.ofSeconds(15)).until(() -> !everywhere.locations().contains(victim));
            assertThat(everywhere.locations()).hasSize(1);

            assertThatThrownBy(() -> q.submit(a -> a.length, single).result(Duration.ofSeconds(30)))
                    .isInstanceOf(DataLostException.class).hasMessageContaining(victim);
            assertThat(q.submit(a -> a[0] + a[1] + a[2], everywhere).result(Duration.ofSeconds(30))).isEqualTo(15);
        }
    }

    @Test
    void garbageSentToTheLeaderAndAnExecutorDoesNotDisturbARunningJob() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2));
             Quiver q = cluster.connect()) {
            List<Integer> items = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                items.add(i);
            }
            List<Ref<Integer>> refs = q.map(FailuresTest::slowSquare, items);

            ExecutorInfo exec = q.cluster().executors().get(0);
            int leaderPort = leaderPort(cluster);
            byte[][] garbage = {
                    {0x7f, 0x7f, 0x7f, 0x7f, 1, 2, 3},
                    "GET / HTTP/1.1\r\n\r\n".getBytes(),
                    {0, 0, 0, 5, 2, 0, 0, 0, 9}};
            for (int port : new int[] {leaderPort, exec.port()}) {
                for (byte[] g : garbage) {
                    try (Socket s = new Socket("127.0.0.1", port)) {
                        OutputStream out = s.getOutputStream();
                        out.write(g);
                        out.flush();
                        s.setSoTimeout(15_000);
                        while (s.getInputStream().read() >= 0) {
                            // until the peer closes it
                        }
                    }
                }
            }
            List<Integer> results = q.gather(refs);
            for (int i = 0; i < 30; i++) {
                assertThat(results.get(i)).isEqualTo(i * i);
            }
            assertThat(q.cluster().executors()).hasSize(2);
        }
    }

    static int leaderPort(LocalCluster cluster) throws Exception {
        String url = cluster.zkConnectString();
        io.quiver.core.zk.ClusterUrl parsed = io.quiver.core.zk.ClusterUrl.parse(url);
        try (var zk = io.quiver.core.zk.Zk.start(parsed, 10_000)) {
            return LeaderRecord.parse(zk.getData().forPath(io.quiver.core.zk.ZkPaths.LEADER)).port();
        }
    }

    @Test
    void aStandbyTakesOverWithABumpedEpochAndNewWorkSucceeds() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2).coordinators(2));
             Quiver q = cluster.connect()) {
            assertThat(q.submit(() -> 1).result()).isEqualTo(1);
            long epoch = q.cluster().epoch();
            String oldLeader = cluster.leaderId();

            cluster.killLeader();

            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() ->
                    !cluster.leaderId().equals(oldLeader) && q.cluster().executors().size() == 2);
            assertThat(q.cluster().epoch()).isGreaterThan(epoch);
            assertThat(q.cluster().leaderId()).isNotEqualTo(oldLeader);
            Ref<double[]> data = q.scatter(new double[] {1, 2}, Scatter.broadcast());
            assertThat(q.submit(d -> d[0] + d[1], data).result(Duration.ofSeconds(30))).isEqualTo(3.0);
        }
    }

    @Test
    void aClientWithoutTheSecretIsRefused() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(1).secret("sesame"));
             Quiver q = cluster.connect()) {
            assertThat(q.submit(() -> "in").result()).isEqualTo("in");
            System.setProperty("quiver.connectTimeoutMs", "3000");
            try {
                assertThatThrownBy(() -> Quiver.connect(cluster.zkConnectString()).close())
                        .isInstanceOf(QuiverException.class).hasMessageContaining("secret");
            } finally {
                System.clearProperty("quiver.connectTimeoutMs");
            }
        }
    }

    @Test
    void localUrlStartsAnOwnedCluster() {
        try (Quiver q = Quiver.connect("local[2]")) {
            assertThat(q.cluster().executors()).hasSize(2);
            assertThat(q.gather(q.map(x -> x + 1, List.of(1, 2, 3)))).containsExactly(2, 3, 4);
        }
    }

    static final java.util.concurrent.atomic.AtomicInteger RUNS = new java.util.concurrent.atomic.AtomicInteger();

    @Test
    void aRefPendingAcrossALeaderChangeCompletesWithItsValueAndItsTaskRunsOnce() {
        RUNS.set(0);
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(1).coordinators(2));
             Quiver q = cluster.connect()) {
            Ref<Integer> done = q.submit(() -> RUNS.incrementAndGet() * 0 + 7);
            assertThat(done.result()).isEqualTo(7);
            Ref<Integer> pending = q.submit(() -> {
                RUNS.incrementAndGet();
                Thread.sleep(2_000);
                return 1;
            });
            await().atMost(Duration.ofSeconds(10)).until(() -> RUNS.get() == 2);
            long epoch = q.cluster().epoch();
            cluster.killLeader();
            // API.md section 5: the client waits for the next leader and sends it the pending task; the
            // executor goes on running it and the new leader adopts its result.
            assertThat(pending.result(Duration.ofSeconds(60))).isEqualTo(1);
            assertThat(done.result()).as("a ref done before the change stays readable").isEqualTo(7);
            assertThat(RUNS.get()).as("no task ran twice").isEqualTo(2);
            assertThat(q.cluster().epoch()).isGreaterThan(epoch);
        }
    }

    /** Holds the reduce stage of a job until the test has killed an executor under it. */
    static final class ReduceGate {
        static volatile java.util.concurrent.CountDownLatch reached = new java.util.concurrent.CountDownLatch(1);
        static volatile java.util.concurrent.CountDownLatch proceed = new java.util.concurrent.CountDownLatch(1);

        static long pass(long v) throws InterruptedException {
            reached.countDown();
            proceed.await(20, java.util.concurrent.TimeUnit.SECONDS);
            return v;
        }
    }

    @Test
    void anExecutorKilledInTheReduceStageIsRecomputedFromLineageAndTheNextJobRuns() throws Exception {
        ReduceGate.reached = new java.util.concurrent.CountDownLatch(1);
        ReduceGate.proceed = new java.util.concurrent.CountDownLatch(1);
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(3));
             Quiver q = cluster.connect()) {
            java.util.concurrent.CompletableFuture<java.util.Map<Integer, Long>> job =
                    java.util.concurrent.CompletableFuture.supplyAsync(() -> q.range(0, 300_000, 12)
                            .mapToPair(i -> io.quiver.KV.of((int) (i % 100), 1L))
                            .reduceByKey(Long::sum)
                            .mapValues(ReduceGate::pass)
                            .collectAsMap());
            assertThat(ReduceGate.reached.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            // Map outputs live on every executor; reduce tasks are running. Kill one under them.
            cluster.killExecutor(cluster.executorIds().get(0));
            ReduceGate.proceed.countDown();

            java.util.Map<Integer, Long> counts = job.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(counts).hasSize(100).allSatisfy((k, v) -> assertThat(v).isEqualTo(3_000L));
            // The next job runs (after the loss it used to hang).
            assertThat(q.range(0, 1_000, 4).mapToPair(i -> io.quiver.KV.of((int) (i % 10), i))
                    .reduceByKey(Long::sum).collectAsMap()).hasSize(10);
        }
    }
}
