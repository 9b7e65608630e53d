package io.quiver.coordinator.sim;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Replays one seed of {@link SimSchedulerPropertyTest} as a plain test:
 * {@code -Dquiver.sim.seed=N} (add {@code -Dquiver.sim.trace=all} to print every event, and
 * {@code -Dquiver.sim.faults=LEADER_CRASH,...} to replay a seed of a survey of some kinds only, and
 * {@code -Dquiver.sim.collect=true} to go on past the first violation, as the survey does). With
 * {@code -Dquiver.sim.survey=N} it instead runs seeds 1..N to the end, collecting every violation,
 * and prints which invariants fail with which seeds and how ({@code -Dquiver.sim.survey.each=true}:
 * also with one kind of fault at a time).
 */
class SimReplayTest {

    @Test
    void replay() {
        String seed = System.getProperty("quiver.sim.seed");
        assumeTrue(seed != null, "set -Dquiver.sim.seed=N to replay a seed");
        Simulation.Result result = Simulation.run(Long.parseLong(seed.trim()), SimLeader.SCHEDULER,
                !Boolean.getBoolean("quiver.sim.collect"), faults());
        System.out.println(result.report());
        if (!result.passed()) {
            throw new AssertionError(result.report());
        }
    }

    /** {@code -Dquiver.sim.faults=LEADER_CRASH,LINK_DROP}: only these kinds (the survey prints them so). */
    private static Set<Simulation.Fault> faults() {
        String s = System.getProperty("quiver.sim.faults", "").trim();
        if (s.isEmpty()) {
            return EnumSet.allOf(Simulation.Fault.class);
        }
        Set<Simulation.Fault> kinds = EnumSet.noneOf(Simulation.Fault.class);
        for (String k : s.replaceAll("[\\[\\] ]", "").split(",")) {
            if (!k.isEmpty()) {
                kinds.add(Simulation.Fault.valueOf(k));
            }
        }
        return kinds;
    }

    @Test
    void survey() {
        String n = System.getProperty("quiver.sim.survey");
        assumeTrue(n != null, "set -Dquiver.sim.survey=N to survey seeds 1..N");
        int seeds = Integer.parseInt(n.trim());
        List<Set<Simulation.Fault>> plans = new ArrayList<>();
        plans.add(faults());
        if (Boolean.getBoolean("quiver.sim.survey.each")) {
            for (Simulation.Fault f : Simulation.Fault.values()) {
                plans.add(EnumSet.of(f));
            }
        }
        for (Set<Simulation.Fault> faults : plans) {
            System.out.println(survey(seeds, faults));
        }
    }

    private static String survey(int seeds, Set<Simulation.Fault> faults) {
        Map<SimInvariants.Invariant, List<Long>> failing = new TreeMap<>();
        Map<SimInvariants.Invariant, Map<String, List<Long>>> kinds = new TreeMap<>();
        int passed = 0;
        long refused = 0;
        long staleExecuted = 0;
        long runs = 0;
        int fencedSeeds = 0;
        long start = System.nanoTime();
        for (long seed = 1; seed <= seeds; seed++) {
            Simulation.Result r = Simulation.run(seed, SimLeader.SCHEDULER, false, faults);
            if (r.passed()) {
                passed++;
            }
            refused += r.refusedCommands();
            staleExecuted += r.staleExecuted();
            runs += r.taskRuns();
            fencedSeeds += r.refusedCommands() > 0 ? 1 : 0;
            for (SimInvariants.Violation v : r.violations()) {
                List<Long> list = failing.computeIfAbsent(v.invariant(), k -> new ArrayList<>());
                if (list.isEmpty() || list.get(list.size() - 1) != seed) {
                    list.add(seed);
                    kinds.computeIfAbsent(v.invariant(), k -> new TreeMap<>())
                            .computeIfAbsent(pattern(v.detail()), k -> new ArrayList<>()).add(seed);
                }
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("survey of seeds 1..%d with faults %s: %d passed, %.1f s%n", seeds, faults, passed,
                (System.nanoTime() - start) / 1e9));
        sb.append(String.format("  %d task runs; %d stale commands refused (in %d seeds), %d executed%n", runs, refused,
                fencedSeeds, staleExecuted));
        for (var e : failing.entrySet()) {
            List<Long> s = e.getValue();
            sb.append(String.format("  %-20s fails in %4d seeds, e.g. %s%n", e.getKey(), s.size(),
                    s.subList(0, Math.min(10, s.size()))));
            kinds.get(e.getKey()).entrySet().stream()
                    .sorted((a, b) -> b.getValue().size() - a.getValue().size()).limit(5)
                    .forEach(k -> sb.append(String.format("      %4d x (e.g. seed %d) %s%n", k.getValue().size(),
                            k.getValue().get(0), k.getKey())));
        }
        return sb.toString();
    }

    /** A violation's text without its particulars, so that alike ones count together. */
    private static String pattern(String detail) {
        String first = detail.lines().findFirst().orElse("");
        first = first.replaceAll("ref-[0-9a-f]+-[0-9]+", "REF").replaceAll("exec-[0-9]+", "EXEC")
                .replaceAll("leader@[0-9]+", "LEADER").replaceAll("client-[0-9]+", "CLIENT")
                .replaceAll("[0-9]+\\.[0-9]+s", "T").replaceAll("\\[[^\\]]*\\]", "[..]").replaceAll("[0-9]+", "N");
        return first.length() > 150 ? first.substring(0, 150) + "..." : first;
    }
}
