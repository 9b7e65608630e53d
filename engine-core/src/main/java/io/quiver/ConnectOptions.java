package io.quiver;

import static com.google.common.base.Preconditions.checkArgument;

import io.quiver.core.net.Secret;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * How {@link Quiver#connect(String, ConnectOptions)} connects. Immutable: every setter returns a
 * copy.
 *
 * <pre>{@code
 * Quiver.connect("zk://zk1:2181/quiver", ConnectOptions.defaults().failoverTimeout(Duration.ofMinutes(2)))
 * }</pre>
 */
public final class ConnectOptions {
    private static final ConnectOptions DEFAULTS = new ConnectOptions(null,
            Duration.ofMillis(Long.getLong("quiver.connectTimeoutMs", 15_000)), Duration.ofSeconds(60));

    private final String secret;
    private final Duration connectTimeout;
    private final Duration failoverTimeout;

    private ConnectOptions(String secret, Duration connectTimeout, Duration failoverTimeout) {
        this.secret = secret;
        this.connectTimeout = connectTimeout;
        this.failoverTimeout = failoverTimeout;
    }

    /**
     * No explicit secret (so it comes from the environment, see {@link #secret()}), a 15 s connect
     * timeout, a 60 s failover timeout.
     *
     * @return the default options
     */
    public static ConnectOptions defaults() {
        return DEFAULTS;
    }

    /**
     * The cluster secret; {@code ""} connects without one (and ignores the environment).
     *
     * @param secret the secret every process of the cluster was given
     * @return a copy with this secret
     */
    public ConnectOptions secret(String secret) {
        checkArgument(secret != null, "secret is null; pass the cluster secret, or \"\" to connect without one");
        return new ConnectOptions(secret, connectTimeout, failoverTimeout);
    }

    /**
     * How long {@code connect} waits for a leader and an executor (default 15 s).
     *
     * @param timeout a positive duration
     * @return a copy with this timeout
     */
    public ConnectOptions connectTimeout(Duration timeout) {
        return new ConnectOptions(secret, positive(timeout, "connectTimeout"), failoverTimeout);
    }

    /**
     * How long calls and pending refs wait for the next leader once the leader is lost (default
     * 60 s); past it they fail with {@link ClusterUnavailableException}.
     *
     * @param timeout a positive duration
     * @return a copy with this timeout
     */
    public ConnectOptions failoverTimeout(Duration timeout) {
        return new ConnectOptions(secret, connectTimeout, positive(timeout, "failoverTimeout"));
    }

    /**
     * How long {@code connect} waits for a leader and an executor.
     *
     * @return the connect timeout
     */
    public Duration connectTimeout() {
        return connectTimeout;
    }

    /**
     * How long calls wait for the next leader.
     *
     * @return the failover timeout
     */
    public Duration failoverTimeout() {
        return failoverTimeout;
    }

    /**
     * The secret in effect: the one set here, else {@code -Dquiver.secret}, else the contents of the
     * file named by {@code -Dquiver.secretFile} (set by {@code quiver submit --secret-file}), else
     * the contents of the file named by the environment variable {@code QUIVER_SECRET_FILE}, else
     * {@code QUIVER_SECRET}; empty when none is set. Reads the file on each call.
     *
     * @return the secret, or empty to connect without one
     * @throws QuiverException if a file named this way cannot be read or is empty
     */
    public Optional<String> secret() {
        String s = secret != null ? secret : System.getProperty("quiver.secret");
        if (s == null) {
            String property = System.getProperty("quiver.secretFile");
            String file = property != null && !property.isEmpty() ? property : System.getenv(Secret.FILE_ENV);
            String namedBy = property != null && !property.isEmpty() ? "-Dquiver.secretFile" : Secret.FILE_ENV;
            s = file != null && !file.isEmpty() ? Secret.read(Path.of(file), namedBy) : System.getenv(Secret.CONTENTS_ENV);
        }
        return s == null || s.isEmpty() ? Optional.empty() : Optional.of(s);
    }

    private static Duration positive(Duration d, String name) {
        checkArgument(d != null && !d.isNegative() && !d.isZero(),
                "%s must be a positive Duration, got %s; pass e.g. Duration.ofSeconds(30)", name, d);
        return d;
    }

    /** The options, with the secret shown only as set or not. */
    @Override
    public String toString() {
        return "ConnectOptions[secret=" + (secret == null ? "from environment" : secret.isEmpty() ? "none" : "***")
                + ", connectTimeout=" + connectTimeout + ", failoverTimeout=" + failoverTimeout + "]";
    }
}
