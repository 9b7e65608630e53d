package io.quiver.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.ExecutorInfo;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.cli.Demo;
import io.quiver.cli.QuiverCli;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Executors as child JVMs ({@code separateProcesses(true)}); needs the coordinator, executor and client. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LocalClusterProcessesIT {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void childExecutorsRunWorkAndKillExecutorReallyKills() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2).separateProcesses(true)
                        .executorMemory(64L << 20));
                Quiver q = cluster.connect()) {
            assertThat(cluster.executorIds()).containsExactly("exec-1", "exec-2");
            ProcessHandle first = cluster.executorProcess("exec-1");
            ProcessHandle second = cluster.executorProcess("exec-2");
            assertThat(first.isAlive()).isTrue();
            assertThat(second.isAlive()).isTrue();
            assertThat(first.parent().map(ProcessHandle::pid)).contains(ProcessHandle.current().pid());
            Optional<String[]> args = first.info().arguments();
            args.ifPresent(a -> assertThat(a).contains("-Xmx384m", "io.quiver.cli.QuiverCli", "executor"));

            double[] data = new double[250_000];
            for (int i = 0; i < data.length; i++) {
                data[i] = i % 100;
            }
            Ref<double[]> pinned = q.scatter(data, Scatter.broadcast());
            assertThat(pinned.locations()).containsExactlyInAnyOrder("exec-1", "exec-2");
            List<Ref<Double>> refs = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                int k = i;
                refs.add(q.submit(d -> Demo.sliceSumOfSquares(d, k, 40), pinned));
            }
            List<Double> results = q.gather(refs);
            for (int k = 0; k < 40; k++) {
                assertThat(results.get(k)).isEqualTo(Demo.sliceSumOfSquares(data, k, 40));
            }

            cluster.killExecutor("exec-1");
            assertThat(first.isAlive()).isFalse();
            assertThat(ProcessHandle.of(first.pid()).filter(ProcessHandle::isAlive)).isEmpty();
            assertThat(cluster.executorIds()).containsExactly("exec-2");
            await().atMost(WAIT).until(() -> q.cluster().executors().stream().map(ExecutorInfo::id).toList(),
                    ids -> ids.equals(List.of("exec-2")));
            Ref<double[]> again = q.scatter(data, Scatter.broadcast());
            assertThat(q.submit(d -> Demo.sliceSumOfSquares(d, 3, 40), again).result(WAIT)).isEqualTo(results.get(3));
            assertThat(second.isAlive()).isTrue();
        }
    }

    /**
     * Child executors start with the compiler directives of LocalCluster.COMPILER_DIRECTIVES, and their
     * JVM read them (it says so on stdout, which goes to the child's log); the property turns them off.
     */
    @Test
    void childExecutorsStartWithTheCompilerDirectivesUnlessTurnedOff() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(1).separateProcesses(true)
                        .executorMemory(32L << 20));
                Quiver q = cluster.connect()) {
            Path file = cluster.directory().resolve(LocalCluster.COMPILER_DIRECTIVES);
            List<String> args = commandLine(cluster.executorProcess("exec-1"));
            assertThat(args).contains("-XX:+UnlockDiagnosticVMOptions", "-XX:CompilerDirectivesFile=" + file);
            try (InputStream in = LocalCluster.class.getResourceAsStream(LocalCluster.COMPILER_DIRECTIVES)) {
                assertThat(Files.readAllBytes(file)).isEqualTo(in.readAllBytes());
            }
            assertThat(q.submit(() -> 6 * 7).result(WAIT)).isEqualTo(42);
            assertThat(Files.readString(cluster.directory().resolve("exec-1.log")))
                    .contains("1 compiler directives added");
        }
        System.setProperty(LocalCluster.COMPILER_DIRECTIVES_PROPERTY, "false");
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(1).separateProcesses(true)
                        .executorMemory(32L << 20));
                Quiver q = cluster.connect()) {
            List<String> args = commandLine(cluster.executorProcess("exec-1"));
            assertThat(args).noneMatch(a -> a.contains("CompilerDirectivesFile"));
            assertThat(q.submit(() -> 6 * 7).result(WAIT)).isEqualTo(42);
            assertThat(cluster.directory().resolve(LocalCluster.COMPILER_DIRECTIVES)).doesNotExist();
        } finally {
            System.clearProperty(LocalCluster.COMPILER_DIRECTIVES_PROPERTY);
        }
    }

    /** A -XX:CompilerDirectivesFile of the user's own in the child JVM arguments replaces Quiver's. */
    @Test
    void aCompilerDirectivesFileOfOnesOwnReplacesQuiversOnes(@TempDir Path tmp)
            throws Exception {
        Path own = tmp.resolve("own.json");
        Files.writeString(own, "[ { match: [\"org/example/*.*\"], c2: { Exclude: true } } ]");
        System.setProperty(LocalCluster.CHILD_JVM_ARGS_PROPERTY,
                "-XX:+UnlockDiagnosticVMOptions -XX:CompilerDirectivesFile=" + own);
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(1).separateProcesses(true)
                        .executorMemory(32L << 20));
                Quiver q = cluster.connect()) {
            List<String> args = commandLine(cluster.executorProcess("exec-1"));
            assertThat(args.stream().filter(a -> a.contains("CompilerDirectivesFile")))
                    .containsExactly("-XX:CompilerDirectivesFile=" + own);
            assertThat(q.submit(() -> 6 * 7).result(WAIT)).isEqualTo(42);
            assertThat(Files.readString(cluster.directory().resolve("exec-1.log")))
                    .contains("1 compiler directives added");
        } finally {
            System.clearProperty(LocalCluster.CHILD_JVM_ARGS_PROPERTY);
        }
    }

    /** A process's arguments from /proc (ProcessHandle.Info leaves out a command line as long as a child's). */
    private static List<String> commandLine(ProcessHandle process) throws IOException {
        byte[] raw = Files.readAllBytes(Path.of("/proc", String.valueOf(process.pid()), "cmdline"));
        return List.of(new String(raw, StandardCharsets.UTF_8).split("\0"));
    }

    @Test
    void closeStopsTheChildren() {
        ProcessHandle child;
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().separateProcesses(true)
                .executorMemory(16L << 20))) {
            child = cluster.executorProcess("exec-1");
            assertThat(child.isAlive()).isTrue();
        }
        assertThat(child.isAlive()).isFalse();
    }

    @Test
    void childrenExitWhenTheParentDies() throws Exception {
        Process parent = new ProcessBuilder(LocalCluster.javaCommand(), "-cp", System.getProperty("java.class.path"),
                TestingParentMain.class.getName())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        Path parentDir = null;
        try {
            long childPid = -1;
            BufferedReader out = new BufferedReader(new InputStreamReader(parent.getInputStream(), StandardCharsets.UTF_8));
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                if (line.startsWith("DIR ")) {
                    parentDir = Path.of(line.substring("DIR ".length()).trim());
                } else if (line.startsWith("CHILD ")) {
                    childPid = Long.parseLong(line.substring("CHILD ".length()).trim());
                    break;
                }
            }
            assertThat(childPid).as("the parent printed its child's pid").isPositive();
            ProcessHandle child = ProcessHandle.of(childPid).orElseThrow();
            assertThat(child.isAlive()).isTrue();

            parent.destroyForcibly(); // SIGKILL: no shutdown hook runs in the parent
            parent.waitFor();
            await().atMost(WAIT).until(() -> !child.isAlive());
        } finally {
            parent.destroyForcibly();
            if (parentDir != null) {
                Files2.deleteRecursively(parentDir); // a SIGKILLed parent cannot clean up after itself
            }
        }
    }

    @Test
    void demoScenarioInChildJvmsGivesTheRightResults() {
        StringWriter text = new StringWriter();
        Demo.Result result = Demo.run(new Demo.Settings(2, 16, 50, 20, true), new PrintWriter(text, true));
        assertThat(result.results()).hasSize(50).isEqualTo(result.expected());
        assertThat(result.naiveResults()).hasSize(20).isEqualTo(result.results().subList(0, 20));
        assertThat(result.scatterNanos()).isPositive();
        assertThat(result.broadcastBytesPerSecond()).isPositive();
        assertThat(text.toString()).contains("scatter (broadcast)", "submit loop", "gather", "GB/s", "per task",
                "ratio", "first 20 tasks only");
    }

    @Test
    void demoCommandRunsWithSmallSizes() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = QuiverCli.execute(new PrintWriter(out, true), new PrintWriter(err, true),
                "demo", "--size-mb", "16", "--tasks", "50", "--separate-processes");
        assertThat(code).as("exit code; stderr: %s", err).isZero();
        assertThat(out.toString()).contains("2 executors", "50 tasks", "ratio");
    }
}
