package io.quiver.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SizesTest {
    @Test
    void parsesBytesAndBinaryUnits() {
        assertThat(Sizes.parse("1048576")).isEqualTo(1L << 20);
        assertThat(Sizes.parse("0")).isZero();
        assertThat(Sizes.parse("64k")).isEqualTo(64L << 10);
        assertThat(Sizes.parse("512m")).isEqualTo(512L << 20);
        assertThat(Sizes.parse("512M")).isEqualTo(512L << 20);
        assertThat(Sizes.parse("2g")).isEqualTo(2L << 30);
        assertThat(Sizes.parse("1t")).isEqualTo(1L << 40);
        assertThat(Sizes.parse("512MiB")).isEqualTo(512L << 20);
        assertThat(Sizes.parse("2GB")).isEqualTo(2L << 30);
        assertThat(Sizes.parse("100b")).isEqualTo(100);
        assertThat(Sizes.parse(" 3m ")).isEqualTo(3L << 20);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "abc", "12q", "-1", "1.5g", "m", "2 gigabytes", "0x10"})
    void rejectsMalformedSizesNamingTheTextAndTheForms(String text) {
        assertThatThrownBy(() -> Sizes.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("invalid size '" + text + "'")
                .hasMessageContaining("512m");
    }

    @Test
    void rejectsSizesThatOverflow() {
        assertThatThrownBy(() -> Sizes.parse("99999999t"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too large");
        assertThatThrownBy(() -> Sizes.parse("99999999999999999999"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too large");
    }

    @Test
    void rejectsNull() {
        assertThatThrownBy(() -> Sizes.parse(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void formatsForHumans() {
        assertThat(Sizes.format(100)).isEqualTo("100 B");
        assertThat(Sizes.format(512L << 20)).isEqualTo("512 MiB");
        assertThat(Sizes.format(3L << 29)).isEqualTo("1.5 GiB");
    }
}
