package io.quiver.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --config FILE} and {@code --print-config}, the same for every command. */
class ConfigTest {
    private static final String[] COMMANDS = {"zookeeper", "coordinator", "executor", "submit", "demo"};

    @TempDir
    Path dir;

    private StringWriter out = new StringWriter();
    private StringWriter err = new StringWriter();

    private int run(String... args) {
        out = new StringWriter();
        err = new StringWriter();
        return QuiverCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
    }

    private Path file(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void everyCommandTakesConfigAndPrintConfig() throws IOException {
        Path empty = file("empty.properties", "# nothing\n");
        for (String command : COMMANDS) {
            String[] args = command.equals("coordinator") ? new String[] {command, "--zk", "zk://127.0.0.1:2181/q"}
                    : command.equals("executor") ? new String[] {command, "--zk", "zk://127.0.0.1:2181/q", "--slots", "1",
                            "--memory", "1m"}
                    : command.equals("submit") ? new String[] {command, "--zk", "zk://127.0.0.1:2181/q", "--class", "a.B"}
                    : new String[] {command};
            String[] withConfig = java.util.stream.Stream.concat(java.util.Arrays.stream(args),
                    java.util.stream.Stream.of("--config", empty.toString(), "--print-config")).toArray(String[]::new);
            if (command.equals("submit")) {
                withConfig = java.util.stream.Stream.concat(java.util.Arrays.stream(withConfig),
                        java.util.stream.Stream.of("app.jar")).toArray(String[]::new);
            }
            assertThat(run(withConfig)).as(command + ": " + err).isZero();
            assertThat(out.toString()).as(command).startsWith("# settings of quiver " + command);
        }
    }

    @Test
    void theFileGivesSettingsAndTheCommandLineWins() throws IOException {
        Path config = file("executor.properties", "zk=zk://10.0.0.9:2181/prod\nslots=8\nmemory=2g\nhost=127.0.0.1\n");
        assertThat(run("executor", "--config", config.toString(), "--slots", "3", "--print-config")).isZero();
        String printed = out.toString();
        assertThat(printed).contains("# from the command line\nslots=3\n")
                .contains("# from " + config + "\n")
                .contains("zk=zk://10.0.0.9:2181/prod\n", "memory=2147483648\n", "host=127.0.0.1\n")
                .doesNotContain("slots=8")
                .contains("# defaults\nport=0\n");
    }

    @Test
    void printedSettingsReadBackAsAConfigFile() throws IOException {
        assertThat(run("executor", "--zk", "zk://127.0.0.1:2181/q", "--slots", "2", "--memory", "64m", "--id", "e-1",
                "--print-config")).isZero();
        Path printed = file("printed.properties", out.toString());
        Properties properties = new Properties();
        try (var in = Files.newBufferedReader(printed)) {
            properties.load(in);
        }
        assertThat(properties).containsEntry("slots", "2").containsEntry("memory", "67108864").containsEntry("id", "e-1");
        assertThat(run("executor", "--config", printed.toString(), "--print-config")).as(err.toString()).isZero();
        assertThat(out.toString()).contains("slots=2", "memory=67108864", "id=e-1", "zk=zk://127.0.0.1:2181/q");
    }

    @Test
    void anUnknownKeyNamesTheKeyTheFileAndTheKnownKeys() throws IOException {
        Path config = file("c.properties", "zk=zk://127.0.0.1:2181/q\nslots=2\n");
        assertThat(run("coordinator", "--config", config.toString())).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("--config " + config, "unknown key 'slots'", "quiver coordinator",
                "zk, secret-file, tls-cert, tls-key, tls-trust, id, host, port");
        // even when every option is on the command line
        Path typo = file("typo.properties", "slotz=2\n");
        assertThat(run("executor", "--config", typo.toString(), "--zk", "zk://127.0.0.1:2181/q", "--slots", "1",
                "--memory", "1m", "--print-config")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("unknown key 'slotz'").contains(typo.toString());
    }

    @Test
    void aBadValueNamesTheKeyAndTheFile() throws IOException {
        Path notANumber = file("a.properties", "zk=zk://127.0.0.1:2181/q\nslots=eight\nmemory=1g\n");
        assertThat(run("executor", "--config", notANumber.toString())).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("'eight'", "key 'slots' in " + notANumber);

        Path outOfRange = file("b.properties", "zk=zk://127.0.0.1:2181/q\nslots=0\nmemory=1g\n");
        assertThat(run("executor", "--config", outOfRange.toString())).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("--slots must be >= 1, got 0", "key 'slots' in " + outOfRange);

        Path badSize = file("c.properties", "zk=zk://127.0.0.1:2181/q\nslots=1\nmemory=12q\n");
        assertThat(run("executor", "--config", badSize.toString())).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("invalid size '12q'", "key 'memory' in " + badSize);

        Path badUrl = file("d.properties", "zk=http://127.0.0.1:2181/q\n");
        assertThat(run("coordinator", "--config", badUrl.toString())).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("--zk", "key 'zk' in " + badUrl);

        Path badDemo = file("e.properties", "size-mb=0\n");
        assertThat(run("demo", "--config", badDemo.toString())).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("--size-mb must be in [1, 16384], got 0", "key 'size-mb' in " + badDemo);

        // the same value on the command line: no file is named
        assertThat(run("executor", "--zk", "zk://127.0.0.1:2181/q", "--slots", "0", "--memory", "1g"))
                .isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("--slots must be >= 1, got 0").doesNotContain("key 'slots'");
    }

    @Test
    void anEmptyValueOrAMissingFileIsAUsageError() throws IOException {
        Path empty = file("e.properties", "zk=\n");
        assertThat(run("coordinator", "--config", empty.toString())).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("key 'zk' has no value").contains(empty.toString());

        Path missing = dir.resolve("missing.properties");
        assertThat(run("coordinator", "--config", missing.toString(), "--zk", "zk://127.0.0.1:2181/q"))
                .isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("--config " + missing, "cannot read it");
    }

    @Test
    void flagsAndListsComeFromTheFileToo() throws IOException {
        Path demo = file("demo.properties", "separate-processes=true\ntasks=10\nsize-mb=1\n");
        assertThat(run("demo", "--config", demo.toString(), "--print-config")).isZero();
        assertThat(out.toString()).contains("separate-processes=true", "tasks=10", "size-mb=1");

        Path submit = file("submit.properties", "zk=zk://127.0.0.1:2181/q\nclass=com.example.App\njars=a.jar,b.jar\n");
        assertThat(run("submit", "--config", submit.toString(), "--print-config", "app.jar", "x", "--y")).isZero();
        assertThat(out.toString()).contains("class=com.example.App", "jars=a.jar,b.jar", "# APP_JAR: app.jar",
                "# ARGS: x,--y");
    }

    @Test
    void printConfigNamesWhereTheSecretComesFromButNeverItsContents() throws IOException {
        Path secret = file("secret", "very-secret-words\n");
        Path config = file("c.properties", "zk=zk://127.0.0.1:2181/q\nsecret-file=" + secret + "\n");
        assertThat(run("coordinator", "--config", config.toString(), "--print-config")).isZero();
        assertThat(out.toString()).contains("secret-file=" + secret, "# secret: --secret-file " + secret)
                .doesNotContain("very-secret-words");
    }
}
