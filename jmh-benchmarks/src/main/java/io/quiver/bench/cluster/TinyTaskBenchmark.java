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
 * Scheduler overhead: {@code map} of 10,000 trivial tasks, a loop of 10,000 single submits, and a
 * chain of 2,000 dependent tasks,
 * on 2 executors x 1 slot (separate JVMs). Scores are per task.
 *
 * <pre>java -jar jmh-benchmarks/target/benchmarks.jar TinyTaskBenchmark</pre>
 */
@State(Scope.Benchmark)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class TinyTaskBenchmark {
    static final int MAP_TASKS = 10_000;
    static final int CHAIN = 2_000;

    LocalCluster cluster;
    Quiver q;
    List<Integer> items;

    @Setup(Level.Trial)
    public void startCluster() {
        cluster = BenchClusters.start(512L << 20);
        q = cluster.connect();
        items = new ArrayList<>(MAP_TASKS);
        for (int i = 0; i < MAP_TASKS; i++) {
            items.add(i);
        }
    }

    @TearDown(Level.Trial)
    public void stopCluster() {
        q.close();
        cluster.close();
    }

    /** Throughput of trivial tasks: ops/s here is tasks per second. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(MAP_TASKS)
    public long mapTrivial() {
        List<Ref<Integer>> refs = q.map(x -> x + 1, items);
        long sum = 0;
        for (int v : q.gather(refs)) {
            sum += v;
        }
        refs.forEach(Ref::close);
        return sum;
    }

    /**
     * A tight loop of single submits, each its own function (a lambda capturing its index), as in
     * Dask's {@code [client.submit(inc, i) for i in range(10_000)]}: ops/s is tasks per second.
     */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(MAP_TASKS)
    public long submitLoop() {
        List<Ref<Integer>> refs = new ArrayList<>(MAP_TASKS);
        for (int i = 0; i < MAP_TASKS; i++) {
            int k = i;
            refs.add(q.submit(() -> k + 1));
        }
        long sum = 0;
        for (int v : q.gather(refs)) {
            sum += v;
        }
        refs.forEach(Ref::close);
        return sum;
    }

    /** A chain of dependent tasks: time per link. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @OperationsPerInvocation(CHAIN)
    public long chain() {
        List<Ref<Long>> links = new ArrayList<>(CHAIN);
        Ref<Long> prev = q.submit(() -> 0L);
        links.add(prev);
        for (int i = 1; i < CHAIN; i++) {
            prev = q.submit(x -> x + 1, prev);
            links.add(prev);
        }
        long last = prev.result();
        links.forEach(Ref::close);
        return last;
    }
}
