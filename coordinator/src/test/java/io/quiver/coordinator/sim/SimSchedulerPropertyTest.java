package io.quiver.coordinator.sim;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.ShrinkingMode;

/**
 * The scheduler under random workloads and random faults, one deterministic {@link Simulation} per
 * seed, the invariants of {@link SimInvariants} checked after every event. A failing seed prints
 * itself with the last events; {@link SimReplayTest} runs it again as a plain test.
 *
 * <p>Shrinking is off: a seed is not a value that gets simpler by getting smaller.
 *
 * <p>What runs in every build: the fault-free baseline, every fault kind over the fixed seeds
 * 1..{@value #FIXED_SEEDS} plus {@link #ONCE_FAILED} (a regression guard: each of them passes and
 * must go on passing), and every fault kind over 1,000 random seeds ({@code
 * nothingIsLostAcrossFailures}), so each build looks somewhere new; a failing seed prints its
 * replay command. Seeds 1..60,000 all pass with every fault kind (survey of 2026-12-02). A survey
 * of seeds by fault kind is {@code -Dtest=SimReplayTest -Dquiver.sim.survey=20000
 * [-Dquiver.sim.faults=KIND]}.
 */
class SimSchedulerPropertyTest {
    static final int FIXED_SEEDS = 2000;
    /**
     * Seeds that failed once and were fixed: 3076 and 17279 (an input missing where it ran failed
     * the task as lost), 15849 (a task that ended before its client resumed was adopted as running),
     * 29155 (a broadcast a pending job read, released by the user, was not held again on resume),
     * 1763 (a job forgotten while its blocks lived) and 20056 (a map output dropped once read, then
     * reported by a reader's executor that had fetched it, was computed again when a lost result
     * needed it although that copy existed).
     */
    static final long[] ONCE_FAILED = {1763, 3076, 15849, 17279, 20056, 29155};

    /** Every fault kind, seeds 1..FIXED_SEEDS: all of them pass, and must go on passing. */
    @org.junit.jupiter.api.Test
    void nothingIsLostAcrossFailuresOnTheFixedSeeds() {
        List<String> failed = new ArrayList<>();
        java.util.stream.LongStream seeds = java.util.stream.LongStream.concat(
                java.util.stream.LongStream.rangeClosed(1, FIXED_SEEDS), java.util.Arrays.stream(ONCE_FAILED));
        for (long seed : seeds.toArray()) {
            Simulation.Result result = Simulation.run(seed, SimLeader.SCHEDULER, true, EnumSet.allOf(Simulation.Fault.class));
            if (!result.passed()) {
                failed.add(result.report());
            }
        }
        if (!failed.isEmpty()) {
            throw new AssertionError(failed.size() + " of seeds 1.." + FIXED_SEEDS + " and " + java.util.Arrays.toString(ONCE_FAILED) + " fail; the first:\n" + failed.get(0));
        }
    }

    @Property(tries = 1000, shrinking = ShrinkingMode.OFF)
    void nothingIsLostAcrossFailures(@ForAll long seed) {
        Simulation.Result result = Simulation.run(seed, SimLeader.SCHEDULER, true, EnumSet.allOf(Simulation.Fault.class));
        if (!result.passed()) {
            throw new AssertionError(result.report());
        }
    }

    /**
     * The same workloads with no fault injected: what the scheduler did before failover work began
     * must hold here, so a failure here is a harness bug or a plain scheduling bug.
     */
    @Property(tries = 200, shrinking = ShrinkingMode.OFF)
    void withoutFaultsEverythingCompletes(@ForAll long seed) {
        Simulation.Result result = Simulation.run(seed, SimLeader.SCHEDULER, true, EnumSet.noneOf(Simulation.Fault.class));
        if (!result.passed()) {
            throw new AssertionError(result.report());
        }
    }
}
