package io.quiver.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Argument and error handling of the quiver command, without any cluster. */
class QuiverCliTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        return QuiverCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
    }

    private String errors() {
        return err.toString();
    }

    @Test
    void helpListsTheCommands() {
        assertThat(run("--help")).isZero();
        assertThat(out.toString()).contains("zookeeper", "coordinator", "executor", "submit", "demo", "status",
                "tls-init", "help");
    }

    @Test
    void helpOfACommandAndOptionsBeforeItStillWork() {
        assertThat(run("help", "executor")).isZero();
        assertThat(out.toString()).contains("--slots");
        assertThat(run("-v", "status", "--help")).isZero();
        assertThat(out.toString()).contains("Usage: quiver status");
    }

    @Test
    void everyCommandHasHelp() {
        for (String command : new String[] {"zookeeper", "coordinator", "executor", "submit", "demo"}) {
            assertThat(run(command, "--help")).as(command).isZero();
        }
        assertThat(out.toString()).contains("--zk", "--slots", "--memory", "--size-mb", "--separate-processes",
                "--secret-file", "--classpath", "--work-dir", "--jars", "--class", "--config", "--print-config");
    }

    @Test
    void noCommandIsAUsageError() {
        assertThat(run()).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("name a command").contains("--help");
    }

    @Test
    void unknownCommandIsAUsageError() {
        assertThat(run("exectuor")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("exectuor").contains("executor"); // picocli's suggestion
    }

    @Test
    void badMemorySizeNamesTheValueAndTheForms() {
        assertThat(run("executor", "--zk", "zk://127.0.0.1:2181/quiver", "--slots", "1", "--memory", "12q"))
                .isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--memory").contains("invalid size '12q'").contains("512m");
    }

    @Test
    void executorNeedsZkSlotsAndMemory() {
        assertThat(run("executor", "--slots", "1", "--memory", "1g")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--zk");
        assertThat(run("executor", "--zk", "zk://127.0.0.1:2181/quiver", "--memory", "1g")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--slots");
        assertThat(run("executor", "--zk", "zk://127.0.0.1:2181/quiver", "--slots", "1")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--memory");
    }

    @Test
    void executorChecksItsNumbersBeforeConnecting() {
        assertThat(run("executor", "--zk", "zk://127.0.0.1:2181/quiver", "--slots", "0", "--memory", "1g"))
                .isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--slots must be >= 1, got 0");
        assertThat(run("executor", "--zk", "zk://127.0.0.1:2181/quiver", "--slots", "1", "--memory", "0"))
                .isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--memory must be at least 1 byte");
        assertThat(run("executor", "--zk", "zk://127.0.0.1:2181/quiver", "--slots", "1", "--memory", "1g",
                "--port", "70000")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--port must be in [0, 65535]");
        assertThat(run("executor", "--zk", "zk://127.0.0.1:2181/quiver", "--slots", "1", "--memory", "1g",
                "--id", "bad id!")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--id");
    }

    @Test
    void missingClasspathEntryIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("nope.jar");
        assertThat(run("executor", "--zk", "zk://127.0.0.1:2181/quiver", "--slots", "1", "--memory", "1g",
                "--classpath", missing.toString())).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains(missing.toString()).contains("does not exist");
    }

    @Test
    void badClusterUrlIsAUsageError() {
        assertThat(run("coordinator", "--zk", "http://127.0.0.1:2181/quiver")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--zk").contains("zk://");
        assertThat(run("executor", "--zk", "zk://127.0.0.1/quiver", "--slots", "1", "--memory", "1g"))
                .isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("host:port");
    }

    @Test
    void nonLoopbackHostNeedsASecret() {
        assumeTrue(System.getenv("QUIVER_SECRET") == null && System.getenv("QUIVER_SECRET_FILE") == null,
                "a secret is set in this environment");
        assertThat(run("coordinator", "--zk", "zk://127.0.0.1:2181/quiver", "--host", "8.8.8.8"))
                .isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--host 8.8.8.8").contains("--secret-file", "QUIVER_SECRET_FILE", "QUIVER_SECRET");
        assertThat(run("zookeeper", "--port", "0", "--host", "0.0.0.0")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("quiver zookeeper: --host 0.0.0.0 is not a loopback address")
                .contains("--secret-file");
    }

    @Test
    void aCoordinatorOrExecutorRefusesAWildcardHostItWouldPublish(@TempDir Path dir) throws Exception {
        Path secret = dir.resolve("secret");
        java.nio.file.Files.writeString(secret, "s3cret-s3cret-s3cret\n");
        assertThat(run("executor", "--zk", "zk://127.0.0.1:2181/quiver", "--slots", "1", "--memory", "16m",
                "--host", "0.0.0.0", "--secret-file", secret.toString())).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("quiver executor: --host 0.0.0.0 is not an address other machines can connect to")
                .contains("publishes in ZooKeeper").contains("e.g. --host 10.0.0.3");
        assertThat(run("coordinator", "--zk", "zk://127.0.0.1:2181/quiver", "--host", "::",
                "--secret-file", secret.toString())).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("quiver coordinator: --host :: is not an address other machines can connect to");
    }

    @Test
    void demoChecksItsArguments() {
        assertThat(run("demo", "--size-mb", "0")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--size-mb must be in [1, 16384], got 0");
        assertThat(run("demo", "--executors", "65")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--executors must be in [1, 64], got 65");
        assertThat(run("demo", "--tasks", "0")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--tasks must be in [1, ");
        assertThat(run("demo", "--tasks", "ten")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("ten");
    }

    @Test
    void zookeeperChecksItsPort() {
        assertThat(run("zookeeper", "--port", "-1")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(errors()).contains("--port must be in [0, 65535] (0: any free port), got -1");
    }

    @Test
    void runtimeErrorIsOneLineWithoutStackTrace(@TempDir Path dir) {
        Path missing = dir.resolve("no-secret");
        int code = run("executor", "--zk", "zk://127.0.0.1:2181/quiver", "--slots", "1", "--memory", "1g",
                "--secret-file", missing.toString());
        assertThat(code).isEqualTo(QuiverCli.EXIT_ERROR);
        assertThat(errors().lines()).hasSize(1);
        assertThat(errors()).startsWith("quiver executor: ").contains("cannot read the secret file").contains(missing.toString()).contains("--secret-file")
                .doesNotContain("\tat ");
    }

    @Test
    void verboseAddsTheStackTrace(@TempDir Path dir) {
        int code = run("executor", "--verbose", "--zk", "zk://127.0.0.1:2181/quiver", "--slots", "1", "--memory", "1g",
                "--secret-file", dir.resolve("no-secret").toString());
        assertThat(code).isEqualTo(QuiverCli.EXIT_ERROR);
        assertThat(errors()).contains("cannot read the secret file").contains("\tat ");
    }

    @Test
    void defaultIdsAreValidIds() {
        assertThat(QuiverCli.defaultId("exec")).matches("exec-[A-Za-z0-9._-]+-\\d+");
    }
}
