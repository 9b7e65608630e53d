package io.quiver.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

class DemoTest {
    @Test
    void slicesCoverTheArrayExactlyOnce() {
        double[] data = Demo.data(1);
        double whole = 0;
        for (double d : data) {
            whole += d * d;
        }
        double sum = 0;
        for (int k = 0; k < 7; k++) {
            sum += Demo.sliceSumOfSquares(data, k, 7);
        }
        assertThat(sum).isCloseTo(whole, org.assertj.core.data.Offset.offset(1e-6 * whole));
    }

    @Test
    void settingsAreChecked() {
        assertThatThrownBy(() -> new Demo.Settings(2, 16, 10, 11, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--naive-tasks must be in [0, --tasks = 10], got 11");
        assertThat(new Demo.Settings(2, 16, 10, 5, false).executorMemory()).isEqualTo((2 * 16 + 64) << 20);
    }

    /** Needs the coordinator, executor and client. */
    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void runsInProcessWithSmallSizes() {
        StringWriter text = new StringWriter();
        Demo.Result r = Demo.run(new Demo.Settings(2, 4, 20, 5, false), new PrintWriter(text, true));
        assertThat(r.results()).isEqualTo(r.expected());
        assertThat(r.naiveResults()).isEqualTo(r.results().subList(0, 5));
        assertThat(text.toString()).contains("in this JVM", "ratio");
    }
}
