package io.quiver.bench.dataset;

import io.quiver.KV;
import io.quiver.Quiver;
import io.quiver.local.LocalCluster;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
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
 * Issue 10's shuffle targets, on 2 executors x 1 slot in separate JVMs, each invocation one whole
 * job: ten elements repartitioned from 1,000 to 2,001 partitions (Spark's SPARK-4019 case), a
 * {@code groupByKey} of four elements in 2,000 partitions, and issue 3's 10-million-row {@code
 * reduceByKey} into 200 reduce partitions (Spark's default {@code spark.sql.shuffle.partitions})
 * beside the same job into 20. The tiny ones measure what a shuffle costs per empty bucket: with
 * map outputs reporting their non-empty buckets, almost nothing.
 *
 * <pre>flock /work/jmh.lock java -jar jmh-benchmarks/target/benchmarks.jar ShuffleScaleBenchmark</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class ShuffleScaleBenchmark {
    static final List<Integer> TEN = IntStream.range(0, 10).boxed().toList();
    static final List<Integer> FOUR = List.of(1, 2, 3, 4);

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
    }

    @TearDown(Level.Trial)
    public void stopCluster() {
        q.close();
        cluster.close();
    }

    /** SPARK-4019: 10 elements, 1,000 map partitions, 2,001 reduce partitions. */
    @Benchmark
    public long repartitionTenElements1000To2001() {
        long n = q.parallelize(TEN, 1000).repartition(2001).count();
        if (n != 10) {
            throw new IllegalStateException("expected 10 elements, got " + n);
        }
        return n;
    }

    /** 4 elements in 2,000 partitions grouped by key (2,000 map x 2,000 reduce partitions). */
    @Benchmark
    public Map<Integer, List<Integer>> groupByKeyFourElements2000Partitions() {
        Map<Integer, List<Integer>> groups = q.parallelize(FOUR, 2000).mapToPair(x -> KV.of(x, x)).groupByKey()
                .collectAsMap();
        if (groups.size() != 4) {
            throw new IllegalStateException("expected 4 groups, got " + groups.size());
        }
        return groups;
    }

    /** Issue 3's job (10 M rows, 1,000 keys, 20 map partitions) into 200 reduce partitions. */
    @Benchmark
    public Map<Integer, Double> reduceByKeyTenMillionRows200Partitions() {
        return reduceByKey(200);
    }

    /** The same job into 20 reduce partitions (ReduceByKeyBenchmark.tenMillionRows), beside it. */
    @Benchmark
    public Map<Integer, Double> reduceByKeyTenMillionRows20Partitions() {
        return reduceByKey(20);
    }

    private Map<Integer, Double> reduceByKey(int partitions) {
        Map<Integer, Double> out = q.range(0, ReduceByKeyBenchmark.ROWS, ReduceByKeyBenchmark.PARTITIONS)
                .mapToPair(i -> KV.of((int) (i % ReduceByKeyBenchmark.KEYS), (double) (i % 7)))
                .reduceByKey(Double::sum, partitions)
                .collectAsMap();
        if (out.size() != ReduceByKeyBenchmark.KEYS) {
            throw new IllegalStateException("expected " + ReduceByKeyBenchmark.KEYS + " keys, got " + out.size());
        }
        return out;
    }
}
