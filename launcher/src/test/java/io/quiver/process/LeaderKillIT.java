package io.quiver.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.core.zk.Records.LeaderRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 6: {@code kill -9} of the leader JVM during a 2,000-task job over a broadcast. Every value is
 * right, no task runs twice, none is lost, and each takeover (from the kill to the new {@code /leader}
 * record) takes at most the session timeout plus 2 s. Then with 3 coordinators and two kills in a row.
 */
class LeaderKillIT {
    static final int TASKS = 2_000;
    static final int BROADCAST_MIB = 4;
    static final long TASK_MILLIS = 4;
    static final Duration GATHER_WAIT = Duration.ofSeconds(60);

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void killOfTheLeaderMidJobLosesNothingAndRunsNothingTwice() {
        run("LeaderKillIT-one-kill", 2, 1);
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void threeCoordinatorsSurviveTwoKillsInARow() {
        run("LeaderKillIT-two-kills", 3, 2);
    }

    private static void run(String name, int coordinators, int kills) {
        try (TestingProcessCluster cluster = TestingProcessCluster.builder(name).coordinators(coordinators)
                .executors(2).slotsPerExecutor(2).executorMemory(64L << 20).start();
             Quiver q = cluster.connect()) {
            String markers = cluster.markers().dir();
            double[] data = TestingTasks.payload(BROADCAST_MIB);
            Ref<double[]> pinned = q.scatter(data, Scatter.broadcast());
            long epochBefore = cluster.epoch();

            List<Integer> items = IntStream.range(0, TASKS).boxed().toList();
            List<Ref<Long>> refs = q.map((i, d) -> TestingTasks.indexed(markers, "t", i, d, TASK_MILLIS), items, pinned);

            List<Long> takeovers = new ArrayList<>();
            long budget = cluster.sessionTimeoutMillis() + 2_000;
            for (int k = 1; k <= kills; k++) {
                // One kill: a third of the way in; two kills: a quarter and half of the way in. If the job has
                // ended early (every ref failed), kill anyway so that the takeover is still measured.
                long progress = TASKS * k / (kills + 2);
                await("progress before kill " + k).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5))
                        .until(() -> cluster.markers().count("t-") >= progress || refs.stream().allMatch(Ref::isDone));
                long ranBefore = cluster.markers().count("t-");
                long at = System.nanoTime();
                String old = cluster.killLeader9();
                // Measured with a bound well past the budget, so that a slow takeover is seen and printed.
                LeaderRecord next = cluster.awaitLeaderOtherThan(old, Duration.ofMillis(budget + 20_000));
                long millis = (System.nanoTime() - at) / 1_000_000;
                takeovers.add(millis);
                System.out.printf("%s: kill %d of %s after %d of %d tasks ran; %s leads with epoch %d after %d ms "
                        + "(budget %d ms)%n", name, k, old, ranBefore, TASKS, next.id(), next.epoch(), millis, budget);
            }

            TestingRefs.Outcome<Long> outcome = TestingRefs.await(refs, GATHER_WAIT);
            var dup = cluster.markers().duplicates();
            List<String> lost = cluster.markers().lost(IntStream.range(0, TASKS).mapToObj(i -> "t-" + i).toList());
            int wrong = 0;
            for (int i = 0; i < TASKS; i++) {
                Long v = outcome.values().get(i);
                if (v != null && v != TestingTasks.expected(i, data)) {
                    wrong++;
                }
            }
            System.out.printf("%s: %s; %d wrong values; markers: %d runs, %d keys ran twice %s, %d lost; takeovers %s ms%n",
                    name, outcome, wrong, cluster.markers().count("t-"), dup.size(), first(dup.keySet()), lost.size(),
                    takeovers);

            SoftAssertions soft = new SoftAssertions();
            soft.assertThat(outcome.failures()).as("failed refs (%s)", outcome.firstFailure()).isEmpty();
            soft.assertThat(outcome.pending()).as("refs still pending after %s", GATHER_WAIT).isZero();
            soft.assertThat(wrong).as("wrong values").isZero();
            soft.assertThat(dup).as("tasks that ran more than once").isEmpty();
            soft.assertThat(lost.size()).as("tasks that never ran (first: %s)", first(lost)).isZero();
            soft.assertThat(takeovers).as("takeover ms (kill to the new /leader), budget session %s + 2000",
                    cluster.sessionTimeoutMillis()).allMatch(ms -> ms <= budget);
            soft.assertThat(cluster.epoch()).as("epoch after %s kills", kills).isGreaterThanOrEqualTo(epochBefore + kills);
            soft.assertThatCode(() -> assertThat(q.cluster().epoch()).isEqualTo(cluster.epoch()))
                    .as("the client sees the new epoch").doesNotThrowAnyException();
            soft.assertAll();
        }
    }

    static <T> List<T> first(java.util.Collection<T> all) {
        return all.stream().limit(5).toList();
    }
}
