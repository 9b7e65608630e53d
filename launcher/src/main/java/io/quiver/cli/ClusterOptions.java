package io.quiver.cli;

import io.quiver.core.net.Secret;
import io.quiver.core.zk.ClusterUrl;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** {@code --zk} and {@code --secret-file}: how every process command finds and joins its cluster. */
final class ClusterOptions {
    @Option(names = "--zk", required = true, paramLabel = "URL",
            description = "The cluster: zk://host:port[,host:port...]/root, e.g. zk://127.0.0.1:2181/quiver.")
    String zk;

    @Option(names = "--secret-file", paramLabel = "FILE",
            description = "File holding the cluster secret. Default: the file named by $QUIVER_SECRET_FILE, else the "
                    + "contents of $QUIVER_SECRET, else none (then every process listens on loopback only).")
    Path secretFile;

    ClusterUrl url(CommandSpec spec) {
        return Options.clusterUrl(spec, zk);
    }

    Secret secret() {
        return Options.secret(secretFile);
    }
}
