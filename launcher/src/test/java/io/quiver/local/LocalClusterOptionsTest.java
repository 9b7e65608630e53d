package io.quiver.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Option checks name the bad value and the fix; nothing here starts a cluster. */
class LocalClusterOptionsTest {
    @Test
    void executorsMustBeBetweenOneAndSixtyFour() {
        assertThatThrownBy(() -> LocalCluster.options().executors(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("executors must be in [1, 64], got 0");
        assertThatThrownBy(() -> LocalCluster.options().executors(65))
                .hasMessage("executors must be in [1, 64], got 65");
    }

    @Test
    void slotsAndCoordinatorsMustBePositive() {
        assertThatThrownBy(() -> LocalCluster.options().slotsPerExecutor(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("slotsPerExecutor must be in [1, 1024], got 0");
        assertThatThrownBy(() -> LocalCluster.options().coordinators(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("coordinators must be in [1, 9]")
                .hasMessageContaining("got 0");
    }

    @Test
    void executorMemoryNeedsAtLeastOneMebibyte() {
        assertThatThrownBy(() -> LocalCluster.options().executorMemory(1000))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("executorMemory must be >= 1 MiB")
                .hasMessageContaining("got 1000 bytes")
                .hasMessageContaining("executorMemory(512L << 20)");
    }

    @Test
    void secretMustBeNonBlank() {
        assertThatThrownBy(() -> LocalCluster.options().secret(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("secret must be a non-blank string, got null");
        assertThatThrownBy(() -> LocalCluster.options().secret("  "))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("leave it unset");
    }

    @Test
    void startTimeoutMustBePositive() {
        assertThatThrownBy(() -> LocalCluster.options().startTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("startTimeout must be positive");
    }

    @Test
    void startNeedsOptions() {
        assertThatThrownBy(() -> LocalCluster.start(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("LocalCluster.options()");
    }

    @Test
    void defaultsAndFluentSettings() {
        LocalCluster.Settings defaults = LocalCluster.options().settings();
        assertThat(defaults.executors()).isEqualTo(1);
        assertThat(defaults.slotsPerExecutor()).isEqualTo(1);
        assertThat(defaults.coordinators()).isEqualTo(1);
        assertThat(defaults.separateProcesses()).isFalse();
        assertThat(defaults.executorMemory()).isBetween(16L << 20, 512L << 20);

        LocalCluster.Settings s = LocalCluster.options().executors(3).slotsPerExecutor(2).coordinators(2)
                .executorMemory(64L << 20).separateProcesses(true).secret("s3cret").settings();
        assertThat(s).isEqualTo(new LocalCluster.Settings(3, 2, 2, 64L << 20, true, "s3cret", Duration.ofSeconds(60), false,
                null));
        assertThat(LocalCluster.options().separateProcesses(true).settings().executorMemory()).isEqualTo(512L << 20);
    }

    @Test
    void optionsNeverPrintTheSecret() {
        assertThat(LocalCluster.options().secret("s3cret").toString()).doesNotContain("s3cret");
    }
}
