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
    /** Set by {@link #tls(Path, Path, Path)}; null: from the {@code quiver.tls.*} system properties. */
    private final TlsFiles tls;

    private ConnectOptions(String secret, Duration connectTimeout, Duration failoverTimeout, List<Path> propertyJars,
                           List<Path> jars, boolean shipClassPath, boolean progress, TlsFiles tls) {
        this.secret = secret;
        this.connectTimeout = connectTimeout;
        this.failoverTimeout = failoverTimeout;
        this.propertyJars = propertyJars;
        this.jars = jars;
        this.shipClassPath = shipClassPath;
        this.progress = progress;
        this.tls = tls;
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
                Duration.ofSeconds(60), List.copyOf(fromProperty), List.of(), true, true, null);
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
                shipClassPath, progress, tls);
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
        return new ConnectOptions(secret, connectTimeout, failoverTimeout, propertyJars, jars, ship, progress, tls);
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
        return new ConnectOptions(secret, connectTimeout, failoverTimeout, propertyJars, jars, shipClassPath, progress, tls);
    }

    /**
     * How long {@code connect} waits for a leader and an executor (default 15 s).
     *
     * @param timeout a positive duration
     * @return a copy with this timeout
     */
    public ConnectOptions connectTimeout(Duration timeout) {
        return new ConnectOptions(secret, positive(timeout, "connectTimeout"), failoverTimeout, propertyJars, jars, shipClassPath,
                progress, tls);
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
                progress, tls);
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
        return new ConnectOptions(secret, connectTimeout, failoverTimeout, propertyJars, jars, shipClassPath, progress, tls);
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

    /** The system properties that {@link #tls()} reads when {@link #tls(Path, Path, Path)} was not called. */
    public static final String TLS_CERT_PROPERTY = "quiver.tls.cert";
    /** See {@link #TLS_CERT_PROPERTY}. */
    public static final String TLS_KEY_PROPERTY = "quiver.tls.key";
    /** See {@link #TLS_CERT_PROPERTY}. */
    public static final String TLS_TRUST_PROPERTY = "quiver.tls.trust";

    /**
     * The PEM files of a TLS identity (see {@link #tls(Path, Path, Path)}).
     *
     * @param cert this client's certificate chain, its own certificate first
     * @param key the certificate's unencrypted PKCS#8 private key
     * @param trust the certificate of the cluster CA that every process's certificate is signed by
     */
    public record TlsFiles(Path cert, Path key, Path trust) {
        /**
         * Checks that none is null.
         *
         * @param cert this client's certificate chain
         * @param key the certificate's private key
         * @param trust the cluster CA's certificate
         */
        public TlsFiles {
            checkArgument(cert != null && key != null && trust != null,
                    "TLS needs a certificate, a key and a trust file, got cert=%s, key=%s, trust=%s", cert, key, trust);
        }
    }

    /**
     * Connects over mutual TLS: to the leader and to every executor, with this certificate, trusting
     * servers whose certificate the CA in {@code trust} signed. The cluster must run with TLS too
     * ({@code --tls-cert}, {@code --tls-key}, {@code --tls-trust} on every process); a mismatch fails
     * {@code connect} with a message saying so. {@code quiver tls-init DIR} makes all three files
     * (node.pem, node-key.pem, ca.pem). The HMAC handshake of the secret still runs, inside TLS. The
     * files are read when {@code connect} runs.
     *
     * @param cert this client's PEM certificate chain
     * @param key its unencrypted PKCS#8 PEM private key ("BEGIN PRIVATE KEY")
     * @param trust the PEM certificate of the cluster CA
     * @return a copy of these options with TLS on
     * @throws IllegalArgumentException if any is null
     */
    public ConnectOptions tls(Path cert, Path key, Path trust) {
        return new ConnectOptions(secret, connectTimeout, failoverTimeout, propertyJars, jars, shipClassPath, progress,
                new TlsFiles(cert, key, trust));
    }

    /**
     * The TLS files in effect: those of {@link #tls(Path, Path, Path)}, else those named by the system
     * properties {@value #TLS_CERT_PROPERTY}, {@value #TLS_KEY_PROPERTY} and {@value #TLS_TRUST_PROPERTY}
     * (set by {@code quiver submit --tls-*}; read on each call), else empty: plaintext.
     *
     * @return the TLS files, or empty for plaintext
     * @throws IllegalArgumentException if only some of the three properties are set
     */
    public Optional<TlsFiles> tls() {
        if (tls != null) {
            return Optional.of(tls);
        }
        String cert = System.getProperty(TLS_CERT_PROPERTY);
        String key = System.getProperty(TLS_KEY_PROPERTY);
        String trust = System.getProperty(TLS_TRUST_PROPERTY);
        if (cert == null && key == null && trust == null) {
            return Optional.empty();
        }
        checkArgument(cert != null && key != null && trust != null, "the system properties %s, %s and %s must be set"
                + " together, got %s, %s and %s", TLS_CERT_PROPERTY, TLS_KEY_PROPERTY, TLS_TRUST_PROPERTY, cert, key, trust);
        return Optional.of(new TlsFiles(Path.of(cert), Path.of(key), Path.of(trust)));
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
                + shipClassPath + ", progress=" + progress + ", jars=" + jars() + ", tls=" + (tls == null ? "from properties" : tls)
                + "]";
    }
}
