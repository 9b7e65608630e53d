package io.quiver.process;

import static org.awaitility.Awaitility.await;

import io.quiver.KV;
import io.quiver.Quiver;
import io.quiver.Ref;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 6: {@code kill -9} of an executor in the map stage, and in another run in the reduce stage, of
 * a 5,000,000-row reduceByKey on 3 executors: the right answer both times (lost shuffle outputs are
 * recomputed from lineage), and the next job runs within a bounded wait. Markers from a
 * {@code mapPartitions} in each stage tell when the stage runs and, by their pid, which executor ran
 * what, so the victim always holds outputs that the job still needs.
 */
class ExecutorKillShuffleIT {
    static final long ROWS = 5_000_000;
    static final int PARTITIONS = 12;
    static final int KEYS = 1_000;
    static final long STAGE_MILLIS = 250;
    static final Duration JOB_WAIT = Duration.ofSeconds(90);

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void killInTheMapStage() {
        run("map");
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void killInTheReduceStage() {
        run("reduce");
    }

    private static void run(String stage) {
        String name = "ExecutorKillShuffleIT-" + stage;
        try (TestingProcessCluster cluster = TestingProcessCluster.builder(name).coordinators(1).executors(3)
                .slotsPerExecutor(1).executorMemory(128L << 20).start();
             Quiver q = cluster.connect()) {
            String markers = cluster.markers().dir();
            long startedAt = System.nanoTime();
            Ref<List<KV<Integer, Long>>> job = q.range(0, ROWS, PARTITIONS)
                    .mapPartitions(it -> TestingTasks.markRange(markers, "map", it, STAGE_MILLIS))
                    .mapToPair(x -> KV.of((int) (x % KEYS), x % 7))
                    .reduceByKey(Long::sum)
                    .mapPartitions(it -> TestingTasks.markReduced(markers, "reduce", it, STAGE_MILLIS))
                    .collectAsync();

            // Map stage: once half the map tasks are through, kill the executor that ran most of them (the most
            // shuffle outputs lost). Reduce stage: kill the executor that wrote the first reduce marker (its
            // map outputs are still being fetched, its finished reduce output is lost).
            long enough = stage.equals("map") ? PARTITIONS / 2 : 1;
            await(enough + " " + stage + " marker(s)").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(2))
                    .until(() -> cluster.markers().count(stage + "-") >= enough || job.isDone());
            long victimPid = cluster.markers().list().stream().filter(m -> m.key().startsWith(stage + "-"))
                    .collect(Collectors.groupingBy(TestingMarkers.Marker::pid, Collectors.counting()))
                    .entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey)
                    .orElseThrow(() -> new AssertionError("the job ended before any " + stage + " marker"));
            String victim = cluster.idOfPid(victimPid);
            long mapsBefore = cluster.markers().count("map-");
            long reducesBefore = cluster.markers().count("reduce-");
            cluster.kill9(victim);

            TestingRefs.Outcome<List<KV<Integer, Long>>> outcome = TestingRefs.await(job, JOB_WAIT);
            long jobMillis = (System.nanoTime() - startedAt) / 1_000_000;
            Map<Integer, Long> got = new TreeMap<>();
            if (outcome.values().get(0) != null) {
                outcome.values().get(0).forEach(kv -> got.put(kv.key(), kv.value()));
            }
            Map<Integer, Long> expected = expected();
            long nextAt = System.nanoTime();
            TestingRefs.Outcome<List<KV<Integer, Long>>> next = TestingRefs.await(q.range(0, 1_000, 4)
                    .mapToPair(x -> KV.of((int) (x % 10), x)).reduceByKey(Long::sum).collectAsync(), Duration.ofSeconds(30));
            long nextMillis = (System.nanoTime() - nextAt) / 1_000_000;
            TestingRefs.Outcome<String> submit = TestingRefs.await(q.submit(() -> "next"), Duration.ofSeconds(30));
            System.out.printf("%s: killed %s (pid %d) with %d map and %d reduce markers written; job: %s after %d ms; "
                            + "answer %s (%d keys, %d differ); map runs %d, reduce runs %d; next job: %s in %d ms; "
                            + "a submit: %s%n",
                    name, victim, victimPid, mapsBefore, reducesBefore, outcome, jobMillis,
                    got.equals(expected) ? "right" : "WRONG", got.size(), differing(got, expected),
                    cluster.markers().count("map-"), cluster.markers().count("reduce-"), next, nextMillis, submit);

            SoftAssertions soft = new SoftAssertions();
            soft.assertThat(outcome.allOk()).as("the job completed: %s", outcome).isTrue();
            soft.assertThat(got).as("the answer").isEqualTo(expected);
            soft.assertThat(next.allOk()).as("the next job: %s", next).isTrue();
            soft.assertThat(submit.allOk()).as("a submit after: %s", submit).isTrue();
            soft.assertAll();
        }
    }

    static Map<Integer, Long> expected() {
        long[] sums = new long[KEYS];
        for (long x = 0; x < ROWS; x++) {
            sums[(int) (x % KEYS)] += x % 7;
        }
        Map<Integer, Long> m = new TreeMap<>();
        for (int k = 0; k < KEYS; k++) {
            m.put(k, sums[k]);
        }
        return m;
    }

    static long differing(Map<Integer, Long> got, Map<Integer, Long> expected) {
        return expected.entrySet().stream().filter(e -> !e.getValue().equals(got.get(e.getKey()))).count();
    }
}
