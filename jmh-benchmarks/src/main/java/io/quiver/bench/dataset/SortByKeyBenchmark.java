package io.quiver.bench.dataset;

import io.quiver.Dataset;
import io.quiver.KV;
import io.quiver.Quiver;
import io.quiver.local.LocalCluster;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Issue 10's sort target: {@code sortByKey} of 10 million scrambled {@code long} keys into 20
 * partitions, on 2 executors x 1 slot in separate JVMs, ended by {@code count()} (so the sorted
 * rows stay on the executors, as a Spark {@code sortByKey().count()} does). Each invocation is the
 * sampling job plus the sort job: 20 map tasks, a range shuffle of every row, 20 sorting reduce
 * tasks. Beside it, {@code take(10)} of a 1,000-partition dataset (one task) and the same sort over
 * 20 rows (the fixed cost of the two jobs). {@code -Dquiver.bench.inProcess=true} runs the
 * executors inside the benchmark JVM.
 *
 * <pre>java -jar jmh-benchmarks/target/benchmarks.jar SortByKeyBenchmark</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class SortByKeyBenchmark {
    static final long ROWS = 10_000_000;
    static final int PARTITIONS = 20;

    LocalCluster cluster;
    Quiver q;

    @Setup(Level.Trial)
    public void startCluster() {
        cluster = LocalCluster.start(LocalCluster.options()
                .executors(2)
                .slotsPerExecutor(1)
                .executorMemory(1024L << 20)
                .separateProcesses(!Boolean.getBoolean("quiver.bench.inProcess")));
        q = cluster.connect();
        List<Long> sorted = keys(q, 100_000).sortByKey(true).keys().collect();
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i - 1) > sorted.get(i)) {
                throw new IllegalStateException("not sorted at " + i + ": " + sorted.get(i - 1) + " > " + sorted.get(i));
            }
        }
        if (sorted.size() != 100_000) {
            throw new IllegalStateException("expected 100000 rows, got " + sorted.size());
        }
    }

    @TearDown(Level.Trial)
    public void stopCluster() {
        q.close();
        cluster.close();
    }

    /** Pairs {@code KV(scrambled key, row)}: keys spread over the whole long range. */
    static io.quiver.PairDataset<Long, Long> keys(Quiver q, long rows) {
        return q.range(0, rows, PARTITIONS).keyBy(SortByKeyBenchmark::scramble);
    }

    static long scramble(long x) {
        long z = x * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        return z ^ (z >>> 31);
    }

    /** The job: 10 million long keys into 20 partitions. */
    @Benchmark
    public long tenMillionKeys() {
        return keys(q, ROWS).sortByKey(true).count();
    }

    /** Baseline: the same two jobs over 20 rows. */
    @Benchmark
    public long twentyKeys() {
        return keys(q, PARTITIONS).sortByKey(true).count();
    }

    /** {@code take(10)} of a 1,000-partition dataset: runs one task. */
    @Benchmark
    public List<Long> takeTenOfAThousandPartitions() {
        Dataset<Long> d = q.range(0, 1_000_000, 1000);
        return d.take(10);
    }
}
