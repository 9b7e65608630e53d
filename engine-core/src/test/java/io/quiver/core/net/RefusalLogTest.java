package io.quiver.core.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A peer retrying with a wrong secret leaves a bounded number of warnings, and none is lost without a count. */
class RefusalLogTest {
    private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);

    @Test
    void aPeerRetryingEveryTwoSecondsForFiveMinutesLeavesAtMostFourLinesAMinute() {
        RefusalLog log = new RefusalLog(MINUTE, 3);
        List<String> lines = new ArrayList<>();
        int refusals = 0;
        for (long t = 0; t < 5 * MINUTE; t += TimeUnit.SECONDS.toNanos(2)) {
            log.refused("/127.0.0.1:4000: wrong secret", t).ifPresent(lines::add);
            refusals++;
        }
        assertThat(refusals).isEqualTo(150); // what the coordinator logged in full before
        assertThat(lines).hasSize(15);
        assertThat(lines.get(0)).isEqualTo("refusing connection from /127.0.0.1:4000: wrong secret");
        assertThat(lines.get(2)).endsWith("(further refusals in the next 60 s are counted, not logged)");
        assertThat(lines.get(3)).endsWith("(and 27 more refused connections not logged since the last such warning)");
        long counted = lines.stream().filter(l -> l.contains(" more refused connection"))
                .mapToLong(l -> Long.parseLong(l.replaceAll(".*\\(and (\\d+) more.*", "$1"))).sum();
        assertThat(lines.size() + counted).as("every refusal is logged or counted, but the last window's")
                .isEqualTo(refusals - 27);
    }

    @Test
    void fewRefusalsAreAllLoggedInFull() {
        RefusalLog log = new RefusalLog(MINUTE, 3);
        assertThat(log.refused("a", 0)).contains("refusing connection from a");
        assertThat(log.refused("b", 1)).contains("refusing connection from b");
        assertThat(log.refused("c", 2 * MINUTE)).contains("refusing connection from c");
        assertThat(log.refused("d", 2 * MINUTE + 1)).isEqualTo(Optional.of("refusing connection from d"));
    }
}
