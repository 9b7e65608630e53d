package io.quiver.process;

import static org.awaitility.Awaitility.await;

import io.quiver.KV;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.core.zk.Records.LeaderRecord;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 6: a reduceByKey job in flight when the leader dies completes with the right answer, and its
 * finished map tasks do not run again. Each map task leaves a marker from a {@code mapPartitions} in
 * the map stage once its partition is through; the leader is killed once some have.
 */
class ReduceByKeyFailoverIT {
    static final long ROWS = 400_000;
    static final int PARTITIONS = 8;
    static final int KEYS = 100;
    static final long MAP_MILLIS = 500;

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void reduceByKeyInFlightSurvivesTheLeadersDeathAndRunsNoFinishedMapTaskAgain() {
        try (TestingProcessCluster cluster = TestingProcessCluster.builder("ReduceByKeyFailoverIT").coordinators(2)
                .executors(2).slotsPerExecutor(1).executorMemory(64L << 20).start();
             Quiver q = cluster.connect()) {
            String markers = cluster.markers().dir();
            Ref<List<KV<Integer, Long>>> job = q.range(0, ROWS, PARTITIONS)
                    .mapPartitions(it -> TestingTasks.markRange(markers, "map", it, MAP_MILLIS))
                    .mapToPair(x -> KV.of((int) (x % KEYS), x))
                    .reduceByKey(Long::sum)
                    .collectAsync();

            await("3 map tasks through").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5))
                    .until(() -> cluster.markers().count("map-") >= 3 || job.isDone());
            Map<String, Integer> finishedBefore = cluster.markers().runs("map-");
            long at = System.nanoTime();
            String old = cluster.killLeader9();
            LeaderRecord next = cluster.awaitLeaderOtherThan(old, Duration.ofMillis(cluster.sessionTimeoutMillis() + 20_000));
            long takeover = (System.nanoTime() - at) / 1_000_000;

            TestingRefs.Outcome<List<KV<Integer, Long>>> outcome = TestingRefs.await(job, Duration.ofSeconds(60));
            Map<Integer, Long> got = new TreeMap<>();
            List<KV<Integer, Long>> pairs = outcome.values().get(0);
            if (pairs != null) {
                pairs.forEach(kv -> got.put(kv.key(), kv.value()));
            }
            Map<String, Integer> mapRuns = cluster.markers().runs("map-");
            Map<String, Integer> rerunAfterFinish = new TreeMap<>();
            finishedBefore.keySet().forEach(k -> rerunAfterFinish.put(k, mapRuns.get(k)));
            rerunAfterFinish.values().removeIf(n -> n == 1);
            System.out.printf("ReduceByKeyFailoverIT: killed %s with %d of %d map tasks through %s; %s leads (epoch %d) "
                            + "after %d ms; job: %s; map runs %s; finished before the kill and run again: %s%n",
                    old, finishedBefore.size(), PARTITIONS, finishedBefore.keySet(), next.id(), next.epoch(), takeover,
                    outcome, mapRuns, rerunAfterFinish);

            SoftAssertions soft = new SoftAssertions();
            soft.assertThat(outcome.allOk()).as("the job completed: %s", outcome).isTrue();
            soft.assertThat(got).as("the answer").isEqualTo(expected());
            soft.assertThat(rerunAfterFinish).as("map tasks finished before the kill that ran again").isEmpty();
            soft.assertThat(cluster.markers().duplicates()).as("map tasks that ran more than once").isEmpty();
            soft.assertThat(mapRuns).as("every map partition ran").hasSize(PARTITIONS);
            soft.assertThat(takeover).as("takeover ms").isLessThanOrEqualTo(cluster.sessionTimeoutMillis() + 2_000L);
            soft.assertAll();
        }
    }

    static Map<Integer, Long> expected() {
        Map<Integer, Long> sums = new TreeMap<>();
        for (long x = 0; x < ROWS; x++) {
            sums.merge((int) (x % KEYS), x, Long::sum);
        }
        return sums;
    }
}
