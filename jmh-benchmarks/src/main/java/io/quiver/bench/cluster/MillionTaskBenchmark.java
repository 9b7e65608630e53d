package io.quiver.bench.cluster;

import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.local.LocalCluster;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Scale: a {@code map} of 1,000,000 trivial tasks, on 2 executors x 1 slot (separate JVMs), must
 * keep the throughput of the 10,000-task map of {@code TinyTaskBenchmark} (issue 11). Single
 * shots: each is a million tasks.
 *
 * <pre>java -jar jmh-benchmarks/target/benchmarks.jar MillionTaskBenchmark</pre>
 */
@State(Scope.Benchmark)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@BenchmarkMode(Mode.SingleShotTime)
@Fork(value = 1, jvmArgsAppend = {"-Xmx6g"})
public class MillionTaskBenchmark {
    static final int TASKS = 1_000_000;

    LocalCluster cluster;
    Quiver q;
    List<Integer> items;

    @Setup(Level.Trial)
    public void startCluster() {
        cluster = BenchClusters.start(512L << 20);
        q = cluster.connect();
        items = new ArrayList<>(TASKS);
        for (int i = 0; i < TASKS; i++) {
            items.add(i);
        }
    }

    @TearDown(Level.Trial)
    public void stopCluster() {
        q.close();
        cluster.close();
    }

    /** Time per task of a map of a million; 1e6 / score is tasks per second. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @OperationsPerInvocation(TASKS)
    public long map() {
        List<Ref<Integer>> refs = q.map(x -> x + 1, items);
        long sum = 0;
        for (int v : q.gather(refs)) {
            sum += v;
        }
        refs.forEach(Ref::close);
        return sum;
    }
}
