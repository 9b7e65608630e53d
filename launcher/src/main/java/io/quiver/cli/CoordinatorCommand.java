package io.quiver.cli;

import io.quiver.coordinator.Coordinator;
import io.quiver.coordinator.CoordinatorConfig;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Tls;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.local.ClusterRoot;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quiver coordinator}: joins the leader election of a cluster and leads or stands by, until stopped. */
@Command(name = "coordinator", mixinStandardHelpOptions = true,
        description = {"Runs a coordinator (leader or standby) until stopped.",
                "One coordinator of a cluster leads; the others stand by and take over when it dies.",
                "Stops cleanly on Ctrl-C or SIGTERM."})
final class CoordinatorCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    ConfigOptions config;

    @Mixin
    TlsOptions tlsOptions;

    @Option(names = "--id", description = "Unique id in the cluster. Default: coord-<host>-<pid>.")
    String id;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Address to listen on and publish to the cluster (so not 0.0.0.0). Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "0", description = "Port (0: any free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--http-port", defaultValue = "0",
            description = "Port of the status page, /api/cluster and /metrics (0: any free one; a standby redirects"
                    + " to the leader). Default: ${DEFAULT-VALUE}.")
    int httpPort;

    @Override
    public Integer call() throws Exception {
        ClusterUrl url = cluster.url(spec);
        String coordinatorId = id != null ? id : QuiverCli.defaultId("coord");
        Options.checkId(spec, coordinatorId);
        Options.checkPort(spec, port);
        Options.checkPort(spec, "--http-port", httpPort);
        Secret secret = cluster.secret();
        Options.checkAdvertisedHost(spec, host, secret);
        Tls tls = tlsOptions.tls(spec);
        try (Lifetime lifetime = Lifetime.begin("quiver-coordinator")) {
            ClusterRoot.ensureExists(url, secret, 15_000);
            Coordinator coordinator = lifetime.add(new Coordinator(
                    new CoordinatorConfig(url, coordinatorId, host, port, secret, httpPort, tls)));
            coordinator.start();
            PrintWriter out = spec.commandLine().getOut();
            out.printf("coordinator %s joined the leader election of cluster %s on %s%s (it logs when it leads); "
                    + "status page http://%s:%d/; Ctrl-C to stop%n", coordinatorId, url, host,
                    (secret.isSet() ? ", secret set" : "") + (tls.isEnabled() ? ", TLS" : ""), host,
                    coordinator.httpPort());
            out.flush();
            lifetime.awaitShutdown();
        }
        return 0;
    }
}
