package io.quiver.process;

import io.quiver.KV;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Task functions of the process tests. They run on the executors (child JVMs that have the test
 * classes on their class path); each run leaves a {@link TestingMarkers} marker, and each result is
 * derived from the task's index so that a test can check every value. Only a directory name, a key
 * and small numbers travel with the functions that call these.
 *
 * <p>The sleeps stand in for work inside a task, so that a failure can be caused while a job is in
 * flight without burning the machine's two cores; tests themselves never sleep.
 */
public final class TestingTasks {
    private TestingTasks() {}

    /** The value of task {@code i} over a broadcast {@code data}. */
    public static long expected(int i, double[] data) {
        return i * 1_000_003L + (long) data[i % data.length];
    }

    /** Task {@code i} over a broadcast: marks {@code <prefix>-<i>}, works about {@code workMillis}, returns {@link #expected}. */
    public static long indexed(String markers, String prefix, int i, double[] data, long workMillis) throws InterruptedException {
        if (workMillis > 0) {
            Thread.sleep(workMillis);
        }
        TestingMarkers.mark(markers, prefix + "-" + i);
        return expected(i, data);
    }

    /** Task {@code i} without inputs: marks {@code <prefix>-<i>}, works about {@code workMillis}, returns {@code i * i}. */
    public static long square(String markers, String prefix, int i, long workMillis) throws InterruptedException {
        if (workMillis > 0) {
            Thread.sleep(workMillis);
        }
        TestingMarkers.mark(markers, prefix + "-" + i);
        return (long) i * i;
    }

    /** A broadcast payload of {@code mib} MiB: {@code data[j] = j % 1000}. */
    public static double[] payload(int mib) {
        double[] data = new double[mib * (1 << 20) / 8];
        for (int j = 0; j < data.length; j++) {
            data[j] = j % 1000;
        }
        return data;
    }

    /**
     * A {@code mapPartitions} over a {@code range}: works about {@code workMillis}, then marks
     * {@code <stage>-<first element>} (each range partition has its own first element) and passes the
     * partition on.
     */
    public static Iterator<Long> markRange(String markers, String stage, Iterator<Long> it, long workMillis)
            throws InterruptedException {
        List<Long> all = new ArrayList<>();
        it.forEachRemaining(all::add);
        if (workMillis > 0) {
            Thread.sleep(workMillis);
        }
        TestingMarkers.mark(markers, stage + "-" + (all.isEmpty() ? "empty" : all.get(0)));
        return all.iterator();
    }

    /**
     * A {@code mapPartitions} after a shuffle: works about {@code workMillis}, then marks
     * {@code <stage>-<smallest key>} (keys are hash-partitioned, so each partition's smallest key is its
     * own) and passes the partition on.
     */
    public static Iterator<KV<Integer, Long>> markReduced(String markers, String stage, Iterator<KV<Integer, Long>> it,
                                                          long workMillis) throws InterruptedException {
        List<KV<Integer, Long>> all = new ArrayList<>();
        it.forEachRemaining(all::add);
        if (workMillis > 0) {
            Thread.sleep(workMillis);
        }
        int min = all.stream().mapToInt(KV::key).min().orElse(-1);
        TestingMarkers.mark(markers, stage + "-" + (min < 0 ? "empty" : Integer.toString(min)));
        return all.iterator();
    }
}
