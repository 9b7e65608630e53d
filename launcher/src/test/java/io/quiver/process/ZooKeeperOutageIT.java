package io.quiver.process;

import static org.awaitility.Awaitility.await;

import io.quiver.ExecutorInfo;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 6: the single ZooKeeper server down for 30 s, past every session, during a job, then back on
 * the same port with the same data. The job completes with every value right, and every executor is
 * back in {@code q.cluster().executors()} with its blocks (a broadcast scattered before the outage
 * still lists every executor in {@code locations()} and feeds new tasks), without restarting them.
 */
class ZooKeeperOutageIT {
    static final Duration OUTAGE = Duration.ofSeconds(30);
    static final int TASKS = 600;
    static final long TASK_MILLIS = 40;

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aZooKeeperOutagePastTheSessionLosesNeitherTheJobNorTheExecutors() {
        try (TestingProcessCluster cluster = TestingProcessCluster.builder("ZooKeeperOutageIT").coordinators(1)
                .executors(2).slotsPerExecutor(2).start();
             Quiver q = cluster.connect()) {
            String markers = cluster.markers().dir();
            List<String> executors = cluster.executorIds();
            Map<String, Long> pids = executors.stream().collect(Collectors.toMap(id -> id, cluster::pid));
            double[] data = TestingTasks.payload(4);
            Ref<double[]> pinned = q.scatter(data, Scatter.broadcast());
            Set<String> before = pinned.locations();
            long epochBefore = cluster.epoch();

            List<Integer> items = IntStream.range(0, TASKS).boxed().toList();
            List<Ref<Long>> refs = q.map((i, d) -> TestingTasks.indexed(markers, "z", i, d, TASK_MILLIS), items, pinned);
            await("some tasks through").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5))
                    .until(() -> cluster.markers().count("z-") >= TASKS / 6 || refs.stream().allMatch(Ref::isDone));
            long ranBefore = cluster.markers().count("z-");

            cluster.stopZooKeeper();
            long downAt = System.nanoTime();
            // The outage lasts OUTAGE; meanwhile every process must stay up (nobody restarts them).
            await("the outage, every child alive").during(OUTAGE).atMost(OUTAGE.plusSeconds(5))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> cluster.liveExecutorIds().size() == executors.size()
                            && cluster.process("coord-1").isAlive());
            long ranDuring = cluster.markers().count("z-") - ranBefore;
            long doneAtEnd = refs.stream().filter(Ref::isDone).count();
            cluster.startZooKeeper();
            long outage = (System.nanoTime() - downAt) / 1_000_000;

            TestingRefs.Outcome<Long> outcome = TestingRefs.await(refs, Duration.ofSeconds(60));
            List<String> listed = List.of();
            long backAt = System.nanoTime();
            try {
                await("every executor back in cluster()").atMost(Duration.ofSeconds(30)).ignoreExceptions()
                        .until(() -> q.cluster().executors().stream().map(ExecutorInfo::id).sorted().toList(),
                                ids -> ids.containsAll(executors));
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                // measured below
            }
            long backMillis = (System.nanoTime() - backAt) / 1_000_000;
            Map<String, Long> memory = Map.of();
            try {
                List<ExecutorInfo> infos = q.cluster().executors();
                listed = infos.stream().map(ExecutorInfo::id).sorted().toList();
                memory = infos.stream().collect(Collectors.toMap(ExecutorInfo::id, ExecutorInfo::memoryUsed));
            } catch (RuntimeException e) {
                listed = List.of("cluster() failed: " + e);
            }
            Set<String> after = pinned.locations();
            TestingRefs.Outcome<Integer> overBroadcast = TestingRefs.await(q.submit(d -> d.length, pinned),
                    Duration.ofSeconds(30));
            long epochAfter = cluster.epoch();

            int wrong = 0;
            for (int i = 0; i < TASKS; i++) {
                Long v = outcome.values().get(i);
                if (v != null && v != TestingTasks.expected(i, data)) {
                    wrong++;
                }
            }
            var dup = cluster.markers().duplicates();
            List<String> lost = cluster.markers().lost(items.stream().map(i -> "z-" + i).toList());
            System.out.printf("ZooKeeperOutageIT: ZooKeeper down %d ms after %d of %d tasks ran (%d ran during it, %d "
                            + "refs done at its end); epoch %d -> %d; job: %s; %d wrong; dup %s; lost %d; cluster() "
                            + "lists %s (expected %s) %d ms after the job ended, memory used %s; broadcast locations "
                            + "%s -> %s; a task over it: %s%n",
                    outage, ranBefore, TASKS, ranDuring, doneAtEnd, epochBefore, epochAfter, outcome, wrong,
                    dup, lost.size(), listed, executors, backMillis, memory, before, after, overBroadcast);

            SoftAssertions soft = new SoftAssertions();
            soft.assertThat(outcome.allOk()).as("the job completed: %s", outcome).isTrue();
            soft.assertThat(wrong).as("wrong values").isZero();
            soft.assertThat(dup).as("tasks that ran more than once").isEmpty();
            soft.assertThat(lost.size()).as("tasks that never ran").isZero();
            soft.assertThat(listed).as("executors listed by cluster() after the outage").containsAll(executors);
            soft.assertThat(after).as("broadcast locations after the outage").containsAll(executors);
            for (String id : executors) {
                soft.assertThat(memory.getOrDefault(id, 0L)).as("memory used on %s after the outage (it holds the "
                        + "broadcast, %s bytes)", id, data.length * 8L).isGreaterThanOrEqualTo(data.length * 8L);
            }
            soft.assertThat(overBroadcast.allOk()).as("a task over the broadcast: %s", overBroadcast).isTrue();
            for (String id : executors) {
                soft.assertThat(cluster.process(id).isAlive()).as("%s still runs", id).isTrue();
                soft.assertThat(cluster.pid(id)).as("%s not restarted", id).isEqualTo(pids.get(id));
            }
            soft.assertAll();
        }
    }
}
