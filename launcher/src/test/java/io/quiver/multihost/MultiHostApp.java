package io.quiver.multihost;

import io.quiver.ClusterInfo;
import io.quiver.ExecutorInfo;
import io.quiver.KV;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The application of {@code io.quiver.process.MultiHostIT}, run by {@code quiver submit} on the
 * client host. It exists only in the app jar that the test packs from these classes, so executors
 * get it by code shipping alone. It prints what it saw as lines the test parses (a word, then
 * values); {@code main} throws when a result is wrong, so {@code quiver submit} exits 1.
 *
 * <ul>
 *   <li>{@code demo CONTROL_DIR TASKS JOINERS}: broadcasts a 4 MiB {@code double[]}, submits TASKS
 *       tasks over it and gathers them (printing {@code PROGRESS n} while they run, so that the test
 *       can kill the leader mid-job), then waits until JOINERS more executors have joined, waits
 *       for the broadcast to reach them and runs more tasks over it.</li>
 *   <li>{@code wordcount FILE PARTITIONS}: the README's word count with a broadcast stop-word set.</li>
 * </ul>
 */
public final class MultiHostApp {
    static final int DOUBLES = 512 * 1024; // 4 MiB
    static final Duration WAIT = Duration.ofSeconds(60);
    /** The stop words of the word count. */
    public static final Set<String> STOP_WORDS = Set.of("the", "a", "of");

    private MultiHostApp() {}

    /**
     * Runs one workload.
     *
     * @param args {@code demo CONTROL_DIR TASKS JOINERS} or {@code wordcount FILE PARTITIONS}
     * @throws Exception when the cluster fails or a result is wrong
     */
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "demo" -> demo(Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            case "wordcount" -> wordCount(args[1], Integer.parseInt(args[2]));
            default -> throw new IllegalArgumentException("unknown workload " + args[0] + "; use demo or wordcount");
        }
    }

    /** The executor this task runs on, from its worker thread's name ({@code quiver-exec-3-worker-0}). */
    static String where() {
        String name = Thread.currentThread().getName();
        return name.substring("quiver-".length(), name.lastIndexOf("-worker-"));
    }

    /** Task k: where it ran and the sum of squares of the k-th of n slices, after some work time. */
    static String slice(double[] data, int k, int n, long millis) throws InterruptedException {
        Thread.sleep(millis);
        return where() + " " + sliceSum(data, k, n);
    }

    static double sliceSum(double[] data, int k, int n) {
        int from = (int) ((long) data.length * k / n);
        int to = (int) ((long) data.length * (k + 1) / n);
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += data[i] * data[i];
        }
        return sum;
    }

    static double[] data() {
        double[] d = new double[DOUBLES];
        for (int i = 0; i < d.length; i++) {
            d[i] = (i & 1023) / 1024.0;
        }
        return d;
    }

    private static void printCluster(Quiver q) {
        ClusterInfo info = q.cluster();
        System.out.println("LEADER " + info.leaderId() + " " + info.epoch());
        for (ExecutorInfo e : info.executors()) {
            System.out.println("EXECUTOR " + e.id() + " " + e.host() + " " + e.port());
        }
        System.out.flush();
    }

    private static void demo(Path control, int tasks, int joiners) throws Exception {
        try (Quiver q = Quiver.connect()) {
            printCluster(q);
            int before = q.cluster().executors().size();
            double[] data = data();
            Ref<double[]> shared = q.scatter(data, Scatter.broadcast());
            System.out.println("BROADCAST " + shared.locations());
            List<Ref<String>> refs = new ArrayList<>();
            for (int i = 0; i < tasks; i++) {
                int k = i;
                refs.add(q.submit(d -> slice(d, k, tasks, 5), shared));
            }
            System.out.println("SUBMITTED " + tasks);
            System.out.flush();
            long last = -1;
            while (true) {
                long done = refs.stream().filter(Ref::isDone).count();
                if (done != last) {
                    System.out.println("PROGRESS " + done);
                    System.out.flush();
                    last = done;
                }
                if (done == tasks) {
                    break;
                }
                Thread.sleep(20);
            }
            report("DEMO", refs, data, tasks);
            printCluster(q);

            // An executor that joins now gets the broadcast from a peer, and takes tasks.
            Files.writeString(control.resolve("demo-waits-for-joiners"), "");
            System.out.println("WAITING " + joiners);
            System.out.flush();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (q.cluster().executors().size() < before + joiners) {
                check(System.nanoTime() < deadline, "no " + joiners + " more executor(s) joined within " + WAIT);
                Thread.sleep(20);
            }
            List<String> ids = q.cluster().executors().stream().map(ExecutorInfo::id).toList();
            long t0 = System.nanoTime();
            while (!shared.locations().containsAll(ids)) {
                check(System.nanoTime() < deadline, "the broadcast reached " + shared.locations() + ", not all of "
                        + ids + ", within " + WAIT);
                Thread.sleep(20);
            }
            System.out.println("BROADCAST-REACHED " + shared.locations() + " " + (System.nanoTime() - t0) / 1_000_000);
            int more = 4 * ids.size() * 4;
            List<Ref<String>> later = new ArrayList<>();
            for (int i = 0; i < more; i++) {
                int k = i;
                later.add(q.submit(d -> slice(d, k, more, 40), shared));
            }
            report("LATER", later, data, more);
            printCluster(q);
        }
    }

    /** Checks every value, prints {@code NAME tasks wrong} and {@code NAME-RAN executor count} per executor. */
    private static void report(String name, List<Ref<String>> refs, double[] data, int n) {
        Map<String, Integer> ran = new TreeMap<>();
        int wrong = 0;
        for (int k = 0; k < n; k++) {
            String[] value = refs.get(k).result(WAIT).split(" ");
            ran.merge(value[0], 1, Integer::sum);
            if (Double.parseDouble(value[1]) != sliceSum(data, k, n)) {
                wrong++;
            }
        }
        ran.forEach((executor, count) -> System.out.println(name + "-RAN " + executor + " " + count));
        System.out.println(name + " " + n + " " + wrong);
        System.out.flush();
        check(wrong == 0, name + ": " + wrong + " of " + n + " values are wrong");
    }

    private static void wordCount(String file, int partitions) {
        try (Quiver q = Quiver.connect()) {
            printCluster(q);
            Ref<Set<String>> stop = q.scatter(STOP_WORDS, Scatter.broadcast());
            Map<String, Long> counts = q.textFile(file, partitions)
                    .flatMap(line -> Arrays.asList(line.split("\\s+")))
                    .filter(stop, (w, stopWords) -> !w.isEmpty() && !stopWords.contains(w))
                    .mapToPair(w -> KV.of(w, 1L))
                    .reduceByKey(Long::sum)
                    .collectAsMap();
            new TreeMap<>(counts).forEach((word, count) -> System.out.println("WC " + word + " " + count));
            System.out.println("WC-DONE " + counts.size() + " "
                    + counts.values().stream().collect(Collectors.summingLong(Long::longValue)));
            printCluster(q);
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalStateException(message);
        }
    }
}
