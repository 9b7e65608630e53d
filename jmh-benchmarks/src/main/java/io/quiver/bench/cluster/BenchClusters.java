package io.quiver.bench.cluster;

import io.quiver.local.LocalCluster;

/** The cluster every engine benchmark runs on: the 2 executors x 1 slot, separate JVMs. */
final class BenchClusters {
    private BenchClusters() {}

    static LocalCluster start(long executorMemoryBytes) {
        boolean separate = !Boolean.getBoolean("quiver.bench.inProcess");
        return LocalCluster.start(LocalCluster.options()
                .executors(2)
                .slotsPerExecutor(1)
                .executorMemory(executorMemoryBytes)
                .separateProcesses(separate));
    }

    /** The demo's cheap per-task function: sum of squares of slice k of {@code tasks} slices. */
    static double sliceSumOfSquares(double[] d, int k, int tasks) {
        int per = d.length / tasks;
        int from = k * per;
        int to = k == tasks - 1 ? d.length : from + per;
        double s = 0;
        for (int i = from; i < to; i++) {
            s += d[i] * d[i];
        }
        return s;
    }
}
