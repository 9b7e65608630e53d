package io.quiver.cli;

import io.quiver.local.EmbeddedZooKeeper;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quiver zookeeper}: a single-node ZooKeeper server for a hand-started cluster, until stopped. */
@Command(name = "zookeeper", mixinStandardHelpOptions = true,
        description = {"Runs a standalone ZooKeeper server until stopped (Ctrl-C or SIGTERM).",
                "For a fault-tolerant cluster, run a real ensemble of 3 or 5 servers instead.",
                "Clusters then use zk://<this host>:<port>/<root>, e.g. zk://10.0.0.1:2181/quiver."})
final class ZooKeeperCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConfigOptions config;

    @Option(names = "--port", defaultValue = "2181", description = "Client port (0: any free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = {"Address to listen on. Default: ${DEFAULT-VALUE}.",
                    "Any other address (0.0.0.0: all interfaces) needs a cluster secret, as every Quiver process does."})
    String host;

    @Option(names = "--secret-file", paramLabel = "FILE",
            description = "File holding the cluster secret. Default: the file named by $QUIVER_SECRET_FILE, else the "
                    + "contents of $QUIVER_SECRET, else none (then it listens on loopback only).")
    Path secretFile;

    @Option(names = "--dir", description = "Data directory, kept across restarts. Default: a temp dir deleted on exit.")
    Path dir;

    @Override
    public Integer call() throws Exception {
        Options.checkPort(spec, port);
        Options.checkHost(spec, host, Options.secret(secretFile));
        InetAddress address = InetAddress.getByName(host);
        try (Lifetime lifetime = Lifetime.begin("quiver-zookeeper")) {
            EmbeddedZooKeeper zk = lifetime.add(new EmbeddedZooKeeper(address, port, dir,
                    EmbeddedZooKeeper.STANDARD_TICK_MILLIS, 0)).start();
            spec.commandLine().getOut().printf("ZooKeeper listening on %s:%d, data in %s%s%n"
                            + "clusters use e.g. zk://%s:%d/quiver; Ctrl-C to stop%n",
                    host, zk.port(), zk.dataDir(), dir == null ? " (deleted on exit)" : "",
                    address.isAnyLocalAddress() ? hostName() : host, zk.port());
            spec.commandLine().getOut().flush();
            lifetime.awaitShutdown();
        }
        return 0;
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "127.0.0.1";
        }
    }
}
