package io.quiver.coordinator.sched;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.RefId;
import io.quiver.coordinator.sched.SchedulerEvent.ClientConnected;
import io.quiver.coordinator.sched.SchedulerEvent.ClientGraceExpired;
import io.quiver.coordinator.sched.SchedulerEvent.ClientLinkClosed;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorGraceExpired;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorLinkClosed;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorRegistered;
import io.quiver.coordinator.sched.SchedulerEvent.RecoveryDeadline;
import io.quiver.coordinator.sched.SchedulerEvent.RefsHeld;
import io.quiver.coordinator.sched.SchedulerEvent.TaskRetry;
import io.quiver.coordinator.sched.SchedulerEvent.TasksFinished;
import io.quiver.coordinator.sched.SchedulerEvent.TasksSubmitted;
import io.quiver.coordinator.sched.SchedulerEvent.TermStarted;
import io.quiver.coordinator.sched.SchedulerTest.RecordingLink;
import io.quiver.core.protocol.Batches;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.HeldRef;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RefsDone;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.TaskLaunch;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.protocol.Message.TaskResults;
import io.quiver.core.protocol.Message.TaskSpec;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A new leader rebuilds from what executors and clients report and adopts it: nothing that
 * finished runs again, nothing running starts twice, held data stays where it is. Deterministic:
 * the test plays the coordinator (events in, links out) and fires timers by hand.
 */
class SchedulerFailoverTest {
    private static final long MIB = 1 << 20;
    private static final FnDef FN = new FnDef(1, new byte[] {1}, null);

    final List<SchedulerEvent> timers = new ArrayList<>();
    long now;
    Scheduler next;
    RecordingLink client;
    RecordingLink exec1;
    RecordingLink exec2;

    @BeforeEach
    void newLeader() {
        next = new Scheduler("leader-2", 9, () -> now, (delay, e) -> timers.add(e));
        client = new RecordingLink();
        exec1 = new RecordingLink();
        exec2 = new RecordingLink();
    }

    static RefId ref(long seq) {
        return new RefId(1, seq);
    }

    static TaskSpec spec(RefId out, RefId... inputs) {
        List<Arg> args = new ArrayList<>();
        for (RefId in : inputs) {
            args.add(Arg.ref(in));
        }
        return new TaskSpec(out, FN.fnId(), args);
    }

    void register(String id, RecordingLink link, List<BlockInfo> inventory, List<RefId> active, List<TaskResult> failed) {
        next.handle(new ExecutorRegistered(id, link, new Register("127.0.0.1", 1000, 1, 512 * MIB, 0, inventory, active,
                failed)));
    }

    void resume(TaskSpec... specs) {
        next.handle(new ClientConnected("c", client));
        next.handle(new TasksSubmitted("c", List.of(FN), List.of(specs)));
    }

    static List<RefId> launched(RecordingLink link) {
        return link.launches().stream().map(t -> t.outs().get(0)).toList();
    }

    @Test
    void aResultAnExecutorHoldsIsAdoptedNotRecomputed() {
        RefId a = ref(1);
        register("e1", exec1, List.of(new BlockInfo(a, 8)), List.of(), List.of());
        resume(spec(a));
        next.afterBatch();
        assertThat(launched(exec1)).isEmpty();
        assertThat(client.done()).singleElement().satisfies(d -> {
            assertThat(d.ref()).isEqualTo(a);
            assertThat(d.failure()).isNull();
            assertThat(d.locations()).containsExactly("e1");
        });
    }

    @Test
    void aTaskStillRunningIsAdoptedAndItsResultCompletesTheRef() {
        RefId a = ref(1);
        RefId b = ref(2);
        register("e1", exec1, List.of(), List.of(a), List.of());
        register("e2", exec2, List.of(), List.of(), List.of());
        resume(spec(a), spec(b, a));
        next.afterBatch();
        assertThat(launched(exec1)).doesNotContain(a);
        assertThat(launched(exec2)).doesNotContain(a);

        next.handle(new TasksFinished("e1", exec1, new TaskResults(List.of(new TaskResult(a, 1000,
                List.of(new BlockInfo(a, 8)), new byte[] {7}, null)), 0)));
        next.afterBatch();
        assertThat(client.done()).extracting(RefDone::ref).containsExactly(a);
        // Its dependent runs now, where its input is.
        assertThat(launched(exec1)).containsExactly(b);
    }

    @Test
    void duringRecoveryNothingIsPlacedSoALateExecutorsTaskIsNotStartedTwice() {
        RefId a = ref(1);
        next.handle(new TermStarted(List.of("e1", "e2")));
        register("e2", exec2, List.of(), List.of(), List.of());
        resume(spec(a)); // the client is faster than e1
        next.afterBatch();
        assertThat(launched(exec2)).as("e1 may still be running it").isEmpty();

        register("e1", exec1, List.of(), List.of(a), List.of());
        next.afterBatch();
        assertThat(next.recovering()).isFalse();
        assertThat(launched(exec1)).isEmpty();
        assertThat(launched(exec2)).isEmpty();
    }

    @Test
    void recoveryEndsAtTheDeadlineWithoutAnExecutorThatNeverCame() {
        RefId a = ref(1);
        next.handle(new TermStarted(List.of("e1", "gone")));
        register("e1", exec1, List.of(), List.of(), List.of());
        resume(spec(a));
        next.afterBatch();
        assertThat(launched(exec1)).isEmpty();
        assertThat(timers).contains(new RecoveryDeadline());

        next.handle(new RecoveryDeadline());
        next.afterBatch();
        assertThat(launched(exec1)).containsExactly(a);
    }

    @Test
    void aFailureAnExecutorRememberedFailsTheResumedRef() {
        RefId a = ref(1);
        Failure boom = new Failure(Failure.TASK, "java.lang.IllegalStateException", "boom", "at x", "e1", 1);
        register("e1", exec1, List.of(), List.of(), List.of(new TaskResult(a, 0, List.of(), null, boom)));
        resume(spec(a));
        next.afterBatch();
        assertThat(launched(exec1)).isEmpty();
        assertThat(client.done()).singleElement().satisfies(d -> assertThat(d.failure().message()).isEqualTo("boom"));
    }

    /**
     * A resume in several Submit frames (a client cuts its re-sent tasks to fit frames): the
     * executors' reports that arrive between the frames, about tasks of an earlier frame, are
     * adopted once the resume is whole, not dropped as stale.
     */
    @Test
    void aResumeInSeveralFramesAdoptsWhatExecutorsReportBetweenTheFrames() {
        RefId a = ref(1);
        RefId b = ref(2);
        RefId c = ref(3);
        RefId d = ref(4);
        Failure boom = new Failure(Failure.TASK, "java.lang.IllegalStateException", "boom", "at x", "e1", 1);
        register("e1", exec1, List.of(), List.of(a, b), List.of()); // a and b were running when the old leader died
        register("e2", exec2, List.of(), List.of(), List.of());
        next.handle(new ClientConnected("c", client));
        next.handle(new SchedulerEvent.ClientResuming("c", false));
        next.handle(new TasksSubmitted("c", List.of(FN), List.of(spec(a), spec(b))));
        next.afterBatch();
        // Between the frames: a fails, b succeeds.
        next.handle(new TasksFinished("e1", exec1, new TaskResults(List.of(
                new TaskResult(a, 1000, List.of(), null, boom),
                new TaskResult(b, 1000, List.of(new BlockInfo(b, 8)), new byte[] {7}, null)), 0)));
        next.afterBatch();
        next.handle(new TasksSubmitted("c", List.of(), List.of(spec(c, a), spec(d, b))));
        next.afterBatch();
        next.handle(new SchedulerEvent.ClientResuming("c", true));
        next.afterBatch();

        assertThat(client.done()).filteredOn(r -> r.ref().equals(a)).singleElement()
                .satisfies(r -> assertThat(r.failure().message()).isEqualTo("boom"));
        assertThat(client.done()).filteredOn(r -> r.ref().equals(b)).singleElement()
                .satisfies(r -> assertThat(r.failure()).isNull());
        assertThat(client.done()).filteredOn(r -> r.ref().equals(c)).singleElement()
                .satisfies(r -> assertThat(r.failure()).as("its input failed").isNotNull());
        assertThat(launched(exec1)).as("b's result is adopted, not recomputed; its reader runs where it is")
                .containsExactly(d);
        assertThat(launched(exec2)).isEmpty();
    }

    /**
     * An input no client re-sent (a result already gathered) that an executor holds serves the
     * re-sent tasks that read it. One of them found done in the first frame of a resume must not
     * let it go before a reader in a later frame is here.
     */
    @Test
    void anInputServingTasksOfSeveralResumeFramesIsKeptUntilTheResumeIsWhole() {
        RefId x = ref(1);
        RefId a = ref(2);
        RefId b = ref(3);
        register("e1", exec1, List.of(new BlockInfo(x, 8), new BlockInfo(a, 8)), List.of(), List.of());
        next.handle(new ClientConnected("c", client));
        next.handle(new SchedulerEvent.ClientResuming("c", false));
        next.handle(new TasksSubmitted("c", List.of(FN), List.of(spec(a, x))));
        next.afterBatch();
        next.handle(new TasksSubmitted("c", List.of(), List.of(spec(b, x))));
        next.afterBatch();
        next.handle(new SchedulerEvent.ClientResuming("c", true));
        next.afterBatch();

        assertThat(client.done()).filteredOn(r -> r.ref().equals(a)).singleElement()
                .satisfies(r -> assertThat(r.failure()).isNull());
        assertThat(client.done()).filteredOn(r -> r.ref().equals(b)).isEmpty();
        assertThat(launched(exec1)).as("b runs where its input is").containsExactly(b);
    }

    @Test
    void theCompletionsOfAResumeGoInMessagesThatFitAFrame() {
        // A client resuming with many finished refs hears of all of them in one batch: it must come
        // in parts (a frame over the peer's limit would drop the connection, and the resume with it).
        int n = 2 * Batches.MAX_ITEMS + 100;
        List<BlockInfo> inventory = new ArrayList<>();
        List<TaskSpec> specs = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            inventory.add(new BlockInfo(ref(i), 8));
            specs.add(spec(ref(i)));
        }
        register("e1", exec1, inventory, List.of(), List.of());
        resume(specs.toArray(new TaskSpec[0]));
        next.afterBatch();
        List<RefsDone> messages = client.sent.stream()
                .filter(m -> m instanceof RefsDone)
                .map(m -> (RefsDone) m).toList();
        assertThat(messages).hasSize(3);
        assertThat(messages).allSatisfy(m -> assertThat(m.refs().size()).isLessThanOrEqualTo(Batches.MAX_ITEMS));
        assertThat(client.done()).hasSize(n).allSatisfy(d -> assertThat(d.failure()).isNull());
        assertThat(launched(exec1)).isEmpty();
    }

    @Test
    void aHeldBroadcastKeepsEveryCopyAndTasksOverItRunWithoutMovingIt() {
        RefId data = new RefId(5, 1);
        next.handle(new TermStarted(List.of("e1", "e2")));
        next.handle(new ClientConnected("c", client));
        next.handle(new RefsHeld("c", List.of(new HeldRef(data, HeldRef.BROADCAST, 64 * MIB, List.of()))));
        register("e1", exec1, List.of(new BlockInfo(data, 64 * MIB)), List.of(), List.of());
        register("e2", exec2, List.of(new BlockInfo(data, 64 * MIB)), List.of(), List.of());
        next.afterBatch();
        assertThat(client.done()).singleElement().satisfies(d -> {
            assertThat(d.failure()).isNull();
            assertThat(d.locations()).containsExactlyInAnyOrder("e1", "e2");
        });
        assertThat(exec1.sent).as("the new leader drops nothing it holds").noneMatch(m -> m instanceof io.quiver.core.protocol.Message.Drop);
        assertThat(next.view().location(data).holders()).containsExactly("e1", "e2");

        next.handle(new TasksSubmitted("c", List.of(FN), List.of(spec(ref(10), data), spec(ref(11), data))));
        next.afterBatch();
        List<TaskLaunch> all = new ArrayList<>(exec1.launches());
        all.addAll(exec2.launches());
        assertThat(all).hasSize(2).allSatisfy(t -> assertThat(t.args().get(0).locations()).hasSize(2));
    }

    @Test
    void aHeldValueNoExecutorHasAnyMoreFailsAsLostWhenRecoveryEnds() {
        RefId data = new RefId(5, 1);
        next.handle(new TermStarted(List.of("e1")));
        next.handle(new ClientConnected("c", client));
        next.handle(new RefsHeld("c", List.of(new HeldRef(data, HeldRef.SCATTERED, MIB, List.of()))));
        next.afterBatch();
        assertThat(client.done()).as("e1 may still bring it").isEmpty();
        register("e1", exec1, List.of(), List.of(), List.of());
        next.afterBatch();
        assertThat(client.done()).singleElement().satisfies(d -> {
            assertThat(d.failure().kind()).isEqualTo(Failure.LOST);
            assertThat(d.failure().message()).contains(data.toString()).contains("no executor holds");
        });
    }

    @Test
    void aClientThatReconnectsWithinItsGraceKeepsItsRefsAndHearsTheirStateAgain() {
        RefId a = ref(1);
        register("e1", exec1, List.of(), List.of(), List.of());
        resume(spec(a));
        next.afterBatch();
        next.handle(new TasksFinished("e1", exec1, new TaskResults(List.of(new TaskResult(a, 1000,
                List.of(new BlockInfo(a, 8)), null, null)), 0)));
        next.afterBatch();

        next.handle(new ClientLinkClosed("c", client));
        RecordingLink again = new RecordingLink();
        next.handle(new ClientConnected("c", again));
        next.handle(new TasksSubmitted("c", List.of(FN), List.of(spec(a))));
        next.afterBatch();
        assertThat(again.done()).singleElement().satisfies(d -> {
            assertThat(d.failure()).as("not 'reuses ref id'").isNull();
            assertThat(d.locations()).containsExactly("e1");
        });
        // The grace timer of the old link finds the client back and does nothing.
        next.handle(new ClientGraceExpired("c", client));
        next.afterBatch();
        assertThat(next.blockCount()).isEqualTo(1);
    }

    @Test
    void aClientGoneForGoodReleasesItsRefsAfterItsGrace() {
        RefId a = ref(1);
        register("e1", exec1, List.of(), List.of(), List.of());
        resume(spec(a));
        next.afterBatch();
        next.handle(new TasksFinished("e1", exec1, new TaskResults(List.of(new TaskResult(a, 1000,
                List.of(new BlockInfo(a, 8)), null, null)), 0)));
        next.handle(new ClientLinkClosed("c", client));
        next.afterBatch();
        assertThat(next.blockCount()).as("kept during the grace").isEqualTo(1);
        next.handle(new ClientGraceExpired("c", client));
        next.afterBatch();
        assertThat(next.blockCount()).isZero();
        assertThat(exec1.last(io.quiver.core.protocol.Message.Drop.class).refs()).containsExactly(a);
    }

    @Test
    void aFailedFetchRunsTheTaskAgainAfterItsLostInputIsRecomputed() {
        RefId a = ref(1);
        RefId b = ref(2);
        RefId busy = ref(3);
        // e1 holds a and is busy, so b goes to e2 and must fetch a from e1.
        register("e1", exec1, List.of(new BlockInfo(a, 8)), List.of(busy), List.of());
        register("e2", exec2, List.of(), List.of(), List.of());
        resume(spec(busy), spec(a), spec(b, a));
        next.afterBatch();
        assertThat(launched(exec2)).containsExactly(b);

        // e1 is dying: e2 cannot fetch a. b is not failed, it waits to run again.
        Failure fetch = new Failure(Failure.FETCH, "io.quiver.DataLostException", "could not fetch " + a, "", "e2", 1);
        next.handle(new TasksFinished("e2", exec2, new TaskResults(List.of(new TaskResult(b, 0, List.of(), null, fetch)), 0)));
        next.afterBatch();
        assertThat(client.done()).extracting(RefDone::ref).doesNotContain(b);
        assertThat(timers).contains(new TaskRetry(b));

        next.handle(new ExecutorLinkClosed("e1", exec1));
        next.handle(lastGrace("e1"));
        next.handle(new TaskRetry(b));
        next.afterBatch();
        // a is recomputed from lineage on the survivor (busy runs again too), and b is sent ahead to
        // run after it there: no location, it waits for a to be produced locally.
        assertThat(launched(exec2)).containsExactly(b, busy, a, b);
        assertThat(exec2.launches().get(3).args().get(0).locations()).isEmpty();
    }

    @Test
    void anInputMissingWhereTheLeaderPlacedItIsRecomputedNotFailed() {
        RefId a = ref(1);
        RefId b = ref(2);
        register("e1", exec1, List.of(new BlockInfo(a, 8)), List.of(), List.of());
        register("e2", exec2, List.of(), List.of(), List.of());
        resume(spec(a), spec(b, a));
        next.afterBatch();
        assertThat(launched(exec1)).as("b runs where a is").containsExactly(b);

        // e1 no longer has a when b runs (dropped there): b did not fail by itself.
        Failure missing = new Failure(Failure.MISSING, "io.quiver.DataLostException", "input " + a + " was not in"
                + " the store", "", "e1", 1, a);
        next.handle(new TasksFinished("e1", exec1, new TaskResults(List.of(new TaskResult(b, 0, List.of(), null,
                missing)), 0)));
        next.afterBatch();
        assertThat(client.done()).extracting(RefDone::ref).doesNotContain(b);
        // a's only copy is forgotten and recomputed from lineage; b runs again after it.
        List<RefId> all = new ArrayList<>(launched(exec1));
        all.addAll(launched(exec2));
        assertThat(all).containsSubsequence(b, a, b);
    }

    @Test
    void aScatteredValueMissingFromItsOnlyHolderFailsItsReadersAsLost() {
        RefId x = ref(1);
        RefId b = ref(2);
        register("e1", exec1, List.of(new BlockInfo(x, 8)), List.of(), List.of());
        register("e2", exec2, List.of(), List.of(), List.of());
        next.handle(new ClientConnected("c", client));
        next.handle(new RefsHeld("c", List.of(new HeldRef(x, HeldRef.SCATTERED, 8, List.of()))));
        next.handle(new TasksSubmitted("c", List.of(FN), List.of(spec(b, x))));
        next.afterBatch();
        assertThat(launched(exec1)).containsExactly(b);

        Failure missing = new Failure(Failure.MISSING, "io.quiver.DataLostException", "input " + x + " was not in"
                + " the store", "", "e1", 1, x);
        next.handle(new TasksFinished("e1", exec1, new TaskResults(List.of(new TaskResult(b, 0, List.of(), null,
                missing)), 0)));
        next.afterBatch();
        assertThat(client.done()).filteredOn(d -> d.ref().equals(b)).singleElement()
                .satisfies(d -> assertThat(d.failure().kind()).isEqualTo(Failure.LOST));
    }

    @Test
    void aTaskThatKillsThreeExecutorsIsMarkedBad() {
        RefId a = ref(1);
        next.handle(new ClientConnected("c", client));
        next.handle(new TasksSubmitted("c", List.of(FN), List.of(spec(a))));
        for (int i = 1; i <= 3; i++) {
            RecordingLink link = new RecordingLink();
            register("e" + i, link, List.of(), List.of(), List.of());
            next.afterBatch();
            assertThat(launched(link)).containsExactly(a);
            next.handle(new ExecutorLinkClosed("e" + i, link));
            next.handle(lastGrace("e" + i));
            next.afterBatch();
        }
        assertThat(client.done()).singleElement().satisfies(d -> {
            assertThat(d.failure()).isNotNull();
            assertThat(d.failure().message()).contains("marked bad").contains("e1").contains("e3");
        });
    }

    @Test
    void aTaskQueuedBehindALostInputIsNotLaunchedWhereTheInputWillNeverBe() {
        RefId x = ref(1);
        RefId reader = ref(2);
        List<RefId> busy1 = new ArrayList<>();
        List<RefId> busy2 = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            busy1.add(ref(100 + i));
        }
        for (int i = 0; i < 10; i++) {
            busy2.add(ref(200 + i));
        }
        // e1 holds x and is very busy; e2 is busy up to its lookahead, so the reader queues on e2.
        register("e1", exec1, List.of(new BlockInfo(x, 8)), busy1, List.of());
        register("e2", exec2, List.of(), busy2, List.of());
        List<TaskSpec> specs = new ArrayList<>();
        busy1.forEach(r -> specs.add(spec(r)));
        busy2.forEach(r -> specs.add(spec(r)));
        specs.add(spec(x));
        specs.add(spec(reader, x));
        resume(specs.toArray(TaskSpec[]::new));
        next.afterBatch();
        assertThat(launched(exec2)).as("queued behind e2's lookahead").isEmpty();

        // e3 joins, e1 dies: x is recomputed, on e3. The reader must not be launched on e2 with no
        // location for x: e2 would wait forever for an x that is produced elsewhere.
        RecordingLink exec3 = new RecordingLink();
        next.handle(new ExecutorRegistered("e3", exec3, new Register("127.0.0.1", 1003, 8, 512 * MIB, 0, List.of(),
                List.of(), List.of()))); // many slots: the recompute goes there
        next.handle(new ExecutorLinkClosed("e1", exec1));
        next.handle(lastGrace("e1"));
        next.afterBatch();
        assertThat(launched(exec3)).contains(x);
        String xOn = "e3";
        for (int round = 0; round < 5; round++) {
            next.handle(new TasksFinished("e2", exec2, new TaskResults(List.of(new TaskResult(busy2.get(round), 1000,
                    List.of(new BlockInfo(busy2.get(round), 8)), null, null)), 0)));
            next.afterBatch();
        }
        for (RecordingLink link : List.of(exec2, exec3)) {
            String on = link == exec2 ? "e2" : "e3";
            for (TaskLaunch t : link.launches()) {
                if (t.outs().get(0).equals(reader) && t.args().get(0).locations().isEmpty()) {
                    assertThat(on).as("the reader waits for x where x is produced").isEqualTo(xOn);
                }
            }
        }
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
}
