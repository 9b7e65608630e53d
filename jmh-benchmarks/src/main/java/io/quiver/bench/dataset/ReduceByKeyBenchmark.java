package io.quiver.bench.dataset;

import io.quiver.KV;
import io.quiver.Quiver;
import io.quiver.local.LocalCluster;
import java.util.Map;
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
 * Issue 3's dataset target: a 10-million-row {@code reduceByKey} (1,000 keys, map-side combine, 20
 * partitions) collected as a map, on 2 executors x 1 slot in separate JVMs. Each invocation is one
 * whole job: plan, 40 tasks, shuffle, collect. Beside it, the same job over 20 rows: the fixed cost
 * of a two-stage job, which the big one pays too. {@code -Dquiver.bench.inProcess=true} runs the
 * executors inside the benchmark JVM (for profiling).
 *
 * <pre>java -jar jmh-benchmarks/target/benchmarks.jar ReduceByKeyBenchmark</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 10)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class ReduceByKeyBenchmark {
    static final long ROWS = 10_000_000;
    static final int PARTITIONS = 20;
    static final int KEYS = 1_000;

    LocalCluster cluster;
    Quiver q;

    @Setup(Level.Trial)
    public void startCluster() {
        cluster = LocalCluster.start(LocalCluster.options()
                .executors(2)
                .slotsPerExecutor(1)
                .executorMemory(512L << 20)
                .separateProcesses(!Boolean.getBoolean("quiver.bench.inProcess")));
        q = cluster.connect();
        Map<Integer, Double> check = reduceByKey(q, ROWS);
        if (check.size() != KEYS) {
            throw new IllegalStateException("expected " + KEYS + " keys, got " + check.size());
        }
    }

    @TearDown(Level.Trial)
    public void stopCluster() {
        q.close();
        cluster.close();
    }

    static Map<Integer, Double> reduceByKey(Quiver q, long rows) {
        return q.range(0, rows, PARTITIONS)
                .mapToPair(i -> KV.of((int) (i % KEYS), (double) (i % 7)))
                .reduceByKey(Double::sum)
                .collectAsMap();
    }

    /** The job: 10 million rows. */
    @Benchmark
    public Map<Integer, Double> tenMillionRows() {
        return reduceByKey(q, ROWS);
    }

    /** Baseline: the same two-stage job over 20 rows (scheduling, shipping and collecting only). */
    @Benchmark
    public Map<Integer, Double> twentyRows() {
        return reduceByKey(q, PARTITIONS);
    }
}
