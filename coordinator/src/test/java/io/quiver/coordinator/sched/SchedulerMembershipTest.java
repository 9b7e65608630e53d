package io.quiver.coordinator.sched;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.RefId;
import io.quiver.coordinator.sched.SchedulerTest.RecordingLink;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.BlockFailure;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.Replicate;
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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Executors joining and leaving, as the scheduler's state machine sees it: broadcast values reach
 * late joiners from a peer ({@link Replication}), and {@code Scatter.on} values keep their
 * consumers on their executors ({@link Dispatch}). Driven directly, with recording links.
 */
class SchedulerMembershipTest {
    private static final long MIB = 1 << 20;
    private static final byte BROADCAST = 2;
    private static final byte ON = 3;

    final List<SchedulerEvent> timers = new ArrayList<>();
    Scheduler scheduler;
    RecordingLink client;
    RecordingLink exec1;
    RecordingLink exec2;
    long seq;

    @BeforeEach
    void setUp() {
        scheduler = new Scheduler("leader-1", 7, () -> 0L, (delay, e) -> timers.add(e));
        client = new RecordingLink();
        scheduler.handle(new SchedulerEvent.ClientConnected("c", client));
        exec1 = register("e1", 1, 512 * MIB);
        exec2 = register("e2", 1, 512 * MIB);
        scheduler.afterBatch();
    }

    RecordingLink register(String id, int slots, long memory) {
        RecordingLink link = new RecordingLink();
        scheduler.handle(new SchedulerEvent.ExecutorRegistered(id, link, new Register("127.0.0.1", (int) (1000 + seq++), slots,
                memory, 0, List.of(), List.of(), List.of())));
        return link;
    }

    void fromExec(RecordingLink link, String id, Message m) {
        scheduler.handle(WireEvents.fromExecutor(id, link, m));
    }

    RefId ref() {
        return new RefId(1, ++seq);
    }

    RefId requestScatter(byte mode, long size, String... on) {
        RefId r = ref();
        scheduler.handle(WireEvents.fromClient("c", new ScatterRequest(1, r, size, mode, 1, List.of(on))));
        scheduler.afterBatch();
        return r;
    }

    void stored(RecordingLink link, String id, RefId r, long size) {
        fromExec(link, id, new StoredBlocks(List.of(new BlockInfo(r, size)), List.of(), size));
        scheduler.afterBatch();
    }

    RefId submit(long fnId, RefId input) {
        RefId out = ref();
        scheduler.handle(WireEvents.fromClient("c", new Submit(List.of(new FnDef(fnId, new byte[] {1}, null)),
                List.of(new TaskSpec(out, fnId, List.of(Arg.ref(input)))))));
        return out;
    }

    void finish(RecordingLink link, String id, RefId task) {
        fromExec(link, id, new TaskResults(List.of(new TaskResult(task, 10_000, List.of(new BlockInfo(task, 8)),
                new byte[] {9}, null)), 0));
    }

    void lose(String id, RecordingLink link) {
        scheduler.handle(new SchedulerEvent.ExecutorLinkClosed(id, link));
        for (int i = timers.size() - 1; i >= 0; i--) {
            if (timers.get(i) instanceof SchedulerEvent.ExecutorGraceExpired g && g.executor().equals(id)) {
                scheduler.handle(g); // the timer the scheduler set for this drop
                return;
            }
        }
        throw new AssertionError("no grace timer for " + id);
    }

    static List<Replicate.Copy> copies(RecordingLink link) {
        List<Replicate.Copy> out = new ArrayList<>();
        for (Message m : link.sent) {
            if (m instanceof Replicate r) {
                assertThat(r.epoch()).isEqualTo(7);
                out.addAll(r.copies());
            }
        }
        return out;
    }

    /** The locations the client was last told for {@code r}. */
    List<String> locations(RefId r) {
        List<String> last = null;
        for (RefDone d : client.done()) {
            if (d.ref().equals(r)) {
                assertThat(d.failure()).isNull();
                last = d.locations();
            }
        }
        assertThat(last).as("no RefDone for %s", r).isNotNull();
        return last;
    }

    // ------------------------------------------------------------------ broadcast to late joiners

    @Test
    void anExecutorThatJoinsAfterABroadcastCopiesItFromAPeerAndTheClientHearsTheNewLocation() {
        RefId b = requestScatter(BROADCAST, 8 * MIB);
        stored(exec1, "e1", b, 8 * MIB);
        stored(exec2, "e2", b, 8 * MIB);
        assertThat(locations(b)).containsExactlyInAnyOrder("e1", "e2");

        RecordingLink exec3 = register("e3", 1, 512 * MIB);
        scheduler.afterBatch();
        List<Replicate.Copy> asked = copies(exec3);
        assertThat(asked).hasSize(1);
        assertThat(asked.get(0).ref()).isEqualTo(b);
        assertThat(asked.get(0).size()).isEqualTo(8 * MIB);
        assertThat(asked.get(0).from()).extracting(Peer::id).containsExactlyInAnyOrder("e1", "e2");
        assertThat(copies(exec1)).as("holders are not asked").isEmpty();

        stored(exec3, "e3", b, 8 * MIB);
        assertThat(locations(b)).containsExactlyInAnyOrder("e1", "e2", "e3");
        register("e4", 1, 512 * MIB);
        scheduler.afterBatch();
        assertThat(copies(exec3)).as("asked once").hasSize(1);
    }

    @Test
    void anExecutorThatJoinsWhileABroadcastStreamsGetsItOnceTheScatterIsDone() {
        RefId b = requestScatter(BROADCAST, 4 * MIB);
        assertThat(client.last(ScatterPlan.class).targets()).extracting(Peer::id).containsExactly("e1", "e2");
        RecordingLink exec3 = register("e3", 1, 512 * MIB);
        scheduler.afterBatch();
        stored(exec1, "e1", b, 4 * MIB);
        assertThat(copies(exec3)).as("nothing to copy from before the scatter is done").isEmpty();

        stored(exec2, "e2", b, 4 * MIB);
        assertThat(copies(exec3)).extracting(Replicate.Copy::ref).containsExactly(b);
        stored(exec3, "e3", b, 4 * MIB);
        assertThat(locations(b)).containsExactlyInAnyOrder("e1", "e2", "e3");
    }

    @Test
    void aBroadcastWhoseLastHolderIsLostFailsAsLostAndIsNotCopied() {
        RefId b = requestScatter(BROADCAST, 1024);
        stored(exec1, "e1", b, 1024);
        stored(exec2, "e2", b, 1024);
        lose("e1", exec1);
        scheduler.afterBatch();
        assertThat(locations(b)).as("the copies left serve").containsExactly("e2");
        lose("e2", exec2);
        RecordingLink exec3 = register("e3", 1, 512 * MIB);
        scheduler.afterBatch();
        assertThat(client.done()).filteredOn(d -> d.ref().equals(b) && d.failure() != null).singleElement()
                .satisfies(d -> assertThat(d.failure().kind()).isEqualTo(Failure.LOST));
        assertThat(copies(exec3)).isEmpty();
    }

    @Test
    void aTaskPlacedOnTheJoinerWhileItCopiesIsLaunchedWithTheHoldersAsLocations() {
        RefId b = requestScatter(BROADCAST, 1024);
        stored(exec1, "e1", b, 1024);
        lose("e2", exec2); // never stored: the scatter is done with e1 alone
        scheduler.afterBatch();
        RecordingLink exec3 = register("e3", 1, 512 * MIB);
        scheduler.afterBatch();
        assertThat(copies(exec3)).extracting(Replicate.Copy::ref).containsExactly(b);
        // e1 is busy: the next tasks go to e3, which reads b from e1 until its copy lands.
        for (int i = 0; i < 6; i++) {
            submit(10 + i, b);
        }
        scheduler.afterBatch();
        assertThat(exec3.launches()).isNotEmpty();
        TaskLaunch onJoiner = exec3.launches().get(0);
        assertThat(onJoiner.args().get(0).locations()).extracting(Peer::id).containsExactly("e1");
    }

    @Test
    void aCopyThatDoesNotFitIsNotAskedFor() {
        RefId b = requestScatter(BROADCAST, 64 * MIB);
        stored(exec1, "e1", b, 64 * MIB);
        stored(exec2, "e2", b, 64 * MIB);
        RecordingLink small = register("e3", 1, 16 * MIB);
        scheduler.afterBatch();
        assertThat(copies(small)).isEmpty();
    }

    @Test
    void aFailedCopyIsAskedForAgainAFewTimesThenLeftToTasks() {
        RefId b = requestScatter(BROADCAST, 1024);
        stored(exec1, "e1", b, 1024);
        stored(exec2, "e2", b, 1024);
        RecordingLink exec3 = register("e3", 1, 512 * MIB);
        scheduler.afterBatch();
        for (int i = 0; i < Replication.MAX_ATTEMPTS + 2; i++) {
            fromExec(exec3, "e3", new StoredBlocks(List.of(), List.of(new BlockFailure(b, "no peer answered")), 0));
            scheduler.afterBatch();
        }
        assertThat(copies(exec3)).hasSize(Replication.MAX_ATTEMPTS);
        assertThat(locations(b)).as("a failed copy is no failure of the value").containsExactlyInAnyOrder("e1", "e2");
    }

    @Test
    void aReleasedBroadcastIsDroppedWhereItIsStillBeingCopied() {
        RefId b = requestScatter(BROADCAST, 1024);
        stored(exec1, "e1", b, 1024);
        stored(exec2, "e2", b, 1024);
        RecordingLink exec3 = register("e3", 1, 512 * MIB);
        scheduler.afterBatch();
        scheduler.handle(WireEvents.fromClient("c", new Message.Release(List.of(b))));
        scheduler.afterBatch();
        assertThat(exec3.last(Message.Drop.class).refs()).containsExactly(b);
        assertThat(scheduler.blockCount()).isZero();
    }

    @Test
    void aProducerWhoseLaunchWasLostRunsAgainWhereItsReadersWereSentAhead() {
        // A chain, sent ahead to one executor: more links than its lookahead holds.
        List<RefId> chain = new ArrayList<>();
        RefId first = ref();
        scheduler.handle(WireEvents.fromClient("c", new Submit(List.of(new FnDef(1, new byte[] {1}, null)),
                List.of(new TaskSpec(first, 1, List.of())))));
        chain.add(first);
        for (int i = 1; i < 30; i++) {
            chain.add(submit(1, chain.get(i - 1)));
        }
        scheduler.afterBatch();
        RecordingLink on = exec1.launches().isEmpty() ? exec2 : exec1;
        String onId = on == exec1 ? "e1" : "e2";
        int launched = on.launches().size();
        assertThat(launched).isLessThan(chain.size());
        // Its connection drops with every launch lost; it registers again with nothing.
        scheduler.handle(new SchedulerEvent.ExecutorLinkClosed(onId, on));
        RecordingLink back = new RecordingLink();
        scheduler.handle(new SchedulerEvent.ExecutorRegistered(onId, back, new Register("127.0.0.1", 3000, 1,
                512 * MIB, 0, List.of(), List.of(), List.of())));
        scheduler.afterBatch(); // the links still queued there go out, waiting for their producer there
        RefId lastLost = chain.get(launched - 1);
        // Run the chain as the leader hands it out: each task finishes where it was launched.
        java.util.Set<RefId> finished = new java.util.HashSet<>();
        String ranLastLost = null;
        for (int round = 0; round < 200 && ranLastLost == null; round++) {
            for (SchedulerEvent t : List.copyOf(timers)) {
                timers.remove(t);
                scheduler.handle(t);
            }
            scheduler.afterBatch();
            for (var peer : List.of(java.util.Map.entry(onId, back), java.util.Map.entry(onId.equals("e1") ? "e2" : "e1",
                    onId.equals("e1") ? exec2 : exec1))) {
                for (TaskLaunch l : peer.getValue().launches()) {
                    RefId out = l.outs().get(0);
                    if (out.equals(lastLost)) {
                        ranLastLost = peer.getKey();
                    }
                    int at = chain.indexOf(out);
                    if (!finished.contains(out) && at < launched && (at == 0 || finished.contains(chain.get(at - 1)))) {
                        finished.add(out);
                        finish(peer.getValue(), peer.getKey(), out);
                        break;
                    }
                }
            }
        }
        assertThat(ranLastLost).as("the producer of the links waiting on %s", onId).isEqualTo(onId);
    }

    // ------------------------------------------------------------------ Scatter.on pins its consumers

    @Test
    void consumersOfAValueScatteredOnAnExecutorRunOnlyThere() {
        RefId data = requestScatter(ON, 4 * MIB, "e2");
        stored(exec2, "e2", data, 4 * MIB);
        List<RefId> outs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            outs.add(submit(i, data));
        }
        scheduler.afterBatch();
        assertThat(exec1.launches()).isEmpty();
        // e1 stays idle as e2 works through them, one result at a time: it never takes one.
        int finished = 0;
        while (finished < outs.size()) {
            List<TaskLaunch> launched = exec2.launches();
            assertThat(launched.size()).isGreaterThan(finished);
            finish(exec2, "e2", launched.get(finished).outs().get(0));
            scheduler.afterBatch();
            finished++;
            assertThat(exec1.launches()).isEmpty();
        }
        assertThat(client.done()).filteredOn(d -> outs.contains(d.ref())).hasSize(20)
                .allSatisfy(d -> assertThat(d.locations()).containsExactly("e2"));
    }

    @Test
    void consumersOfAValueScatteredWithoutPinsSpread() {
        RefId data = requestScatter(BROADCAST, 4 * MIB);
        stored(exec1, "e1", data, 4 * MIB);
        stored(exec2, "e2", data, 4 * MIB);
        for (int i = 0; i < 20; i++) {
            submit(i, data);
        }
        scheduler.afterBatch();
        assertThat(exec1.launches()).isNotEmpty();
        assertThat(exec2.launches()).isNotEmpty();
    }

    @Test
    void pinnedConsumersWaitForTheirExecutorWhileItReconnects() {
        RefId data = requestScatter(ON, 4 * MIB, "e2");
        stored(exec2, "e2", data, 4 * MIB);
        scheduler.handle(new SchedulerEvent.ExecutorLinkClosed("e2", exec2));
        RefId t = submit(1, data);
        scheduler.afterBatch();
        assertThat(exec1.launches()).isEmpty();

        RecordingLink back = new RecordingLink();
        scheduler.handle(new SchedulerEvent.ExecutorRegistered("e2", back, new Register("127.0.0.1", 2000, 1,
                512 * MIB, 4 * MIB, List.of(new BlockInfo(data, 4 * MIB)), List.of(), List.of())));
        scheduler.afterBatch();
        assertThat(back.launches()).extracting(l -> l.outs().get(0)).containsExactly(t);
    }

    @Test
    void whenEveryExecutorOfAPinnedValueIsLostItsConsumersFollowASurvivingCopy() {
        RefId data = requestScatter(ON, 4 * MIB, "e2");
        stored(exec2, "e2", data, 4 * MIB);
        // A task elsewhere fetched it (e1 reports the copy it stored): it survives e2.
        stored(exec1, "e1", data, 4 * MIB);
        lose("e2", exec2);
        RecordingLink exec3 = register("e3", 1, 512 * MIB);
        for (int i = 0; i < 6; i++) {
            submit(i, data);
        }
        scheduler.afterBatch();
        assertThat(exec1.launches()).hasSize(6);
        assertThat(exec3.launches()).isEmpty();
    }

    @Test
    void whenEveryExecutorOfAPinnedValueIsLostWithNoCopyItsConsumersFailAsLost() {
        RefId data = requestScatter(ON, 4 * MIB, "e2");
        stored(exec2, "e2", data, 4 * MIB);
        RefId t = submit(1, data);
        scheduler.afterBatch();
        lose("e2", exec2);
        scheduler.afterBatch();
        assertThat(client.done()).filteredOn(d -> d.ref().equals(t)).singleElement().satisfies(d -> {
            assertThat(d.failure().kind()).isEqualTo(Failure.LOST);
            assertThat(d.failure().type()).isEqualTo("io.quiver.DataLostException");
            assertThat(d.failure().message()).contains("e2");
        });
        assertThat(exec1.launches()).isEmpty();
    }

    @Test
    void aNewLeaderKeepsTheReadersOfAScatterOnWhereTheClientSaysItWasPinned() {
        RefId data = ref();
        Scheduler next = new Scheduler("leader-2", 8, () -> 0L, (delay, e) -> timers.add(e));
        RecordingLink e1 = new RecordingLink();
        RecordingLink e2 = new RecordingLink();
        next.handle(new SchedulerEvent.ExecutorRegistered("e1", e1, new Register("127.0.0.1", 1, 1, 512 * MIB, 0,
                List.of(), List.of(), List.of())));
        next.handle(new SchedulerEvent.ExecutorRegistered("e2", e2, new Register("127.0.0.1", 2, 1, 512 * MIB, 0,
                List.of(new BlockInfo(data, 4 * MIB)), List.of(), List.of())));
        next.handle(new SchedulerEvent.TermStarted(List.of("e1", "e2")));
        RecordingLink c = new RecordingLink();
        next.handle(new SchedulerEvent.ClientConnected("c", c));
        // The resume: Hold, then HoldPins, then the tasks (LeaderSession.resume's order).
        next.handle(WireEvents.fromClient("c", new Message.Hold(List.of(
                new Message.HeldRef(data, Message.HeldRef.SCATTERED, 4 * MIB, List.of())))));
        next.handle(WireEvents.fromClient("c", new Message.HoldPins(List.of(
                new Message.HoldPins.Pin(data, List.of("e2"))))));
        List<TaskSpec> specs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            specs.add(new TaskSpec(ref(), 1, List.of(Arg.ref(data))));
        }
        next.handle(WireEvents.fromClient("c", new Submit(List.of(new FnDef(1, new byte[] {1}, null)), specs)));
        next.afterBatch();
        assertThat(e2.launches()).isNotEmpty();
        assertThat(e1.launches()).isEmpty();
    }

    @Test
    void aPinnedConsumerIsNotSentAheadToAnotherExecutor() {
        RefId data = requestScatter(ON, 4 * MIB, "e2");
        stored(exec2, "e2", data, 4 * MIB);
        // Keep e2 busy so that the producer of the second input goes to e1.
        for (int i = 0; i < 4; i++) {
            submit(100 + i, data);
        }
        RefId producer = ref();
        scheduler.handle(WireEvents.fromClient("c", new Submit(List.of(new FnDef(50, new byte[] {1}, null)),
                List.of(new TaskSpec(producer, 50, List.of())))));
        scheduler.afterBatch();
        assertThat(exec1.launches()).extracting(l -> l.outs().get(0)).containsExactly(producer);
        RefId both = ref();
        scheduler.handle(WireEvents.fromClient("c", new Submit(List.of(new FnDef(51, new byte[] {1}, null)),
                List.of(new TaskSpec(both, 51, List.of(Arg.ref(producer), Arg.ref(data)))))));
        scheduler.afterBatch();
        assertThat(exec1.launches()).extracting(l -> l.outs().get(0)).doesNotContain(both);
        finish(exec1, "e1", producer);
        scheduler.afterBatch();
        assertThat(exec2.launches()).extracting(l -> l.outs().get(0)).contains(both);
        assertThat(exec1.launches()).extracting(l -> l.outs().get(0)).doesNotContain(both);
    }
}
