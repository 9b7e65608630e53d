package io.quiver.coordinator.sched;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.RefId;
import io.quiver.coordinator.sched.SchedulerTest.RecordingLink;
import io.quiver.core.plan.Action;
import io.quiver.core.plan.LogicalNode;
import io.quiver.core.plan.LogicalPlan;
import io.quiver.core.protocol.JobRefs;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.TaskLaunch;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.protocol.Message.TaskResults;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A shuffle of M map tasks into R reduce tasks, driven through the scheduler's state machine as
 * its loop would: the leader keeps one dependency per map stage (M + R edges, not M x R), a reduce
 * task is launched with only the map outputs that wrote rows for its bucket, and a lost map output
 * is recomputed from lineage while the reduce tasks that read it wait for it.
 */
class ShuffleDependencyTest {
    private static final long MIB = 1 << 20;
    private static final int M = 60;
    private static final int R = 50;
    /** Map task i writes rows only to bucket i % BUSY: buckets BUSY..R-1 stay empty. */
    private static final int BUSY = 5;

    final List<SchedulerEvent> timers = new ArrayList<>();
    Scheduler scheduler;
    RecordingLink client;
    RecordingLink exec1;
    RecordingLink exec2;
    RefId job;
    byte[] plan;
    List<RefId> results;

    @BeforeEach
    void setUp() {
        scheduler = new Scheduler("leader-1", 7, () -> 0L, (delay, e) -> timers.add(e));
        client = new RecordingLink();
        scheduler.handle(new SchedulerEvent.ClientConnected("c", client));
        exec1 = register("e1");
        exec2 = register("e2");
        LogicalPlan.Builder b = LogicalPlan.builder();
        byte[] stageFn = {7, 7, 7};
        int n = b.add(LogicalNode.range(0, 8L * M, M));
        n = b.add(LogicalNode.narrow(LogicalNode.Kind.MAP_TO_PAIR, n, stageFn));
        n = b.add(LogicalNode.reduceByKey(n, stageFn, R));
        job = new RefId(1, 100);
        plan = b.build(n, Action.collect()).toBytes();
        JobPlanning.Planned planned = JobPlanning.plan("c", new Message.SubmitJob(1, job, plan, false),
                scheduler.view());
        scheduler.handle(planned.event());
        scheduler.afterBatch();
        results = client.last(Message.JobReply.class).results();
    }

    private RecordingLink register(String id) {
        RecordingLink link = new RecordingLink();
        scheduler.handle(new SchedulerEvent.ExecutorRegistered(id, link, new Register("127.0.0.1",
                1000 + id.hashCode() % 1000, 1, 512 * MIB, 0, List.of(), List.of(), List.of())));
        return link;
    }

    private RefId mapOutput(int i) {
        return JobRefs.ref(job, i);
    }

    private static int index(RefId ref) {
        return (int) (ref.seq() & (JobRefs.MAX_REFS - 1));
    }

    private static boolean isMap(TaskLaunch t) {
        return index(t.outs().get(0)) < M;
    }

    private static List<RefId> refArgs(TaskLaunch t) {
        return t.args().stream().filter(Arg::isRef).map(Arg::ref).toList();
    }

    /** The map outputs holding rows for reduce partition {@code j}. */
    private List<RefId> writersOf(int j) {
        return IntStream.range(0, M).filter(i -> i % BUSY == j).mapToObj(this::mapOutput).toList();
    }

    /**
     * Answers the launches on {@code link} from {@code from} on (only map tasks if {@code mapsOnly}),
     * each with its output: a map output with rows in bucket {@code i % BUSY} alone. Returns the index
     * of the first launch left unanswered.
     */
    private int answer(RecordingLink link, String id, int from, boolean mapsOnly) {
        List<TaskLaunch> all = link.launches();
        List<TaskResult> done = new ArrayList<>();
        int next = from;
        for (; next < all.size(); next++) {
            TaskLaunch t = all.get(next);
            if (mapsOnly && !isMap(t)) {
                break;
            }
            RefId out = t.outs().get(0);
            int[] rows = null;
            if (isMap(t)) {
                rows = new int[R];
                rows[index(out) % BUSY] = 3;
            }
            done.add(new TaskResult(out, 1000, List.of(new BlockInfo(out, 64, rows)), null, null));
        }
        scheduler.handle(new SchedulerEvent.TasksFinished(id, link, new TaskResults(done, 0)));
        scheduler.afterBatch();
        return next;
    }

    private List<TaskLaunch> reduceLaunches(List<TaskLaunch> launches) {
        return launches.stream().filter(t -> !isMap(t)).toList();
    }

    private void runToTheEnd(int answered1, int answered2) {
        for (int round = 0; round < 4 * (M + R)
                && (answered1 < exec1.launches().size() || answered2 < exec2.launches().size()); round++) {
            answered1 = answer(exec1, "e1", answered1, false);
            answered2 = answer(exec2, "e2", answered2, false);
        }
        assertThat(client.done()).filteredOn(d -> results.contains(d.ref()))
                .as("every result is done, none failed").hasSize(R).allSatisfy(d -> assertThat(d.failure()).isNull());
    }

    @Test
    void theLeaderKeepsOneEdgePerTaskAndAReduceTaskReadsOnlyTheBucketsWrittenForIt() {
        assertThat(results).hasSize(R);
        for (int i = 0; i < M; i++) {
            assertThat(scheduler.blocks.get(mapOutput(i)).waiters()).as("readers of map output %d", i).hasSize(1);
        }
        for (RefId r : results) {
            assertThat(scheduler.tasks.get(r).inputs).as("inputs of reduce task %s", r).hasSize(1);
        }

        runToTheEnd(0, 0);

        List<TaskLaunch> reduces = new ArrayList<>(reduceLaunches(exec1.launches()));
        reduces.addAll(reduceLaunches(exec2.launches()));
        assertThat(reduces).hasSize(R);
        for (TaskLaunch t : reduces) {
            int j = index(t.outs().get(0)) - M;
            assertThat(refArgs(t)).as("map outputs reduce partition %d is launched with", j).isEqualTo(writersOf(j));
        }
        // Consumed: the map outputs and the dependency are gone; the held results and their tasks stay.
        assertThat(scheduler.blockCount()).isEqualTo(R);
        assertThat(scheduler.taskCount()).isEqualTo(R);

        scheduler.handle(new SchedulerEvent.RefsReleased("c", results));
        scheduler.afterBatch();
        assertThat(scheduler.blockCount()).isZero();
        assertThat(scheduler.taskCount()).isZero();
        assertThat(scheduler.jobCount()).isZero();
    }

    /**
     * After a leader change the map outputs are adopted from the executors' inventories, with the
     * row summaries they kept: the new leader launches each reduce task with only the map outputs
     * that hold rows for it, as the first leader would have, and reruns no map task.
     */
    @Test
    void aNewLeaderAdoptsTheMapOutputsWithTheirSummariesAndLaunchesReduceTasksWithOnlyTheirWriters() {
        List<BlockInfo> held1 = new ArrayList<>();
        List<BlockInfo> held2 = new ArrayList<>();
        for (int i = 0; i < M; i++) {
            int[] rows = new int[R];
            rows[i % BUSY] = 3;
            (i % 2 == 0 ? held1 : held2).add(new BlockInfo(mapOutput(i), 64, rows));
        }
        Scheduler next = new Scheduler("leader-2", 8, () -> 0L, (delay, e) -> { });
        RecordingLink next1 = new RecordingLink();
        RecordingLink next2 = new RecordingLink();
        next.handle(new SchedulerEvent.ExecutorRegistered("e1", next1, new Register("127.0.0.1", 1001, 1, 512 * MIB, 0,
                held1, List.of(), List.of())));
        next.handle(new SchedulerEvent.ExecutorRegistered("e2", next2, new Register("127.0.0.1", 1002, 1, 512 * MIB, 0,
                held2, List.of(), List.of())));
        next.handle(new SchedulerEvent.ClientConnected("c", new RecordingLink()));
        next.handle(JobPlanning.plan("c", new Message.SubmitJob(1, job, plan, false), next.view()).event());
        next.afterBatch();

        List<TaskLaunch> launches = new ArrayList<>(next1.launches());
        launches.addAll(next2.launches());
        assertThat(launches).as("no map task runs again").noneMatch(ShuffleDependencyTest::isMap);
        assertThat(launches).as("a reduce task launched").isNotEmpty();
        for (TaskLaunch t : launches) {
            int j = index(t.outs().get(0)) - M;
            assertThat(refArgs(t)).as("map outputs reduce partition %d is launched with", j).isEqualTo(writersOf(j));
        }
    }

    @Test
    void aLostMapOutputRunsAgainAndTheReduceTasksThatReadItWaitForIt() {
        // Every map task finishes; no reduce task is answered yet.
        int answered1 = 0;
        int answered2 = 0;
        for (int round = 0; round < 4 * M; round++) {
            answered1 = answer(exec1, "e1", answered1, true);
            answered2 = answer(exec2, "e2", answered2, true);
            boolean mapsDone = IntStream.range(0, M).allMatch(i -> scheduler.blocks.get(mapOutput(i)).done);
            if (mapsDone) {
                break;
            }
        }
        Set<RefId> onE1 = new HashSet<>();
        for (TaskLaunch t : exec1.launches()) {
            if (isMap(t)) {
                onE1.add(t.outs().get(0));
            }
        }
        assertThat(onE1).as("map outputs only e1 holds").isNotEmpty();
        int before2 = exec2.launches().size();

        scheduler.handle(new SchedulerEvent.ExecutorLinkClosed("e1", exec1));
        scheduler.handle(lastGrace("e1"));
        scheduler.afterBatch();

        List<TaskLaunch> after = exec2.launches().subList(before2, exec2.launches().size());
        assertThat(after).filteredOn(ShuffleDependencyTest::isMap).extracting(t -> t.outs().get(0))
                .as("the lost map outputs run again on e2").containsExactlyInAnyOrderElementsOf(onE1);
        for (TaskLaunch t : reduceLaunches(after)) {
            assertThat(refArgs(t)).as("a reduce task launched before its lost inputs are back").doesNotContainAnyElementsOf(onE1);
        }

        int answeredAfter = exec2.launches().size();
        // Reduce tasks launched on e2 before the loss finish there (they had fetched what they read).
        runToTheEnd(exec1.launches().size(), answered2);
        List<TaskLaunch> relaunched = reduceLaunches(exec2.launches().subList(answeredAfter, exec2.launches().size()));
        assertThat(relaunched).as("e1's reduce tasks, placed again once their inputs are back").isNotEmpty();
        for (TaskLaunch t : relaunched) {
            int j = index(t.outs().get(0)) - M;
            assertThat(refArgs(t)).as("map outputs reduce partition %d is launched with", j).isEqualTo(writersOf(j));
            for (Arg a : t.args()) {
                if (a.isRef()) {
                    assertThat(a.locations()).extracting(Message.Peer::id).as("where %s is", a.ref()).containsExactly("e2");
                }
            }
        }
        assertThat(client.done()).filteredOn(d -> d.failure() != null).as("failed refs").isEmpty();
    }

    private SchedulerEvent.ExecutorGraceExpired lastGrace(String executor) {
        for (int i = timers.size() - 1; i >= 0; i--) {
            if (timers.get(i) instanceof SchedulerEvent.ExecutorGraceExpired g && g.executor().equals(executor)) {
                return g;
            }
        }
        throw new AssertionError("no grace timer for " + executor + " in " + timers);
    }
}
