package io.quiver.bench.cluster;

import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.cli.TlsInit;
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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The pre-scatter scenario of issue 2 on 2 executors x 1 slot (separate JVMs): broadcast a big
 * array once, submit many small functions over it, gather. Beside it the naive way, the array
 * captured in the function, for one task (it is slow by nature).
 *
 * <pre>java -jar jmh-benchmarks/target/benchmarks.jar PreScatterBenchmark</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5)
@Measurement(iterations = 20)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g", "-XX:MaxDirectMemorySize=3g"})
public class PreScatterBenchmark {
    @Param("256")
    int sizeMb;

    @Param("200")
    int tasks;

    /**
     * With {@code true}, a client polls the leader's {@code /api/cluster} 10 times a second during
     * the trial: serving the status page must cost the scheduler loop nothing measurable.
     * {@code -p pollStatus=false,true} compares.
     */
    @Param("false")
    boolean pollStatus;

    /** Executors of 1 slot each (separate JVMs): {@code -p executors=4} is issue 11's broadcast to 4. */
    @Param("2")
    int executors;

    /**
     * Mutual TLS on every connection ({@code quiver tls-init} certificates) or plaintext: what TLS
     * costs the broadcast and the submit loop. {@code -p tls=false} runs plaintext only.
     */
    @Param({"false", "true"})
    boolean tls;

    TlsInit.Result tlsFiles;

    Thread poller;

    LocalCluster cluster;
    Quiver q;
    double[] data;

    /** The array broadcast once per iteration, for the benchmarks that start from a pinned value. */
    @State(Scope.Benchmark)
    public static class Pinned {
        Ref<double[]> ref;
        /** What {@link #submitLoop} made: closed with the pin, so that their lineage lets the array go. */
        List<Ref<Double>> submitted = List.of();

        @Setup(Level.Iteration)
        public void pin(PreScatterBenchmark b) {
            ref = b.q.scatter(b.data, Scatter.broadcast());
        }

        @TearDown(Level.Iteration)
        public void unpin() {
            submitted.forEach(Ref::close);
            submitted = List.of();
            ref.close();
        }
    }

    @Setup(Level.Trial)
    public void startCluster() {
        data = new double[sizeMb * (1 << 20) / 8];
        for (int i = 0; i < data.length; i++) {
            data[i] = (i % 1000) * 0.001;
        }
        // Room for three copies: a released broadcast is dropped asynchronously, after the next may start.
        tlsFiles = tls ? BenchClusters.tlsFiles() : null;
        cluster = BenchClusters.start((long) sizeMb * 4 << 20, tlsFiles, executors);
        q = cluster.connect();
        if (pollStatus) {
            String url = q.cluster().statusUrl() + "api/cluster";
            poller = new Thread(() -> poll(url), "status-poller");
            poller.setDaemon(true);
            poller.start();
        }
    }

    /** GETs {@code url} every 100 ms until interrupted. */
    static void poll(String url) {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.http.HttpRequest req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build();
        while (!Thread.currentThread().isInterrupted()) {
            try {
                http.send(req, java.net.http.HttpResponse.BodyHandlers.discarding());
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            } catch (java.io.IOException e) {
                // the cluster is going away
            }
        }
    }

    @TearDown(Level.Trial)
    public void stopCluster() {
        if (poller != null) {
            poller.interrupt();
        }
        q.close();
        cluster.close();
        if (tlsFiles != null) {
            for (String f : TlsInit.FILES) {
                tlsFiles.dir().resolve(f).toFile().delete();
            }
            tlsFiles.dir().toFile().delete();
        }
    }

    /** Scatter with broadcast + the submit loop + gather: the whole scenario. */
    @Benchmark
    public double scenario() {
        try (Ref<double[]> p = q.scatter(data, Scatter.broadcast())) {
            return submitAndGather(p);
        }
    }

    /** Only the broadcast of the array to every executor (throughput delivered = executors x size / time). */
    @Benchmark
    public long broadcast() {
        try (Ref<double[]> p = q.scatter(data, Scatter.broadcast())) {
            return p.sizeBytes();
        }
    }

    /** Only the submit loop over an already pinned array: what the client's thread waits for. */
    @Benchmark
    public List<Ref<Double>> submitLoop(Pinned pinned) {
        pinned.submitted = submit(pinned.ref);
        return pinned.submitted;
    }

    /** Submit loop and gather over an already pinned array. */
    @Benchmark
    public double submitAndGatherPinned(Pinned pinned) {
        return submitAndGather(pinned.ref);
    }

    /** One task of the naive way: the array travels inside the function. */
    @Benchmark
    public double naiveOneTask() {
        double[] d = data;
        int n = tasks;
        return q.submit(() -> BenchClusters.sliceSumOfSquares(d, 0, n)).result();
    }

    private List<Ref<Double>> submit(Ref<double[]> p) {
        List<Ref<Double>> refs = new ArrayList<>(tasks);
        int n = tasks;
        for (int i = 0; i < tasks; i++) {
            int k = i;
            refs.add(q.submit(d -> BenchClusters.sliceSumOfSquares(d, k, n), p));
        }
        return refs;
    }

    private double submitAndGather(Ref<double[]> p) {
        List<Ref<Double>> refs = submit(p);
        double total = 0;
        for (double v : q.gather(refs)) {
            total += v;
        }
        refs.forEach(Ref::close);
        return total;
    }
}
