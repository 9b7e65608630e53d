package io.quiver.core.zk;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * {@code zk://host:port[,host:port...]/root}: a ZooKeeper ensemble and the cluster's root path
 * (a chroot), so that several clusters can share one ensemble.
 */
public record ClusterUrl(String connectString, String root) {
    public static final String SCHEME = "zk://";

    public static ClusterUrl parse(String url) {
        checkArgument(url != null, "cluster url is null; pass zk://host:port/root or local[N]");
        checkArgument(url.startsWith(SCHEME), "cluster url must start with zk:// (or be local[N]), got '%s'", url);
        String rest = url.substring(SCHEME.length());
        int slash = rest.indexOf('/');
        String hosts = slash < 0 ? rest : rest.substring(0, slash);
        String root = slash < 0 ? "/quiver" : rest.substring(slash);
        checkArgument(!hosts.isBlank(), "cluster url '%s' names no ZooKeeper host; e.g. zk://127.0.0.1:2181/quiver", url);
        for (String hp : hosts.split(",")) {
            int colon = hp.lastIndexOf(':');
            checkArgument(colon > 0 && colon < hp.length() - 1, "'%s' in cluster url '%s' is not host:port", hp, url);
            try {
                int port = Integer.parseInt(hp.substring(colon + 1));
                checkArgument(port > 0 && port < 65536, "port %s out of range in '%s'", port, url);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + hp + "' in cluster url '" + url + "' has no numeric port", e);
            }
        }
        while (root.length() > 1 && root.endsWith("/")) {
            root = root.substring(0, root.length() - 1);
        }
        checkArgument(root.length() > 1, "cluster url '%s' needs a root path, e.g. zk://%s/quiver", url, hosts);
        return new ClusterUrl(hosts, root);
    }

    /** The connect string with the chroot, as Curator takes it. */
    public String chrootedConnectString() {
        return connectString + root;
    }

    @Override
    public String toString() {
        return SCHEME + connectString + root;
    }
}
