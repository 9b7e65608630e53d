package io.quiver.cli;

import io.quiver.core.client.ConsoleProgress;

import static com.google.common.base.Preconditions.checkArgument;

import io.quiver.ConnectOptions;
import io.quiver.ExecutorInfo;
import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.local.LocalCluster;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The pre-scatter scenario of {@code quiver demo} (API.md, section 2) on a {@link LocalCluster}: broadcast
 * a {@code double[]} once and submit many tasks that read it, then the naive way, the array captured in
 * each task's function, on the first few tasks. Not part of API.md; tests call {@link #run} directly.
 */
public final class Demo {
    private static final long MIB = 1L << 20;

    private Demo() {}

    /**
     * @param executors executors of the local cluster, 1 slot each
     * @param sizeMb size of the array in MiB
     * @param tasks tasks over the broadcast array, each over 1/tasks of it
     * @param naiveTasks how many of the first tasks to run again with the array captured in the function
     * @param separateProcesses executors as child JVMs
     * @param tls the TLS files every connection of the cluster uses, or null for plaintext
     */
    public record Settings(int executors, int sizeMb, int tasks, int naiveTasks, boolean separateProcesses,
                           ConnectOptions.TlsFiles tls) {
        /** Plaintext. */
        public Settings(int executors, int sizeMb, int tasks, int naiveTasks, boolean separateProcesses) {
            this(executors, sizeMb, tasks, naiveTasks, separateProcesses, null);
        }

        public Settings {
            checkArgument(executors >= 1 && executors <= 64, "--executors must be in [1, 64], got %s", executors);
            checkArgument(sizeMb >= 1 && sizeMb <= 16_384, "--size-mb must be in [1, 16384], got %s", sizeMb);
            checkArgument(tasks >= 1 && tasks <= elements(sizeMb), "--tasks must be in [1, %s] (one slice of the "
                    + "array each), got %s", elements(sizeMb), tasks);
            checkArgument(naiveTasks >= 0 && naiveTasks <= tasks, "--naive-tasks must be in [0, --tasks = %s], got %s",
                    tasks, naiveTasks);
        }

        long sizeBytes() {
            return elements(sizeMb) * Double.BYTES;
        }

        /** Executor memory: the broadcast copy plus one naive task's array at a time, plus slack. */
        long executorMemory() {
            return 2 * sizeBytes() + 64 * MIB;
        }

        private static long elements(int sizeMb) {
            return sizeMb * MIB / Double.BYTES;
        }
    }

    /**
     * What the demo measured; results are in task order.
     *
     * @param expected the results computed in this JVM, without the cluster
     */
    public record Result(Settings settings, long scatterNanos, long submitNanos, long gatherNanos,
                         List<Double> results, long naiveNanos, List<Double> naiveResults, List<Double> expected) {
        public Result {
            results = List.copyOf(results);
            naiveResults = List.copyOf(naiveResults);
            expected = List.copyOf(expected);
        }

        public long totalNanos() {
            return scatterNanos + submitNanos + gatherNanos;
        }

        /** Bytes delivered by the broadcast (array size times executors) per second of {@code scatter}. */
        public double broadcastBytesPerSecond() {
            return (double) settings.sizeBytes() * settings.executors() / (scatterNanos / 1e9);
        }

        public double nanosPerTask() {
            return (double) totalNanos() / settings.tasks();
        }

        public double naiveNanosPerTask() {
            return naiveResults.isEmpty() ? Double.NaN : (double) naiveNanos / naiveResults.size();
        }
    }

    /** The function of task {@code k}: the sum of squares of the k-th of {@code tasks} slices of {@code data}. */
    public static double sliceSumOfSquares(double[] data, int k, int tasks) {
        int from = (int) ((long) data.length * k / tasks);
        int to = (int) ((long) data.length * (k + 1) / tasks);
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += data[i] * data[i];
        }
        return sum;
    }

    /** The array, filled deterministically. */
    public static double[] data(int sizeMb) {
        double[] data = new double[(int) (sizeMb * MIB / Double.BYTES)];
        for (int i = 0; i < data.length; i++) {
            data[i] = (i & 1023) / 1024.0;
        }
        return data;
    }

    /** Starts a local cluster, runs the scenario, prints what it measured to {@code out}, stops the cluster. */
    public static Result run(Settings s, PrintWriter out) {
        out.printf(Locale.ROOT, "Quiver demo: %d executors x 1 slot (%s), a %s double[] (%,d elements), %d tasks%s%n",
                s.executors(), s.separateProcesses() ? "child JVMs" : "in this JVM", Sizes.format(s.sizeBytes()),
                s.sizeBytes() / Double.BYTES, s.tasks(), s.tls() == null ? "" : ", over TLS");
        checkHeap(s, out);
        double[] data = data(s.sizeMb());
        int tasks = s.tasks();
        LocalCluster.Options options = LocalCluster.options()
                .executors(s.executors())
                .slotsPerExecutor(1)
                .executorMemory(s.executorMemory())
                .separateProcesses(s.separateProcesses());
        if (s.tls() != null) {
            options.tls(s.tls().cert(), s.tls().key(), s.tls().trust());
        }
        try (LocalCluster cluster = LocalCluster.start(options);
                Quiver q = cluster.connect()) {
            out.printf(Locale.ROOT, "cluster: %s, leader %s, executors %s with %s memory each%n",
                    cluster.zkConnectString(), cluster.leaderId(),
                    q.cluster().executors().stream().map(ExecutorInfo::id).toList(), Sizes.format(s.executorMemory()));
            out.flush();

            // Pre-scatter: the array travels once to every executor; each task ships only its lambda.
            long t0 = System.nanoTime();
            Ref<double[]> pinned = q.scatter(data, Scatter.broadcast());
            long t1 = System.nanoTime();
            List<Ref<Double>> refs = new ArrayList<>(tasks);
            for (int i = 0; i < tasks; i++) {
                int k = i;
                refs.add(q.submit(d -> sliceSumOfSquares(d, k, tasks), pinned));
            }
            long t2 = System.nanoTime();
            List<Double> results = q.gather(refs);
            long t3 = System.nanoTime();
            refs.forEach(Ref::close);
            pinned.close();

            // Naive: the array is captured in each task's function, so each task carries all of it.
            // One task at a time, releasing each before the next, so that memory stays bounded.
            List<Double> naive = new ArrayList<>(s.naiveTasks());
            long n0 = System.nanoTime();
            ConsoleProgress bar = ConsoleProgress.forClient(true);
            try (ConsoleProgress.Wait wait = bar.track("naive", s.naiveTasks())) {
                for (int i = 0; i < s.naiveTasks(); i++) {
                    int k = i;
                    try (Ref<Double> ref = q.submit(() -> sliceSumOfSquares(data, k, tasks))) {
                        naive.add(ref.result());
                    }
                    wait.completed();
                }
            } finally {
                bar.close();
            }
            long naiveNanos = System.nanoTime() - n0;

            List<Double> expected = new ArrayList<>(tasks);
            for (int k = 0; k < tasks; k++) {
                expected.add(sliceSumOfSquares(data, k, tasks));
            }
            Result result = new Result(s, t1 - t0, t2 - t1, t3 - t2, results, naiveNanos, naive, expected);
            print(result, out);
            check(result);
            return result;
        }
    }

    private static void print(Result r, PrintWriter out) {
        Settings s = r.settings();
        out.printf(Locale.ROOT, "pre-scatter (broadcast once, %d tasks read it):%n", s.tasks());
        out.printf(Locale.ROOT, "  scatter (broadcast) %10.1f ms   %.2f GB/s delivered (%s x %d executors)%n",
                ms(r.scatterNanos()), r.broadcastBytesPerSecond() / 1e9, Sizes.format(s.sizeBytes()), s.executors());
        out.printf(Locale.ROOT, "  submit loop         %10.1f ms   (%d submits)%n", ms(r.submitNanos()), s.tasks());
        out.printf(Locale.ROOT, "  gather              %10.1f ms%n", ms(r.gatherNanos()));
        out.printf(Locale.ROOT, "  total               %10.1f ms   %.3f ms per task%n", ms(r.totalNanos()),
                r.nanosPerTask() / 1e6);
        if (r.naiveResults().isEmpty()) {
            out.println("naive way skipped (--naive-tasks 0)");
        } else {
            out.printf(Locale.ROOT, "naive (the array captured in each task's function; first %d tasks only, run one at "
                    + "a time to bound memory):%n", r.naiveResults().size());
            out.printf(Locale.ROOT, "  total               %10.1f ms   %.3f ms per task%n", ms(r.naiveNanos()),
                    r.naiveNanosPerTask() / 1e6);
            out.printf(Locale.ROOT, "ratio: a naive task costs %.1fx a pre-scattered one%n",
                    r.naiveNanosPerTask() / r.nanosPerTask());
        }
        out.flush();
    }

    /** The cluster's results must equal the local ones, and the naive ones the pre-scattered ones. */
    private static void check(Result r) {
        for (int k = 0; k < r.expected().size(); k++) {
            if (!r.expected().get(k).equals(r.results().get(k))) {
                throw new QuiverException("demo result of task " + k + " is " + r.results().get(k) + ", expected "
                        + r.expected().get(k));
            }
        }
        for (int k = 0; k < r.naiveResults().size(); k++) {
            if (!r.naiveResults().get(k).equals(r.results().get(k))) {
                throw new QuiverException("naive result of task " + k + " is " + r.naiveResults().get(k)
                        + ", but the pre-scattered one is " + r.results().get(k));
            }
        }
    }

    private static void checkHeap(Settings s, PrintWriter out) {
        // In this JVM: the array, its broadcast copies (serialized and live) on each executor, a naive task's copies.
        long need = s.separateProcesses() ? 3 * s.sizeBytes() : (3 + 2L * s.executors()) * s.sizeBytes();
        long heap = Runtime.getRuntime().maxMemory();
        if (heap != Long.MAX_VALUE && heap < need + 256 * MIB) {
            out.printf(Locale.ROOT, "warning: this JVM's heap (%s) may be too small for this run (about %s); raise -Xmx "
                            + "(e.g. QUIVER_OPTS=-Xmx%dg bin/quiver demo ...)%s%n", Sizes.format(heap),
                    Sizes.format(need + 256 * MIB), (need + 256 * MIB) / (1L << 30) + 1,
                    s.separateProcesses() ? "" : " or use --separate-processes");
        }
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
