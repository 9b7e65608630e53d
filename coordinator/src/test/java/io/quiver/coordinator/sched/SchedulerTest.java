package io.quiver.coordinator.sched;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.RefId;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.Launch;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RefsDone;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.Release;
import io.quiver.core.protocol.Message.RequestFailed;
import io.quiver.core.protocol.Message.ScatterPlan;
import io.quiver.core.protocol.Message.ScatterRequest;
import io.quiver.core.protocol.Message.StoredBlocks;
import io.quiver.core.protocol.Message.Submit;
import io.quiver.core.protocol.Message.TaskLaunch;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.protocol.Message.TaskResults;
import io.quiver.core.protocol.Message.TaskSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Drives the scheduler's state machine directly, as its loop would, with recording links in place
 * of connections: deterministic, no threads.
 */
class SchedulerTest {
    private static final long MIB = 1 << 20;

    /** Records what the scheduler sends to one peer. */
    static final class RecordingLink implements Link {
        final List<Message> sent = new ArrayList<>();
        boolean closed;

        @Override
        public void send(Message message) {
            sent.add(message);
        }

        @Override
        public void close() {
            closed = true;
        }

        List<TaskLaunch> launches() {
            List<TaskLaunch> out = new ArrayList<>();
            for (Message m : sent) {
                if (m instanceof Launch l) {
                    out.addAll(l.tasks());
                }
            }
            return out;
        }

        List<RefDone> done() {
            List<RefDone> out = new ArrayList<>();
            for (Message m : sent) {
                if (m instanceof RefsDone d) {
                    out.addAll(d.refs());
                }
            }
            return out;
        }

        <T extends Message> T last(Class<T> type) {
            for (int i = sent.size() - 1; i >= 0; i--) {
                if (type.isInstance(sent.get(i))) {
                    return type.cast(sent.get(i));
                }
            }
            throw new AssertionError("no " + type.getSimpleName() + " sent; sent " + sent);
        }
    }

    /** Timers the test fires by hand. */
    final List<SchedulerEvent> timers = new ArrayList<>();
    long now;
    Scheduler scheduler;
    RecordingLink client;
    RecordingLink exec1;
    RecordingLink exec2;
    long seq;

    @BeforeEach
    void setUp() {
        scheduler = new Scheduler("leader-1", 7, () -> now, (delay, e) -> timers.add(e));
        client = new RecordingLink();
        scheduler.handle(new SchedulerEvent.ClientConnected("c", client));
        exec1 = register("e1", 1, 512 * MIB);
        exec2 = register("e2", 1, 512 * MIB);
    }

    RecordingLink register(String id, int slots, long memory) {
        RecordingLink link = new RecordingLink();
        scheduler.handle(new SchedulerEvent.ExecutorRegistered(id, link, new Register("127.0.0.1", 1000 + id.hashCode() % 1000, slots, memory, 0, List.of(), List.of(), List.of())));
        return link;
    }

    /** What the coordinator does with a message from a peer. */
    void deliver(RecordingLink from, String peer, Message m) {
        if (from == client || peer.equals("c")) {
            scheduler.handle(WireEvents.fromClient(peer, m));
        } else {
            scheduler.handle(WireEvents.fromExecutor(peer, from, m));
        }
    }

    void lose(String id, RecordingLink link) {
        scheduler.handle(new SchedulerEvent.ExecutorLinkClosed(id, link));
        scheduler.handle(lastGrace(id));
    }

    RefId ref() {
        return new RefId(1, ++seq);
    }

    RefId submit(long fnId, RefId... inputs) {
        RefId out = ref();
        List<Arg> args = new ArrayList<>();
        for (RefId in : inputs) {
            args.add(Arg.ref(in));
        }
        deliver(client, "c", new Submit(List.of(new FnDef(fnId, new byte[] {1}, null)),
                List.of(new TaskSpec(out, fnId, args))));
        return out;
    }

    void finish(RecordingLink exec, String execId, RefId task, long size) {
        deliver(exec, execId, new TaskResults(List.of(new TaskResult(task, 10_000,
                List.of(new BlockInfo(task, size)), new byte[] {9}, null)), 0));
    }

    RefId scatterOn(String execId, RecordingLink execLink, long size) {
        RefId r = ref();
        deliver(client, "c", new ScatterRequest(1, r, size, (byte) 3, 1, List.of(execId)));
        scheduler.afterBatch();
        assertThat(client.last(ScatterPlan.class).targets()).extracting(Message.Peer::id).containsExactly(execId);
        deliver(execLink, execId, new StoredBlocks(List.of(new BlockInfo(r, size)), List.of(), size));
        scheduler.afterBatch();
        return r;
    }

    @Test
    void independentTasksSpreadOverExecutorsAndCompleteToTheClient() {
        List<RefId> outs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            outs.add(submit(i));
        }
        scheduler.afterBatch();
        assertThat(exec1.launches()).hasSize(5);
        assertThat(exec2.launches()).hasSize(5);

        for (TaskLaunch t : exec1.launches()) {
            finish(exec1, "e1", t.outs().get(0), 4);
        }
        scheduler.afterBatch();
        assertThat(client.done()).hasSize(5).allSatisfy(d -> {
            assertThat(d.failure()).isNull();
            assertThat(d.locations()).containsExactly("e1");
            assertThat(d.inline()).containsExactly(9);
        });
    }

    @Test
    void aBatchOfSubmitsBecomesOneLaunchPerExecutor() {
        for (int i = 0; i < 200; i++) {
            submit(i);
        }
        scheduler.afterBatch();
        assertThat(exec1.sent).filteredOn(m -> m instanceof Launch).hasSize(1);
        assertThat(exec2.sent).filteredOn(m -> m instanceof Launch).hasSize(1);
    }

    @Test
    void tasksGoWhereTheirLargeInputLives() {
        RefId data = scatterOn("e2", exec2, 256 * MIB);
        for (int i = 0; i < 4; i++) {
            submit(100 + i, data);
        }
        scheduler.afterBatch();
        assertThat(exec2.launches()).hasSize(4);
        assertThat(exec1.launches()).isEmpty();
        // The input's location travels with the task.
        assertThat(exec2.launches().get(0).args().get(0).locations()).extracting(Message.Peer::id).containsExactly("e2");
    }

    @Test
    void aChainIsSentAheadToTheExecutorProducingItsInput() {
        RefId prev = submit(0);
        List<RefId> chain = new ArrayList<>(List.of(prev));
        for (int i = 1; i < 300; i++) {
            prev = submit(i, prev);
            chain.add(prev);
        }
        scheduler.afterBatch();
        List<TaskLaunch> on1 = exec1.launches();
        List<TaskLaunch> on2 = exec2.launches();
        // Every link went to the same executor in one go: no round trip per link.
        List<TaskLaunch> all = on1.isEmpty() ? on2 : on1;
        assertThat(on1.isEmpty() || on2.isEmpty()).isTrue();
        assertThat(all.size()).isGreaterThanOrEqualTo(2);
        assertThat(all.get(1).args().get(0).locations()).as("produced locally, so no location").isEmpty();
    }

    @Test
    void aFailureFailsTheTaskAndEveryDependant() {
        RefId a = submit(0);
        RefId b = submit(1, a);
        RefId c = submit(2, b);
        scheduler.afterBatch();
        RecordingLink on = exec1.launches().isEmpty() ? exec2 : exec1;
        String onId = on == exec1 ? "e1" : "e2";
        Failure boom = new Failure(Failure.TASK, "java.lang.IllegalStateException", "boom", "at x", onId, 1);
        deliver(on, onId, new TaskResults(List.of(new TaskResult(a, 5, List.of(), null, boom)), 0));
        scheduler.afterBatch();
        assertThat(client.done()).extracting(RefDone::ref).containsExactlyInAnyOrder(a, b, c);
        assertThat(client.done()).allSatisfy(d -> assertThat(d.failure().message()).isEqualTo("boom"));
    }

    @Test
    void scatterThatDoesNotFitIsRefusedNamingTheExecutor() {
        RefId r = ref();
        deliver(client, "c", new ScatterRequest(5, r, 600 * MIB, (byte) 2, 0, List.of()));
        RequestFailed f = client.last(RequestFailed.class);
        assertThat(f.kind()).isEqualTo(RequestFailed.INSUFFICIENT_MEMORY);
        assertThat(f.message()).contains("600 MiB").contains("512 MiB limit").contains("--memory");
        assertThat(f.requested()).isEqualTo(600 * MIB);
    }

    @Test
    void runningTasksOfALostExecutorRunAgainElsewhere() {
        for (int i = 0; i < 4; i++) {
            submit(i);
        }
        scheduler.afterBatch();
        List<RefId> onE1 = exec1.launches().stream().map(t -> t.outs().get(0)).toList();
        assertThat(onE1).isNotEmpty();
        lose("e1", exec1);
        scheduler.afterBatch();
        assertThat(exec2.launches().stream().map(t -> t.outs().get(0)).collect(Collectors.toSet())).containsAll(onE1);
    }

    @Test
    void theGraceOfAnEarlierDropDoesNotLoseAnExecutorThatCameBackAndDroppedAgain() {
        RefId data = scatterOn("e1", exec1, 10 * MIB);
        scheduler.handle(new SchedulerEvent.ExecutorLinkClosed("e1", exec1));
        SchedulerEvent.ExecutorGraceExpired first = lastGrace("e1");
        RecordingLink again = register("e1", 1, 512 * MIB);
        scheduler.handle(new SchedulerEvent.ExecutorLinkClosed("e1", again)); // it moves on, say to a new leader

        scheduler.handle(first); // the first grace is over, the second is not
        scheduler.afterBatch();
        assertThat(client.done()).noneMatch(d -> d.ref().equals(data) && d.failure() != null);

        scheduler.handle(lastGrace("e1"));
        scheduler.afterBatch();
        assertThat(client.done()).anyMatch(d -> d.ref().equals(data) && d.failure() != null);
    }

    @Test
    void singleCopyScatteredDataOfALostExecutorFailsItsRefsAsLost() {
        RefId data = scatterOn("e1", exec1, 10 * MIB);
        lose("e1", exec1);
        scheduler.afterBatch();
        RefDone lost = client.done().stream().filter(d -> d.ref().equals(data) && d.failure() != null).findFirst().orElseThrow();
        assertThat(lost.failure().kind()).isEqualTo(Failure.LOST);
        assertThat(lost.failure().message()).contains("replicas");
    }

    @Test
    void aLostResultStillNeededIsRecomputedFromLineage() {
        RefId a = submit(0);
        scheduler.afterBatch();
        RecordingLink on = exec1.launches().isEmpty() ? exec2 : exec1;
        String onId = on == exec1 ? "e1" : "e2";
        RecordingLink other = on == exec1 ? exec2 : exec1;
        finish(on, onId, a, 8);
        scheduler.afterBatch();
        lose(onId, on);
        scheduler.afterBatch();
        assertThat(other.launches()).extracting(t -> t.outs().get(0)).contains(a);
    }

    @Test
    void releasedResultsAreDroppedFromExecutors() {
        RefId a = submit(0);
        scheduler.afterBatch();
        RecordingLink on = exec1.launches().isEmpty() ? exec2 : exec1;
        finish(on, on == exec1 ? "e1" : "e2", a, 8);
        deliver(client, "c", new Release(List.of(a)));
        scheduler.afterBatch();
        assertThat(on.last(Message.Drop.class).refs()).containsExactly(a);
        assertThat(on.last(Message.Drop.class).epoch()).isEqualTo(7);
        assertThat(scheduler.blockCount()).isZero();
        assertThat(scheduler.taskCount()).isZero();
    }

    @Test
    void anInputThatWasReleasedFailsTheTaskWithAClearMessage() {
        RefId ghost = new RefId(99, 99);
        RefId t = submit(0, ghost);
        scheduler.afterBatch();
        RefDone d = client.done().get(0);
        assertThat(d.ref()).isEqualTo(t);
        assertThat(d.failure().message()).contains("unknown to the leader");
    }

    @Test
    void aNewLeaderNeverReusesFunctionIdsAndDropsBlocksNobodyClaims() {
        submit(0);
        scheduler.afterBatch();
        long oldFn = (exec1.launches().isEmpty() ? exec2 : exec1).last(Launch.class).fns().get(0).fnId();

        List<SchedulerEvent> nextTimers = new ArrayList<>();
        Scheduler next = new Scheduler("leader-2", 8, () -> now, (delay, e) -> nextTimers.add(e));
        RecordingLink e1 = new RecordingLink();
        RefId stale = new RefId(1, 999);
        next.handle(new SchedulerEvent.ExecutorRegistered("e1", e1, new Register("127.0.0.1", 1, 1, 512 * MIB, 0,
                List.of(new BlockInfo(stale, 10)), List.of(), List.of())));
        RecordingLink c = new RecordingLink();
        next.handle(new SchedulerEvent.ClientConnected("c2", c));
        next.handle(new SchedulerEvent.TasksSubmitted("c2", List.of(new FnDef(1, new byte[] {1}, null)),
                List.of(new TaskSpec(new RefId(2, 1), 1, List.of()))));
        next.afterBatch();
        assertThat(e1.last(Launch.class).fns().get(0).fnId()).isNotEqualTo(oldFn);
        assertThat(e1.sent).as("kept until the orphan time: a resuming client may still claim it")
                .noneMatch(m -> m instanceof Message.Drop);

        now += Scheduler.ORPHAN_NANOS;
        assertThat(nextTimers).contains(new SchedulerEvent.OrphanDeadline());
        next.handle(new SchedulerEvent.OrphanDeadline());
        next.afterBatch();
        assertThat(e1.last(Message.Drop.class).refs()).containsExactly(stale);
        assertThat(e1.last(Message.Drop.class).epoch()).isEqualTo(8);
    }

    /** The grace timer the scheduler set last for this executor (it fires it as the timer would). */
    SchedulerEvent.ExecutorGraceExpired lastGrace(String executor) {
        for (int i = timers.size() - 1; i >= 0; i--) {
            if (timers.get(i) instanceof SchedulerEvent.ExecutorGraceExpired g && g.executor().equals(executor)) {
                return g;
            }
        }
        throw new AssertionError("no grace timer for " + executor + " in " + timers);
    }

    @Test
    void aFinishedJobWhoseResultsAreReleasedIsForgotten() {
        io.quiver.core.plan.LogicalPlan.Builder b = io.quiver.core.plan.LogicalPlan.builder();
        byte[] stageFn = {7, 7, 7};
        int n = b.add(io.quiver.core.plan.LogicalNode.range(0, 64, 4));
        n = b.add(io.quiver.core.plan.LogicalNode.narrow(io.quiver.core.plan.LogicalNode.Kind.MAP_TO_PAIR, n, stageFn));
        n = b.add(io.quiver.core.plan.LogicalNode.reduceByKey(n, stageFn, 3));
        io.quiver.core.plan.LogicalPlan plan = b.build(n, io.quiver.core.plan.Action.collect());
        RefId job = ref();
        JobPlanning.Planned planned = JobPlanning.plan("c", new Message.SubmitJob(1, job, plan.toBytes(), false),
                scheduler.view());
        scheduler.handle(planned.event());
        scheduler.afterBatch();
        List<RefId> results = client.last(Message.JobReply.class).results();
        assertThat(results).hasSize(3);
        assertThat(scheduler.jobCount()).isEqualTo(1);

        // Every launched task finishes where it was launched, with all of its outputs.
        int answered1 = 0;
        int answered2 = 0;
        for (int round = 0; round < 10 && (answered1 < exec1.launches().size() || answered2 < exec2.launches().size()); round++) {
            answered1 = finishLaunched(exec1, "e1", answered1);
            answered2 = finishLaunched(exec2, "e2", answered2);
        }
        assertThat(client.done()).extracting(RefDone::ref).containsAll(results);
        assertThat(scheduler.jobCount()).as("its results are still held").isEqualTo(1);

        scheduler.handle(new SchedulerEvent.RefsReleased("c", results));
        scheduler.afterBatch();
        assertThat(scheduler.blockCount()).isZero();
        assertThat(scheduler.jobCount()).isZero();
    }

    /** Dask's priority=: among ready tasks the highest is placed first; equal priorities keep submit order. */
    @Test
    void higherPriorityTasksArePlacedFirstAndEqualOnesInSubmitOrder() {
        lose("e1", exec1);
        lose("e2", exec2);
        List<TaskSpec> specs = new ArrayList<>();
        List<RefId> low = new ArrayList<>();
        List<RefId> high = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            RefId l = ref();
            low.add(l);
            specs.add(new TaskSpec(l, 1, List.of(), new Message.TaskOptions(0, 0, List.of(), false)));
            RefId h = ref();
            high.add(h);
            specs.add(new TaskSpec(h, 1, List.of(), new Message.TaskOptions(0, 5, List.of(), false)));
        }
        deliver(client, "c", new Submit(List.of(new FnDef(1, new byte[] {1}, null)), specs));
        scheduler.afterBatch(); // no executor: all wait, ready
        RecordingLink only = register("e3", 1, 512 * MIB);
        scheduler.afterBatch();
        List<RefId> order = only.launches().stream().map(t -> t.outs().get(0)).toList();
        assertThat(order).isNotEmpty();
        List<RefId> expected = new ArrayList<>(high);
        expected.addAll(low);
        assertThat(order).isEqualTo(expected.subList(0, order.size()));
    }

    /** Dask's workers=: a task restricted to an executor that is lost fails, naming it; the others run. */
    @Test
    void aTaskRestrictedToALostExecutorFailsNamingIt() {
        RefId onE1 = ref();
        deliver(client, "c", new Submit(List.of(new FnDef(1, new byte[] {1}, null)),
                List.of(new TaskSpec(onE1, 1, List.of(), new Message.TaskOptions(0, 0, List.of("e1"), false)))));
        scheduler.afterBatch();
        assertThat(exec1.launches()).extracting(t -> t.outs().get(0)).containsExactly(onE1);
        lose("e1", exec1);
        scheduler.afterBatch();
        assertThat(exec2.launches()).as("not moved to e2").isEmpty();
        assertThat(client.done()).filteredOn(d -> d.ref().equals(onE1)).singleElement().satisfies(d ->
                assertThat(d.failure().message()).contains("[e1]").contains("Submit.on").contains("e2"));
    }

    private int finishLaunched(RecordingLink link, String id, int from) {
        List<TaskLaunch> all = link.launches();
        List<TaskResult> results = new ArrayList<>();
        for (TaskLaunch t : all.subList(from, all.size())) {
            results.add(new TaskResult(t.outs().get(0), 1000, t.outs().stream().map(o -> new BlockInfo(o, 8)).toList(),
                    null, null));
        }
        scheduler.handle(new SchedulerEvent.TasksFinished(id, link, new TaskResults(results, 0)));
        scheduler.afterBatch();
        return all.size();
    }
}
