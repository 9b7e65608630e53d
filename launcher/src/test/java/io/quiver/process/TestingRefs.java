package io.quiver.process;

import io.quiver.Ref;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;

/** Waits for many refs within one bound and counts how each ended, instead of stopping at the first failure. */
public final class TestingRefs {
    private TestingRefs() {}

    /**
     * How a list of refs ended.
     *
     * @param values each ref's value, {@code null} where it failed or was still pending
     * @param failures failed refs per exception type (simple name)
     * @param firstFailure the first failure's type and message, or empty
     * @param millis from the start of {@link #await} until the last ref ended or the bound passed
     */
    public record Outcome<T>(List<T> values, int ok, int pending, Map<String, Integer> failures, String firstFailure,
                             long millis) {
        public int failed() {
            return failures.values().stream().mapToInt(Integer::intValue).sum();
        }

        public boolean allOk() {
            return ok == values.size();
        }

        @Override
        public String toString() {
            return values.size() + " refs: " + ok + " ok, " + failed() + " failed " + failures + ", " + pending
                    + " pending, after " + millis + " ms" + (firstFailure.isEmpty() ? "" : "; first failure: " + firstFailure);
        }
    }

    /** Waits for every ref, in order, until {@code atMost} from now has passed in all. */
    public static <T> Outcome<T> await(List<? extends Ref<T>> refs, Duration atMost) {
        long start = System.nanoTime();
        long deadline = start + atMost.toNanos();
        List<T> values = new ArrayList<>(refs.size());
        Map<String, Integer> failures = new TreeMap<>();
        String first = "";
        int ok = 0;
        int pending = 0;
        for (Ref<T> ref : refs) {
            long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
            try {
                values.add(ref.result(Duration.ofMillis(left)));
                ok++;
            } catch (RuntimeException e) { // QuiverException and its kinds, or a bug's exception
                values.add(null);
                if (e.getCause() instanceof TimeoutException) {
                    pending++;
                } else {
                    failures.merge(e.getClass().getSimpleName(), 1, Integer::sum);
                    if (first.isEmpty()) {
                        first = e.getClass().getSimpleName() + ": " + e.getMessage();
                    }
                }
            }
        }
        return new Outcome<>(values, ok, pending, failures, first, (System.nanoTime() - start) / 1_000_000);
    }

    /** Like {@link #await(List, Duration)}, for one ref. */
    public static <T> Outcome<T> await(Ref<T> ref, Duration atMost) {
        return await(List.of(ref), atMost);
    }
}
