package io.quiver.core.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.ConnectOptions;
import io.quiver.Quiver;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The public connect options: defaults, copies, the secret's sources, and clear refusals of bad values. */
class ConnectOptionsTest {

    @Test
    void defaultsAndEverySetterReturnsACopy() {
        ConnectOptions d = ConnectOptions.defaults();
        assertThat(d.failoverTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(d.connectTimeout()).isPositive();

        ConnectOptions o = d.failoverTimeout(Duration.ofSeconds(5)).connectTimeout(Duration.ofSeconds(3)).secret("s");
        assertThat(o.failoverTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(o.connectTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(o.secret()).contains("s");
        assertThat(d.failoverTimeout()).isEqualTo(Duration.ofSeconds(60)); // unchanged
        assertThat(o.toString()).doesNotContain("=s,").contains("***");
    }

    @Test
    void aMissingJarIsNamedBeforeAnythingIsOpened() {
        java.nio.file.Path missing = java.nio.file.Path.of("build", "no-such-app.jar").toAbsolutePath();
        long start = System.nanoTime();
        // Nothing listens on port 1: were it contacted first, this would wait out the 30 s timeout.
        assertThatThrownBy(() -> Quiver.connect("zk://127.0.0.1:1/quiver", ConnectOptions.defaults()
                .connectTimeout(Duration.ofSeconds(30)).jars(java.util.List.of(missing))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ConnectOptions.jars: " + missing + " does not exist")
                .hasMessageContaining("build it first");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void anExplicitSecretWinsAndEmptyMeansNone() {
        String before = System.getProperty("quiver.secret");
        try {
            System.setProperty("quiver.secret", "from-property");
            assertThat(ConnectOptions.defaults().secret()).contains("from-property");
            assertThat(ConnectOptions.defaults().secret("explicit").secret()).contains("explicit");
            assertThat(ConnectOptions.defaults().secret("").secret()).isEmpty();
        } finally {
            if (before == null) {
                System.clearProperty("quiver.secret");
            } else {
                System.setProperty("quiver.secret", before);
            }
        }
    }

    @Test
    void badValuesAreRefusedNamingTheValueAndTheFix() {
        ConnectOptions d = ConnectOptions.defaults();
        assertThatThrownBy(() -> d.failoverTimeout(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("failoverTimeout must be a positive Duration, got PT0S; pass e.g. Duration.ofSeconds(30)");
        assertThatThrownBy(() -> d.connectTimeout(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("connectTimeout must be a positive Duration, got PT-1S; pass e.g. Duration.ofSeconds(30)");
        assertThatThrownBy(() -> d.failoverTimeout(null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("got null");
        assertThatThrownBy(() -> d.secret(null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("secret is null").hasMessageContaining("\"\" to connect without one");
        assertThatThrownBy(() -> Quiver.connect("zk://127.0.0.1:1/x", null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ConnectOptions.defaults()");
    }

    @Test
    void jarsComeAfterThoseOfTheQuiverJarsPropertyWhichDefaultsReadsEachTime() {
        String sep = java.io.File.pathSeparator;
        System.setProperty(io.quiver.ConnectOptions.JARS_PROPERTY, "/a/app.jar" + sep + " " + sep + "/b/lib.jar");
        try {
            io.quiver.ConnectOptions o = io.quiver.ConnectOptions.defaults();
            assertThat(o.shipClassPath()).isTrue();
            assertThat(o.jars()).containsExactly(java.nio.file.Path.of("/a/app.jar"), java.nio.file.Path.of("/b/lib.jar"));
            io.quiver.ConnectOptions mine = o.shipClassPath(false).jars(java.util.List.of(java.nio.file.Path.of("x.jar")));
            assertThat(mine.shipClassPath()).isFalse();
            assertThat(mine.jars()).containsExactly(java.nio.file.Path.of("/a/app.jar"),
                    java.nio.file.Path.of("/b/lib.jar"), java.nio.file.Path.of("x.jar"));
            assertThat(o.jars()).hasSize(2); // a copy
        } finally {
            System.clearProperty(io.quiver.ConnectOptions.JARS_PROPERTY);
        }
        assertThat(io.quiver.ConnectOptions.defaults().jars()).isEmpty();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> io.quiver.ConnectOptions.defaults()
                .jars(java.util.Arrays.asList(java.nio.file.Path.of("a.jar"), null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null");
    }

    @Test
    void tlsFilesComeFromTlsOrTheSubmitPropertiesAndAllThreeAreNeeded() {
        java.nio.file.Path a = java.nio.file.Path.of("a.pem");
        java.nio.file.Path b = java.nio.file.Path.of("b.pem");
        java.nio.file.Path c = java.nio.file.Path.of("c.pem");
        assertThat(ConnectOptions.defaults().tls()).isEmpty();
        ConnectOptions o = ConnectOptions.defaults().tls(a, b, c).failoverTimeout(Duration.ofSeconds(5));
        assertThat(o.tls()).contains(new ConnectOptions.TlsFiles(a, b, c)); // kept across other setters
        assertThatThrownBy(() -> ConnectOptions.defaults().tls(a, null, c)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("TLS needs a certificate, a key and a trust file");
        try {
            System.setProperty(ConnectOptions.TLS_CERT_PROPERTY, "x.pem");
            assertThatThrownBy(() -> ConnectOptions.defaults().tls()).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("must be set together");
            System.setProperty(ConnectOptions.TLS_KEY_PROPERTY, "y.pem");
            System.setProperty(ConnectOptions.TLS_TRUST_PROPERTY, "z.pem");
            assertThat(ConnectOptions.defaults().tls()).contains(new ConnectOptions.TlsFiles(
                    java.nio.file.Path.of("x.pem"), java.nio.file.Path.of("y.pem"), java.nio.file.Path.of("z.pem")));
            assertThat(ConnectOptions.defaults().tls(a, b, c).tls()).contains(new ConnectOptions.TlsFiles(a, b, c));
        } finally {
            System.clearProperty(ConnectOptions.TLS_CERT_PROPERTY);
            System.clearProperty(ConnectOptions.TLS_KEY_PROPERTY);
            System.clearProperty(ConnectOptions.TLS_TRUST_PROPERTY);
        }
    }
}
