package io.quiver.executor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.RefId;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The pretouch in a JVM of its own (the parallel collector, as child executors run), measured by what
 * the kernel says the process holds; and {@link Executor#idle()} on a real executor running a real
 * task.
 */
class HeapPretouchTest extends ClusterTestBase {

    @Test
    void touchesEdenOnceWithoutACollection() throws Exception {
        Map<String, Long> r = probe("-XX:+UseParallelGC", "idle");
        long eden = r.get("edenFree");
        assertThat(r.get("touched")).as("most of eden's free space, and no more").isBetween(eden / 2, eden);
        // The pages are the process's now: its resident set grew by about what was touched.
        assertThat(r.get("rssAfter") - r.get("rssBefore")).isGreaterThan(r.get("touched") * 8 / 10);
        assertThat(r.get("gcAfter")).as("no collection, so no live value was copied").isEqualTo(r.get("gcBefore"));
    }

    @Test
    void waitsWhileTheExecutorIsBusy() throws Exception {
        Map<String, Long> r = probe("-XX:+UseParallelGC", "busy");
        assertThat(r.get("touched")).isZero();
        assertThat(r.get("doneEarly")).as("not finished while busy").isZero();
    }

    @Test
    void touchesNothingUnderG1OrWhenTurnedOff() throws Exception {
        assertThat(probe("-XX:+UseG1GC", "idle").get("touched")).isZero();
        assertThat(probe("-XX:+UseParallelGC", "-D" + HeapPretouch.PROPERTY + "=false", "idle").get("touched"))
                .isZero();
    }

    @Test
    void anExecutorIsIdleOnlyWhileNoTaskRuns() throws Exception {
        TestingLeader leader = startLeader("leader", 3);
        Executor e = startExecutor("exec-idle", 1);
        leader.awaitExecutor("exec-idle");
        await().atMost(Duration.ofSeconds(10)).until(e::idle);

        Fns.Spinning.started = new CountDownLatch(1);
        Fns.Spinning.release = false;
        RefId out = ref();
        leader.send("exec-idle", launch(3, List.of(fn(1, new Fns.Spinning())), List.of(task(out, 1))));
        assertThat(Fns.Spinning.started.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(e.idle()).as("a task on the CPU").isFalse();
        Fns.Spinning.release = true;
        assertThat(leader.awaitResult(out).failure()).isNull();
        await().atMost(Duration.ofSeconds(10)).until(e::idle);
    }

    /** Runs {@link Probe} in a fresh JVM with a 512 MiB heap and returns what it printed. */
    private static Map<String, Long> probe(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xms512m", "-Xmx512m",
                "-cp", System.getProperty("java.class.path")));
        for (int i = 0; i < args.length - 1; i++) {
            cmd.add(args[i]);
        }
        cmd.add(Probe.class.getName());
        cmd.add(args[args.length - 1]);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Map<String, Long> out = new HashMap<>();
        StringBuilder all = new StringBuilder();
        try (BufferedReader in = new BufferedReader(
                new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                all.append(line).append('\n');
                if (line.startsWith("probe ")) {
                    for (String kv : line.substring(6).split(" ")) {
                        String[] parts = kv.split("=");
                        out.put(parts[0], Long.parseLong(parts[1]));
                    }
                }
            }
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(all.toString()).isZero();
        assertThat(out).as(all.toString()).containsKey("touched");
        return out;
    }

    /** The child: pretouches its own heap with an executor that is idle, or busy for 2.5 s. */
    public static final class Probe {
        public static void main(String[] args) throws Exception {
            boolean busy = args[0].equals("busy");
            long gcBefore = HeapPretouch.collections();
            long rssBefore = rss();
            var eden = HeapPretouch.eden();
            java.lang.management.MemoryUsage u = eden == null ? null : eden.getUsage();
            long edenFree = u == null ? 0 : u.getCommitted() - u.getUsed();
            HeapPretouch p = HeapPretouch.start("probe-pretouch", () -> !busy);
            long doneEarly = 0;
            if (busy) {
                try {
                    p.done().get(HeapPretouch.QUIET_MILLIS * 5 / 2, TimeUnit.MILLISECONDS);
                    doneEarly = 1;
                } catch (java.util.concurrent.TimeoutException expected) {
                    // still waiting, as it should
                }
                p.close();
            }
            long touched = p.done().get(30, TimeUnit.SECONDS);
            System.out.printf("probe touched=%d edenFree=%d rssBefore=%d rssAfter=%d gcBefore=%d gcAfter=%d"
                    + " doneEarly=%d%n", touched, edenFree, rssBefore, rss(), gcBefore, HeapPretouch.collections(),
                    doneEarly);
        }

        /** This process's resident set in bytes, from /proc/self/status (Linux). */
        private static long rss() throws java.io.IOException {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
            throw new IllegalStateException("no VmRSS in /proc/self/status");
        }
    }
}
