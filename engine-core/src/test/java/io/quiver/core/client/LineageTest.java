package io.quiver.core.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.RefId;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.HeldRef;
import io.quiver.core.protocol.Message.HoldPins;
import io.quiver.core.protocol.Message.SubmitJob;
import io.quiver.core.protocol.Message.TaskSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a resume sends, as the reference counts of the lineage decide it (no threads, no I/O). */
class LineageTest {
    final Lineage lineage = new Lineage();

    static RefId ref(long seq) {
        return new RefId(7, seq);
    }

    void task(long out, long fn, long... inputs) {
        List<Arg> args = java.util.Arrays.stream(inputs).mapToObj(i -> Arg.ref(ref(i))).toList();
        lineage.submitted(List.of(new FnDef(fn, new byte[] {(byte) fn}, null)), List.of(new TaskSpec(ref(out), fn, args)));
    }

    List<RefId> resubmitted() {
        return lineage.resubmit() == null ? List.of() : lineage.resubmit().tasks().stream().map(TaskSpec::out).toList();
    }

    @Test
    void aScatterOnExecutorsIsHeldWithItsPinsOnceItHasAPlan() {
        lineage.held(ref(1), HeldRef.SCATTERED, 64, List.of("exec-2"));
        lineage.held(ref(2), HeldRef.BROADCAST, 64, List.of());
        assertThat(lineage.pins()).as("no plan yet: nothing to hold").isEmpty();
        lineage.planned(ref(1), List.of("exec-2"));
        lineage.planned(ref(2), List.of("exec-1", "exec-2"));
        assertThat(lineage.pins()).containsExactly(new HoldPins.Pin(ref(1), List.of("exec-2")));
        lineage.done(ref(1), 64, false);
        assertThat(lineage.pins()).containsExactly(new HoldPins.Pin(ref(1), List.of("exec-2")));
        lineage.released(ref(1));
        assertThat(lineage.pins()).isEmpty();
    }

    @Test
    void aReleasedInputStaysAsLineageWhileItsDependentIsHeldAndGoesWithIt() {
        task(1, 1);
        task(2, 2, 1);
        task(3, 3, 2);
        lineage.released(ref(1));
        lineage.released(ref(2));
        assertThat(resubmitted()).containsExactly(ref(1), ref(2), ref(3));
        assertThat(lineage.keptForLineage()).containsExactly(ref(1), ref(2));

        lineage.done(ref(1), 8, false);
        lineage.done(ref(2), 8, false);
        lineage.done(ref(3), 8, false);
        // 3 is held and done: if a new leader finds it lost, it computes it again from 2, and 2 from 1.
        assertThat(resubmitted()).containsExactly(ref(1), ref(2), ref(3));
        assertThat(lineage.keptForLineage()).containsExactly(ref(1), ref(2));
        lineage.released(ref(3));
        assertThat(lineage.resubmit()).isNull();
        assertThat(lineage.keptForLineage()).isEmpty();
    }

    @Test
    void releasingAPendingTaskNobodyReadsReleasesItsInputsToo() {
        task(1, 1);
        task(2, 2, 1);
        lineage.released(ref(1));
        lineage.released(ref(2));
        assertThat(lineage.resubmit()).isNull();
    }

    @Test
    void aFailedTaskIsNotSentAgainAndOneFunctionServesAMap() {
        lineage.submitted(List.of(new FnDef(1, new byte[1], null)), List.of(
                new TaskSpec(ref(1), 1, List.of()), new TaskSpec(ref(2), 1, List.of())));
        lineage.done(ref(1), -1, true);
        assertThat(resubmitted()).containsExactly(ref(2));
        assertThat(lineage.resubmit().fns()).hasSize(1);
    }

    @Test
    void scattersAreHeldOnceTheirPlanArrivedAndPersistedPartitionsOnceStored() {
        lineage.held(ref(1), HeldRef.BROADCAST, 100);
        assertThat(lineage.holds()).isEmpty(); // the ScatterRequest itself is sent again
        lineage.planned(ref(1), List.of("exec-1", "exec-2"));
        assertThat(lineage.holds()).containsExactly(new HeldRef(ref(1), HeldRef.BROADCAST, 100, List.of("exec-1", "exec-2")));
        lineage.done(ref(1), 100, false);
        assertThat(lineage.holds()).containsExactly(new HeldRef(ref(1), HeldRef.BROADCAST, 100, List.of()));

        SubmitJob job = new SubmitJob(1, ref(9), new byte[] {1}, false);
        lineage.jobPlanned(job, List.of(ref(10), ref(11)), List.of(ref(12)));
        lineage.done(ref(12), 40, false);
        assertThat(lineage.holds()).extracting(HeldRef::ref).containsExactly(ref(1), ref(12));
    }

    @Test
    void aJobIsSentAgainWhileAResultIsHeldOrReadByAPendingTaskAndItsReleasedResultsAreReleased() {
        SubmitJob job = new SubmitJob(1, ref(9), new byte[] {1}, false);
        lineage.jobPlanned(job, List.of(ref(10), ref(11)), List.of());
        lineage.done(ref(10), 8, false);
        lineage.done(ref(11), 8, false);
        assertThat(lineage.liveJobs()).as("done but held: a lost result is recomputed").containsExactly(job);
        assertThat(lineage.holds()).as("results travel with their job, not in a Hold").isEmpty();

        lineage.released(ref(10));
        assertThat(lineage.liveJobs()).containsExactly(job);
        assertThat(lineage.keptForLineage()).as("the job sent again must not hold what the user released")
                .containsExactly(ref(10));

        task(20, 1, 11);
        lineage.released(ref(11));
        assertThat(lineage.liveJobs()).as("a held task reads a released result").containsExactly(job);
        assertThat(lineage.keptForLineage()).containsExactlyInAnyOrder(ref(10), ref(11));

        lineage.done(ref(20), 8, false);
        assertThat(lineage.liveJobs()).as("its lineage, while 20 is held").containsExactly(job);
        lineage.released(ref(20));
        assertThat(lineage.liveJobs()).as("no result is live any more").isEmpty();
        assertThat(lineage.keptForLineage()).isEmpty();
    }

    @Test
    void aBroadcastAJobReadsIsHeldForItAfterTheUserReleasesItUntilTheJobIsOver() {
        RefId stop = ref(5);
        lineage.held(stop, HeldRef.BROADCAST, 64);
        lineage.done(stop, 64, false);
        SubmitJob job = new SubmitJob(1, ref(9), new byte[] {1}, false);
        lineage.jobPinned(job.job(), List.of(stop));
        lineage.jobPlanned(job, List.of(ref(10)), List.of());

        lineage.released(stop); // the user is done with it, the job is not
        assertThat(lineage.holds()).extracting(HeldRef::ref).as("a new leader must know what the job reads")
                .containsExactly(stop);
        assertThat(lineage.keptForLineage()).containsExactly(stop);

        lineage.done(ref(10), 8, false);
        lineage.released(ref(10));
        assertThat(lineage.liveJobs()).isEmpty();
        assertThat(lineage.holds()).as("the job is over: nothing reads it").isEmpty();
        assertThat(lineage.keptForLineage()).isEmpty();
    }

    @Test
    void aRefusedJobPinsNothing() {
        RefId stop = ref(5);
        lineage.held(stop, HeldRef.BROADCAST, 64);
        lineage.done(stop, 64, false);
        lineage.jobPinned(ref(9), List.of(stop));
        lineage.jobUnpinned(ref(9));
        lineage.released(stop);
        assertThat(lineage.holds()).isEmpty();
    }

    @Test
    void afterTheFailoverTimeoutOnlyDoneHeldRefsRemain() {
        task(1, 1);
        task(2, 2, 1);
        task(3, 3);
        lineage.done(ref(3), 8, false);
        lineage.released(ref(1));
        lineage.abandonUnfinished();
        assertThat(resubmitted()).containsExactly(ref(3));
        assertThat(lineage.keptForLineage()).isEmpty();
    }
}
