package io.quiver.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/quiver demo} under a pseudo-terminal ({@code script -qc}) draws the console bar; the
 * same demo with stderr piped to a file draws none. Needs the runnable jar (failsafe runs after
 * package).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ProgressBarIT {
    static final String DEMO = "bin/quiver demo --size-mb 16 --tasks 40 --naive-tasks 30";

    static Path root() {
        Path here = Path.of("").toAbsolutePath();
        return Files.exists(here.resolve("bin/quiver")) ? here : here.getParent();
    }

    static String run(List<String> command, Path output) throws Exception {
        Process p = new ProcessBuilder(command).directory(root().toFile()).redirectErrorStream(true)
                .redirectOutput(output.toFile()).start();
        assertThat(p.waitFor(150, TimeUnit.SECONDS)).as("demo finished").isTrue();
        String text = Files.readString(output, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(text).isZero();
        return text;
    }

    @Test
    void aTerminalShowsTheBarAndAPipeDoesNot(@TempDir Path dir) throws Exception {
        assumeTrue(new File("/usr/bin/script").canExecute() || new File("/bin/script").canExecute(),
                "util-linux script is not installed");
        String tty = run(List.of("script", "-qec", DEMO, "/dev/null"), dir.resolve("tty.txt"));
        assertThat(tty).contains("ratio").contains("\r[naive] ").containsPattern("\\(\\d+\\) / 30");
        // Erased at the end: the last bar is followed by blanks over it and a carriage return.
        assertThat(tty).containsPattern("\r {20,}\r");

        String piped = run(List.of("bash", "-c", DEMO + " 2>&1 | cat"), dir.resolve("piped.txt"));
        assertThat(piped).contains("ratio").doesNotContain("[naive]").doesNotContain("[gather]").doesNotContain("\r");

        String off = run(List.of("script", "-qec", "QUIVER_PROGRESS=0 " + DEMO, "/dev/null"), dir.resolve("off.txt"));
        assertThat(off).contains("ratio").doesNotContain("[naive]").doesNotContain("[gather]");
    }
}
