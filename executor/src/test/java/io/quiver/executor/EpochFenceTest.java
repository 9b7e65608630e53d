package io.quiver.executor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EpochFenceTest {
    @Test
    void admitsCurrentAndNewerEpochsAndRefusesOlderOnes() {
        EpochFence fence = new EpochFence();
        fence.observe(5);
        assertThat(fence.admit(5)).isTrue();
        assertThat(fence.admit(4)).isFalse();
        assertThat(fence.admit(0)).isFalse();
        assertThat(fence.newest()).isEqualTo(5);
    }

    @Test
    void anAdmittedNewerEpochFencesOffTheOlderOne() {
        EpochFence fence = new EpochFence(3);
        assertThat(fence.admit(7)).isTrue();
        assertThat(fence.newest()).isEqualTo(7);
        assertThat(fence.admit(3)).isFalse();
        assertThat(fence.admit(6)).isFalse();
    }

    @Test
    void observingNeverLowersTheEpoch() {
        EpochFence fence = new EpochFence();
        assertThat(fence.observe(9)).isEqualTo(9);
        assertThat(fence.observe(2)).isEqualTo(9);
        assertThat(fence.admit(8)).isFalse();
        assertThat(fence.admit(9)).isTrue();
    }
}
