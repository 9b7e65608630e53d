package io.quiver.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.ClusterInfo;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The futures API end to end on a real embedded cluster: ZooKeeper, a leader, 2 executors, Netty on loopback. */
class PreScatterWorkflowTest {
    static LocalCluster cluster;
    static Quiver q;

    @BeforeAll
    static void start() {
        cluster = LocalCluster.start(LocalCluster.options().executors(2).slotsPerExecutor(2).executorMemory(256L << 20));
        q = cluster.connect();
    }

    @AfterAll
    static void stop() {
        if (q != null) {
            q.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    static double[] array(int mib) {
        double[] d = new double[mib * (1 << 20) / 8];
        for (int i = 0; i < d.length; i++) {
            d[i] = i % 97;
        }
        return d;
    }

    static double slice(double[] d, int k, int n) {
        int per = d.length / n;
        double s = 0;
        for (int i = k * per; i < (k + 1) * per; i++) {
            s += d[i];
        }
        return s + k;
    }

    @Test
    void twoHundredSubmitsOverOneBroadcastAreCorrectAndEachExecutorDecodesItOnce() {
        double[] data = array(32);
        Ref<double[]> pinned = q.scatter(data, Scatter.broadcast());
        assertThat(pinned.locations()).containsExactlyInAnyOrderElementsOf(cluster.executorIds());
        assertThat(pinned.sizeBytes()).isGreaterThanOrEqualTo(32L << 20);

        List<Ref<Double>> refs = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int k = i;
            refs.add(q.submit(d -> slice(d, k, 200), pinned));
        }
        List<Double> results = q.gather(refs);

        for (int i = 0; i < 200; i++) {
            assertThat(results.get(i)).isEqualTo(slice(data, i, 200));
        }
        Set<String> ranOn = new HashSet<>();
        refs.forEach(r -> ranOn.addAll(r.locations()));
        assertThat(ranOn).as("both executors did work").hasSize(2);
        for (String id : cluster.executorIds()) {
            assertThat(cluster.executor(id).stats().deserializations(pinned.id()))
                    .as("decodes of the broadcast on %s", id).isEqualTo(1);
        }
        refs.forEach(Ref::close);
        pinned.close();
    }

    @Test
    void tasksOverDataScatteredOnOneExecutorRunThere() {
        // A cluster of its own: placement weighs recent task times, which other tests would skew.
        try (LocalCluster own = LocalCluster.start(LocalCluster.options().executors(2).slotsPerExecutor(2));
             Quiver q = own.connect()) {
            tasksRunWhereTheirDataIs(own, q);
        }
    }

    private static void tasksRunWhereTheirDataIs(LocalCluster cluster, Quiver q) {
        String target = cluster.executorIds().get(1);
        // 16 MiB: moving it costs more than waiting behind the queue there, so tasks go to it.
        int[] values = new int[4 << 20];
        values[0] = 1;
        values[1] = 2;
        values[2] = 3;
        Ref<int[]> data = q.scatter(values, Scatter.on(target));
        assertThat(data.locations()).containsExactly(target);
        List<Ref<Integer>> refs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            int k = i;
            refs.add(q.submit(a -> a[k % 3] * 10, data));
        }
        assertThat(q.gather(refs)).hasSize(20).contains(10, 20, 30);
        for (Ref<Integer> r : refs) {
            assertThat(r.locations()).containsExactly(target);
        }
    }

    @Test
    void aChainOfThreeHundredDependentSubmits() {
        Ref<Long> prev = q.submit(() -> 0L);
        for (int i = 1; i < 300; i++) {
            prev = q.submit(x -> x + 1, prev);
        }
        assertThat(prev.result(Duration.ofSeconds(60))).isEqualTo(299L);
    }

    @Test
    void functionsOfTwoAndThreeRefsAndMapWithAndWithoutSharedInput() {
        Ref<Integer> a = q.scatter(2);
        Ref<Integer> b = q.scatter(3, Scatter.replicas(2));
        assertThat(b.locations()).hasSize(2);
        Ref<String> c = q.submit(() -> "x");
        assertThat(q.submit((x, y) -> x * y, a, b).result()).isEqualTo(6);
        assertThat(q.submit((x, y, z) -> z + (x + y), a, b, c).result()).isEqualTo("x5");

        List<Ref<Integer>> squares = q.map(x -> x * x, List.of(1, 2, 3, 4));
        assertThat(q.gather(squares)).containsExactly(1, 4, 9, 16);
        List<Ref<Integer>> scaled = q.map((x, k) -> x * k, List.of(1, 2, 3), b);
        assertThat(q.gather(scaled)).containsExactly(3, 6, 9);
    }

    @Test
    void largeMapItemsTravelAsBlocksAndSmallOnesInline() {
        byte[] big = new byte[3 << 20];
        big[big.length - 1] = 7;
        List<Ref<Integer>> refs = q.map(b -> b.length + b[b.length - 1], List.of(big, new byte[] {1, 2}));
        assertThat(q.gather(refs)).containsExactly((3 << 20) + 7, 4);
    }

    @Test
    void largeResultsAreFetchedFromExecutorsAndNullsSurvive() {
        Ref<double[]> big = q.submit(() -> new double[1 << 18]);
        assertThat(big.result()).hasSize(1 << 18);
        assertThat(big.sizeBytes()).isGreaterThan(2L << 20);
        assertThat(big.locations()).hasSize(1);
        Ref<Object> nothing = q.submit(() -> null);
        assertThat(nothing.result()).isNull();
        assertThat(q.scatter(null).result()).isNull();
    }

    @Test
    void asCompletedYieldsRefsInCompletionOrder() {
        Ref<String> slow = q.submit(() -> {
            Thread.sleep(1_000);
            return "slow";
        });
        Ref<String> fast = q.submit(() -> "fast");
        List<String> order = new ArrayList<>();
        for (Ref<String> r : q.asCompleted(List.of(slow, fast))) {
            order.add(r.result());
        }
        assertThat(order).containsExactly("fast", "slow");
        assertThat(slow.toCompletableFuture().join()).isEqualTo("slow");
        assertThat(slow.isDone()).isTrue();
    }

    @Test
    void closingRefsFreesExecutorMemory() {
        Ref<byte[]> block = q.scatter(new byte[16 << 20]);
        String holder = block.locations().iterator().next();
        long withBlock = usedMemory(holder);
        assertThat(withBlock).isGreaterThanOrEqualTo(16 << 20);
        block.close();
        block.close(); // idempotent
        await().atMost(Duration.ofSeconds(10)).until(() -> usedMemory(holder) <= withBlock - (16 << 20));
    }

    @Test
    void unreachableRefsAreReleasedToo() {
        String holder = q.scatter(new byte[8 << 20]).locations().iterator().next(); // the ref is dropped
        long withBlock = usedMemory(holder);
        assertThat(withBlock).isGreaterThanOrEqualTo(8 << 20);
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            System.gc();
            return usedMemory(holder) <= withBlock - (8 << 20);
        });
    }

    @Test
    void clusterInfoListsTheExecutors() {
        ClusterInfo info = q.cluster();
        assertThat(info.leaderId()).isEqualTo(cluster.leaderId());
        assertThat(info.epoch()).isPositive();
        assertThat(info.executors()).extracting(ExecutorInfo::id).containsExactlyInAnyOrderElementsOf(cluster.executorIds());
        assertThat(info.executors()).allSatisfy(e -> {
            assertThat(e.slots()).isEqualTo(2);
            assertThat(e.memoryLimit()).isEqualTo(256L << 20);
            assertThat(e.port()).isPositive();
        });
    }

    static long usedMemory(String executor) {
        return q.cluster().executors().stream().filter(e -> e.id().equals(executor))
                .mapToLong(ExecutorInfo::memoryUsed).sum();
    }
}
