package io.quiver.coordinator.sched;

import java.util.List;

/**
 * DESIGN.md's placement rule as a pure function: score every candidate by the time to fetch the
 * inputs it lacks plus the time it would wait behind its queue; the lowest score wins.
 */
public final class Placement {
    /** Bytes per nanosecond assumed for moving data between executors (about 1 GB/s). */
    static final double REMOTE_BYTES_PER_NANO = 1.0;
    /** Executors on the same host move data about twice as fast. */
    static final double SAME_HOST_BYTES_PER_NANO = 2.0;

    private Placement() {}

    /** One candidate executor as the scheduler sees it. */
    public record Candidate(int index, String host, int queued, int slots, double avgTaskNanos) {
        double expectedWaitNanos() {
            return (double) queued * avgTaskNanos / slots;
        }
    }

    /** One input of the task: its size and where it lives (broadcast inputs live everywhere). */
    public record Input(long bytes, List<Integer> holders, List<String> holderHosts) {}

    /** Fetch time of {@code inputs} onto {@code c}: zero for what it holds, cheaper from its own host. */
    public static double fetchNanos(Candidate c, List<Input> inputs) {
        double total = 0;
        for (Input in : inputs) {
            if (in.bytes() <= 0 || in.holders().contains(c.index())) {
                continue;
            }
            boolean sameHost = in.holderHosts().contains(c.host());
            total += in.bytes() / (sameHost ? SAME_HOST_BYTES_PER_NANO : REMOTE_BYTES_PER_NANO);
        }
        return total;
    }

    public static double score(Candidate c, List<Input> inputs) {
        return fetchNanos(c, inputs) + c.expectedWaitNanos();
    }

    /** The index (into {@code candidates}) of the lowest score; ties go to the shorter queue, then the first. */
    public static int choose(List<Candidate> candidates, List<Input> inputs) {
        int best = -1;
        double bestScore = Double.MAX_VALUE;
        int bestQueued = Integer.MAX_VALUE;
        for (int i = 0; i < candidates.size(); i++) {
            Candidate c = candidates.get(i);
            double s = score(c, inputs);
            if (s < bestScore || (s == bestScore && c.queued() < bestQueued)) {
                best = i;
                bestScore = s;
                bestQueued = c.queued();
            }
        }
        return best;
    }
}
