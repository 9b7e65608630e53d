package io.quiver.coordinator.sim;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Replays one seed of {@link SimSchedulerPropertyTest} as a plain test:
 * {@code -Dquiver.sim.seed=N} (add {@code -Dquiver.sim.trace=all} to print every event). With
 * {@code -Dquiver.sim.survey=N} it instead runs seeds 1..N to the end, collecting every violation,
 * and prints which invariants fail with which seeds.
 */
class SimReplayTest {

    @Test
    void replay() {
        String seed = System.getProperty("quiver.sim.seed");
        assumeTrue(seed != null, "set -Dquiver.sim.seed=N to replay a seed");
        Simulation.Result result = Simulation.run(Long.parseLong(seed.trim()), SimLeader.SCHEDULER, true);
        System.out.println(result.report());
        if (!result.passed()) {
            throw new AssertionError(result.report());
        }
    }

    @Test
    void survey() {
        String n = System.getProperty("quiver.sim.survey");
        assumeTrue(n != null, "set -Dquiver.sim.survey=N to survey seeds 1..N");
        int seeds = Integer.parseInt(n.trim());
        Map<SimInvariants.Invariant, List<Long>> failing = new LinkedHashMap<>();
        Map<SimInvariants.Invariant, String> example = new LinkedHashMap<>();
        int passed = 0;
        long start = System.nanoTime();
        for (long seed = 1; seed <= seeds; seed++) {
            Simulation.Result r = Simulation.run(seed, SimLeader.SCHEDULER, false);
            if (r.passed()) {
                passed++;
            }
            for (SimInvariants.Violation v : r.violations()) {
                List<Long> list = failing.computeIfAbsent(v.invariant(), k -> new ArrayList<>());
                if (list.isEmpty() || list.get(list.size() - 1) != seed) {
                    list.add(seed);
                }
                example.putIfAbsent(v.invariant(), "seed " + seed + ": " + v);
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("survey of seeds 1..%d: %d passed, %.1f s%n", seeds, passed,
                (System.nanoTime() - start) / 1e9));
        for (var e : failing.entrySet()) {
            List<Long> s = e.getValue();
            sb.append(String.format("%-22s fails in %4d seeds, e.g. %s%n", e.getKey(), s.size(),
                    s.subList(0, Math.min(12, s.size()))));
            sb.append("    ").append(example.get(e.getKey()).lines().findFirst().orElse("")).append('\n');
        }
        System.out.println(sb);
    }
}
