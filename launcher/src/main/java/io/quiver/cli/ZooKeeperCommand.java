package io.quiver.cli;

import io.quiver.local.EmbeddedZooKeeper;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code quiver zookeeper}: a single-node ZooKeeper server for a hand-started cluster, until stopped. */
@Command(name = "zookeeper", mixinStandardHelpOptions = true,
        description = {"Runs a standalone ZooKeeper server until stopped (Ctrl-C or SIGTERM).",
                "For a fault-tolerant cluster, run a real ensemble of 3 or 5 servers instead.",
                "Clusters then use zk://<this host>:<port>/<root>, e.g. zk://10.0.0.1:2181/quiver."})
final class ZooKeeperCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--port", defaultValue = "2181", description = "Client port (0: any free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--host", defaultValue = "0.0.0.0",
            description = "Address to listen on. Default: ${DEFAULT-VALUE} (all interfaces).")
    String host;

    @Option(names = "--dir", description = "Data directory, kept across restarts. Default: a temp dir deleted on exit.")
    Path dir;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--port must be in [0, 65535], got " + port);
        }
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (java.net.UnknownHostException e) {
            throw new ParameterException(spec.commandLine(), "--host '" + host + "' is not a known address");
        }
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
