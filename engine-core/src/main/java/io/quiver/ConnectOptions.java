package io.quiver;

import static com.google.common.base.Preconditions.checkArgument;

import io.quiver.core.net.Secret;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How {@link Quiver#connect(String, ConnectOptions)} connects. Immutable: every setter returns a
 * copy.
 *
 * <pre>{@code
 * Quiver.connect("zk://zk1:2181/quiver", ConnectOptions.defaults().failoverTimeout(Duration.ofMinutes(2)))
 * }</pre>
 *
 * <p>Shipping code: by default the client ships its application class path to the executors (see
 * {@link #shipClassPath(boolean)}), plus the {@link #jars(List) jars} named here.
 */
public final class ConnectOptions {
    /** Jars that {@link #defaults()} ships in addition, path-separator separated ({@code quiver submit} sets it). */
    public static final String JARS_PROPERTY = "quiver.jars";

    private final String secret;
    private final Duration connectTimeout;
    private final Duration failoverTimeout;
    /** Those of {@value #JARS_PROPERTY}, kept apart so that {@link #jars(List)} does not drop them. */
    private final List<Path> propertyJars;
    private final List<Path> jars;
    private final boolean shipClassPath;
    private final boolean progress;

    private ConnectOptions(String secret, Duration connectTimeout, Duration failoverTimeout, List<Path> propertyJars,
                           List<Path> jars, boolean shipClassPath, boolean progress) {
        this.secret = secret;
        this.connectTimeout = connectTimeout;
        this.failoverTimeout = failoverTimeout;
        this.propertyJars = propertyJars;
        this.jars = jars;
        this.shipClassPath = shipClassPath;
        this.progress = progress;
    }

    /**
     * No explicit secret (so it comes from the environment, see {@link #secret()}), a 15 s connect
     * timeout, a 60 s failover timeout, the application class path shipped, and as {@link #jars()}
     * those named by the system property {@value #JARS_PROPERTY} (a list separated by
     * {@link java.io.File#pathSeparator}; read on each call), if set.
     *
     * @return the default options
     */
    public static ConnectOptions defaults() {
        List<Path> fromProperty = new ArrayList<>();
        String prop = System.getProperty(JARS_PROPERTY, "");
        for (String s : prop.split(java.io.File.pathSeparator)) {
            if (!s.isBlank()) {
                fromProperty.add(Path.of(s.trim()));
            }
        }
        return new ConnectOptions(null, Duration.ofMillis(Long.getLong("quiver.connectTimeoutMs", 15_000)),
                Duration.ofSeconds(60), List.copyOf(fromProperty), List.of(), true, true);
    }

    /**
     * Jars (or class folders) to ship to the executors in addition to the application class path, or
     * instead of it with {@code shipClassPath(false)}; they replace any set before here, and come after
     * those of {@value #JARS_PROPERTY}, which {@link #defaults()} keeps in any case. Each is
     * named by the SHA-256 of its bytes and sent to an executor only if it lacks it (executors cache what they received in their work directory). The
     * files are read when {@code connect} runs.
     *
     * @param jars the jar files or class folders to ship
     * @return a copy of these options with those jars
     * @throws IllegalArgumentException if the list or an item is null
     */
    public ConnectOptions jars(List<Path> jars) {
        checkArgument(jars != null, "jars is null; pass List.of() for none");
        for (Path p : jars) {
            checkArgument(p != null, "jars contains null: %s; pass the paths of built jars", jars);
        }
        return new ConnectOptions(secret, connectTimeout, failoverTimeout, propertyJars, List.copyOf(jars),
                shipClassPath, progress);
    }

    /**
     * Whether to ship the application class path (default {@code true}): every entry of
     * {@code java.class.path}, with the {@code Class-Path} of a manifest-only jar expanded, minus the
     * JDK; class folders are packed into jars. Only what an executor lacks moves, so Quiver's own jars
     * and whatever executors were started with ({@code --classpath}) never do. With {@code false},
     * only {@link #jars(List)} travel, and executors must already have the rest.
     *
     * @param ship whether to ship the application class path
     * @return a copy of these options with that choice
     */
    public ConnectOptions shipClassPath(boolean ship) {
        return new ConnectOptions(secret, connectTimeout, failoverTimeout, propertyJars, jars, ship, progress);
    }

    /**
     * The jars shipped beside (or instead of) the class path: those of {@value #JARS_PROPERTY} as
     * {@link #defaults()} read it, then those of {@link #jars(List)}.
     *
     * @return the jars shipped besides the class path
     */
    public List<Path> jars() {
        if (propertyJars.isEmpty()) {
            return jars;
        }
        List<Path> all = new ArrayList<>(propertyJars);
        all.addAll(jars);
        return List.copyOf(all);
    }

    /**
     * Whether the application class path is shipped; see {@link #shipClassPath(boolean)}.
     *
     * @return true if it is shipped
     */
    public boolean shipClassPath() {
        return shipClassPath;
    }

    /**
     * The cluster secret; {@code ""} connects without one (and ignores the environment).
     *
     * @param secret the secret every process of the cluster was given
     * @return a copy with this secret
     */
    public ConnectOptions secret(String secret) {
        checkArgument(secret != null, "secret is null; pass the cluster secret, or \"\" to connect without one");
        return new ConnectOptions(secret, connectTimeout, failoverTimeout, propertyJars, jars, shipClassPath, progress);
    }

    /**
     * How long {@code connect} waits for a leader and an executor (default 15 s).
     *
     * @param timeout a positive duration
     * @return a copy with this timeout
     */
    public ConnectOptions connectTimeout(Duration timeout) {
        return new ConnectOptions(secret, positive(timeout, "connectTimeout"), failoverTimeout, propertyJars, jars, shipClassPath,
                progress);
    }

    /**
     * How long calls and pending refs wait for the next leader once the leader is lost (default
     * 60 s); past it they fail with {@link ClusterUnavailableException}.
     *
     * @param timeout a positive duration
     * @return a copy with this timeout
     */
    public ConnectOptions failoverTimeout(Duration timeout) {
        return new ConnectOptions(secret, connectTimeout, positive(timeout, "failoverTimeout"), propertyJars, jars, shipClassPath,
                progress);
    }

    /**
     * Whether waits draw console progress on stderr (API.md section 7): dataset actions, and waits
     * in {@code gather}/{@code asCompleted} over half a second. Default {@code true}; it is drawn
     * only when stderr is a terminal, and never with the environment variable {@code QUIVER_PROGRESS=0}.
     *
     * @param progress false to turn console progress off
     * @return a copy with this setting
     */
    public ConnectOptions progress(boolean progress) {
        return new ConnectOptions(secret, connectTimeout, failoverTimeout, propertyJars, jars, shipClassPath, progress);
    }

    /**
     * Whether console progress is wanted (it is still drawn only on a terminal).
     *
     * @return the setting
     */
    public boolean progress() {
        return progress;
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
                + ", connectTimeout=" + connectTimeout + ", failoverTimeout=" + failoverTimeout + ", shipClassPath="
                + shipClassPath + ", progress=" + progress + ", jars=" + jars() + "]";
    }
}
