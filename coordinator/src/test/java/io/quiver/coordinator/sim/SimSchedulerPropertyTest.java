package io.quiver.coordinator.sim;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.ShrinkingMode;

/**
 * The scheduler under random workloads and random faults (leader crashes and depositions, executor
 * crashes and session expiries, dropped links), one deterministic {@link Simulation} per seed, the
 * invariants of {@link SimInvariants} checked after every event. A failing seed prints itself with
 * the last events; {@link SimReplayTest} runs it again as a plain test.
 *
 * <p>Shrinking is off: a seed is not a value that gets simpler by getting smaller.
 */
class SimSchedulerPropertyTest {

    @Property(tries = 1000, shrinking = ShrinkingMode.OFF)
    void nothingIsLostAcrossFailures(@ForAll long seed) {
        Simulation.Result result = Simulation.run(seed, SimLeader.SCHEDULER, true);
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
        Simulation.Result result = Simulation.run(seed, SimLeader.SCHEDULER, true, java.util.EnumSet.noneOf(Simulation.Fault.class));
        if (!result.passed()) {
            throw new AssertionError(result.report());
        }
    }
}
