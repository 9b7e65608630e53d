package io.quiver.bench.cluster;

import io.quiver.cli.TlsInit;
import io.quiver.local.LocalCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.List;

/** The cluster every engine benchmark runs on: the 2 executors x 1 slot, separate JVMs. */
final class BenchClusters {
    private BenchClusters() {}

    static LocalCluster start(long executorMemoryBytes) {
        return start(executorMemoryBytes, null);
    }

    /**
     * With {@code tls} not null: every connection of the cluster and of its clients is mutual TLS
     * with these files ({@link #tlsFiles}).
     */
    static LocalCluster start(long executorMemoryBytes, TlsInit.Result tls) {
        return start(executorMemoryBytes, tls, 2);
    }

    /** As {@link #start(long, TlsInit.Result)} with {@code executors} executors of 1 slot each. */
    static LocalCluster start(long executorMemoryBytes, TlsInit.Result tls, int executors) {
        boolean separate = !Boolean.getBoolean("quiver.bench.inProcess");
        LocalCluster.Options options = LocalCluster.options()
                .executors(executors)
                .slotsPerExecutor(1)
                .executorMemory(executorMemoryBytes)
                .separateProcesses(separate);
        if (tls != null) {
            options.tls(tls.cert(), tls.key(), tls.trust());
        }
        return LocalCluster.start(options);
    }

    /** A fresh cluster CA and node certificate ({@code quiver tls-init}) in a new temp directory. */
    static TlsInit.Result tlsFiles() {
        try {
            return TlsInit.run(Files.createTempDirectory("quiver-bench-tls-"), List.of(), 1, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
