package io.quiver.bench.cluster;

import io.quiver.Quiver;
import io.quiver.local.LocalCluster;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cluster start-up (issue 11): from {@code LocalCluster.start} to the first task's result on a
 * client connected to it, 2 executors x 1 slot, in-process or as child JVMs; the cluster is closed
 * after the shot, outside the time. ZooKeeper, the coordinator and (in-process) the executors run in
 * the benchmark's JVM.
 *
 * <p>The figure a user sees is the cold one: each fork is a fresh JVM, so with no warm-up the
 * single measured shot is the first start of that JVM. Five forks give five cold starts:
 *
 * <pre>java -jar jmh-benchmarks/target/benchmarks.jar ClusterStartBenchmark -f 5 -wi 0 -i 1</pre>
 *
 * and a warm figure, after a start and close in the same JVM: {@code -f 1 -wi 1 -i 5}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 0)
@Measurement(iterations = 1)
@Fork(value = 5, jvmArgsAppend = {"-Xmx1g"})
public class ClusterStartBenchmark {
    /** Executors as child JVMs ({@code true}) or in this JVM. */
    @Param({"false", "true"})
    boolean separateProcesses;

    private LocalCluster cluster;
    private Quiver q;

    /** Start, connect, one trivial task's result. */
    @Benchmark
    public int startConnectFirstTask() {
        cluster = LocalCluster.start(LocalCluster.options()
                .executors(2)
                .slotsPerExecutor(1)
                .executorMemory(256L << 20)
                .separateProcesses(separateProcesses)
                .startTimeout(Duration.ofSeconds(60)));
        q = cluster.connect();
        return q.submit(() -> 42).result();
    }

    @TearDown(Level.Iteration)
    public void close() {
        if (q != null) {
            q.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        q = null;
        cluster = null;
    }
}
