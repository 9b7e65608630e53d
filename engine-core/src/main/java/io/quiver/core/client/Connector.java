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

    private Connector() {}

    public static Quiver connect(String url, ConnectOptions options) {
        checkArgument(url != null && !url.isBlank(), "cluster url is empty; pass zk://host:port/root or local[N]");
        checkArgument(options != null, "options are null; pass ConnectOptions.defaults()");
        Matcher m = LOCAL.matcher(url.trim());
        if (m.matches()) {
            int n = Integer.parseInt(m.group(1));
            checkArgument(n > 0 && n <= 64, "local[N] needs 1 <= N <= 64 executors, got %s", n);
            for (LocalClusterProvider provider : ServiceLoader.load(LocalClusterProvider.class)) {
                return provider.startLocal(n, options.secret().orElse(""));
            }
            throw new QuiverException("Quiver.connect(\"" + url + "\") needs module io.quiver:launcher on the class path"
                    + " (it starts the embedded cluster); add the dependency, or connect to a running cluster"
                    + " with zk://host:port/root");
        }
        checkArgument(url.startsWith(ClusterUrl.SCHEME), "unknown cluster url '%s'; expected zk://host:port/root or local[N]", url);
        return QuiverClient.connect(ClusterUrl.parse(url), options);
    }
}
