package io.quiver.core.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quiver.ConnectOptions;
import io.quiver.Quiver;
import io.quiver.QuiverException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code Quiver.connect()} reads quiver.url, else QUIVER_URL; the client's secret can come from -Dquiver.secretFile. */
class ConnectFromEnvironmentTest {
    @AfterEach
    void clear() {
        System.clearProperty(Connector.URL_PROPERTY);
        System.clearProperty("quiver.secretFile");
    }

    @Test
    void withNeitherSetTheErrorNamesBoth() {
        assumeTrue(System.getenv(Connector.URL_ENV) == null, "QUIVER_URL is set in this environment");
        assertThatThrownBy(Quiver::connect).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("system property quiver.url")
                .hasMessageContaining("environment variable QUIVER_URL")
                .hasMessageContaining("quiver submit")
                .hasMessageContaining("Quiver.connect(url)");
    }

    @Test
    void thePropertyWinsOverTheVariable() {
        assertThat(Connector.urlFromEnvironment(Map.of(Connector.URL_ENV, "zk://env:2181/q")::get))
                .isEqualTo("zk://env:2181/q");
        System.setProperty(Connector.URL_PROPERTY, " zk://property:2181/q ");
        assertThat(Connector.urlFromEnvironment(Map.of(Connector.URL_ENV, "zk://env:2181/q")::get))
                .isEqualTo("zk://property:2181/q");
    }

    @Test
    void connectUsesTheProperty() {
        System.setProperty(Connector.URL_PROPERTY, "local[3]");
        // engine-core alone has no launcher: the error proves the property's url was the one used
        assertThatThrownBy(Quiver::connect).isInstanceOf(QuiverException.class)
                .hasMessageContaining("Quiver.connect(\"local[3]\") needs module io.quiver:launcher");
    }

    @Test
    void aSecretFilePropertyIsReadWhenNoSecretWasSet(@TempDir Path dir) throws IOException {
        assumeTrue(System.getProperty("quiver.secret") == null, "-Dquiver.secret is set");
        Path file = Files.writeString(dir.resolve("secret"), "from-the-file\n");
        System.setProperty("quiver.secretFile", file.toString());
        assertThat(ConnectOptions.defaults().secret()).contains("from-the-file");
        assertThat(ConnectOptions.defaults().secret("explicit").secret()).contains("explicit");
        System.setProperty("quiver.secretFile", dir.resolve("missing").toString());
        assertThatThrownBy(() -> ConnectOptions.defaults().secret()).isInstanceOf(QuiverException.class)
                .hasMessageContaining("named by -Dquiver.secretFile");
    }
}
