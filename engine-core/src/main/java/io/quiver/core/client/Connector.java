package io.quiver.core.client;

import static com.google.common.base.Preconditions.checkArgument;

import io.quiver.ConnectOptions;
import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.core.zk.ClusterUrl;
import java.util.ServiceLoader;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Behind {@link Quiver#connect(String)}: picks an embedded or a real cluster by the url. */
public final class Connector {
    private static final Pattern LOCAL = Pattern.compile("local\\[(\\d+)]");

    /** The system property {@code quiver submit} sets to the cluster's URL. */
    public static final String URL_PROPERTY = "quiver.url";
    /** The environment variable a user sets to the cluster's URL. */
    public static final String URL_ENV = "QUIVER_URL";

    private Connector() {}

    /**
     * The URL {@link Quiver#connect()} uses: {@value #URL_PROPERTY}, else {@value #URL_ENV}.
     *
     * @throws IllegalArgumentException naming both if neither is set
     */
    public static String urlFromEnvironment(java.util.function.UnaryOperator<String> env) {
        String url = System.getProperty(URL_PROPERTY);
        if (url == null || url.isBlank()) {
            url = env.apply(URL_ENV);
        }
        checkArgument(url != null && !url.isBlank(), "Quiver.connect() found no cluster url: neither the system property "
                + "%s nor the environment variable %s is set; run the program with quiver submit --zk URL, set %s "
                + "(e.g. %s=zk://zk1:2181/quiver or %s=local[2]), or call Quiver.connect(url)",
                URL_PROPERTY, URL_ENV, URL_ENV, URL_ENV, URL_ENV);
        return url.trim();
    }

    public static Quiver connect(String url, ConnectOptions options) {
        checkArgument(url != null && !url.isBlank(), "cluster url is empty; pass zk://host:port/root or local[N]");
        checkArgument(options != null, "options are null; pass ConnectOptions.defaults()");
        Matcher m = LOCAL.matcher(url.trim());
        if (m.matches()) {
            int n = Integer.parseInt(m.group(1));
            checkArgument(n > 0 && n <= 64, "local[N] needs 1 <= N <= 64 executors, got %s", n);
            for (LocalClusterProvider provider : ServiceLoader.load(LocalClusterProvider.class)) {
                return provider.startLocal(n, options);
            }
            throw new QuiverException("Quiver.connect(\"" + url + "\") needs module io.quiver:launcher on the class path"
                    + " (it starts the embedded cluster); add the dependency, or connect to a running cluster"
                    + " with zk://host:port/root");
        }
        checkArgument(url.startsWith(ClusterUrl.SCHEME), "unknown cluster url '%s'; expected zk://host:port/root or local[N]", url);
        return QuiverClient.connect(ClusterUrl.parse(url), options);
    }
}
