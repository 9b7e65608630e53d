package io.quiver.core.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The console bar under a driven clock: nothing before half a second, redraws only on change, erased at the end. */
class ConsoleProgressTest {
    final AtomicLong now = new AtomicLong(1_000_000_000L);
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final ConsoleProgress progress = new ConsoleProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), now::get,
            false);

    String written() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    void advanceMillis(long ms) {
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
    }

    @Test
    void appearsAfterHalfASecondRedrawsOnChangeAndIsErased() {
        ConsoleProgress.Wait w = progress.track("gather", 200);
        advanceMillis(400);
        progress.tick();
        assertThat(written()).isEmpty();

        advanceMillis(200);
        progress.tick();
        assertThat(written()).isEqualTo("\r[gather] >" + " ".repeat(29) + " (0) / 200");

        progress.tick(); // nothing changed: nothing written
        int before = written().length();
        assertThat(written()).hasSize(before);

        for (int i = 0; i < 120; i++) {
            w.completed();
        }
        advanceMillis(200);
        progress.tick();
        assertThat(written()).endsWith("\r[gather] " + "=".repeat(18) + ">" + " ".repeat(11) + " (120) / 200");

        w.close();
        String line = ConsoleProgress.line("gather", 120, 200);
        assertThat(written()).endsWith("\r" + " ".repeat(line.length()) + "\r");
        progress.tick();
        assertThat(written()).endsWith("\r" + " ".repeat(line.length()) + "\r");
    }

    @Test
    void aShortWaitDrawsNothing() {
        try (ConsoleProgress.Wait w = progress.track("gather", 3)) {
            w.completed();
            advanceMillis(100);
            progress.tick();
        }
        advanceMillis(1000);
        progress.tick();
        assertThat(written()).isEmpty();
    }

    @Test
    void theNewestOfOverlappingWaitsShows() {
        ConsoleProgress.Wait outer = progress.track("job", 8);
        advanceMillis(600);
        ConsoleProgress.Wait inner = progress.track("asCompleted", 4);
        progress.tick();
        assertThat(written()).contains("[job]");
        advanceMillis(600);
        progress.tick();
        assertThat(written()).endsWith(ConsoleProgress.line("asCompleted", 0, 4) + " ".repeat(
                Math.max(0, ConsoleProgress.line("job", 0, 8).length() - ConsoleProgress.line("asCompleted", 0, 4).length())));
        inner.close();
        outer.close();
        assertThat(written()).endsWith("\r");
    }

    @Test
    void offDrawsNothing() {
        ConsoleProgress.Wait w = ConsoleProgress.OFF.track("gather", 10);
        w.completed();
        w.close();
        ConsoleProgress.OFF.tick();
        ConsoleProgress.OFF.close();
    }
}
