package io.quiver.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code quiver tls-init DIR}: a cluster CA and a node certificate for {@code --tls-*} ({@link TlsInit}). */
@Command(name = "tls-init", mixinStandardHelpOptions = true,
        description = {"Makes a cluster CA and a node certificate signed by it, for --tls-cert/--tls-key/--tls-trust.",
                "Writes DIR/ca.pem, DIR/ca-key.pem, DIR/node.pem and DIR/node-key.pem (keys readable by you only),",
                "with the JDK's keytool. Copy node.pem, node-key.pem and ca.pem to every host; keep ca-key.pem apart."})
final class TlsInitCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConfigOptions config;

    @Option(names = "--hosts", split = ",", paramLabel = "HOST",
            description = "Host names and IP addresses the processes are reached at, comma-separated, put in the node"
                    + " certificate besides localhost and 127.0.0.1.")
    List<String> hosts = new ArrayList<>();

    @Option(names = "--days", defaultValue = "825",
            description = "Days the node certificate is valid (the CA: 10 years). Default: ${DEFAULT-VALUE}.")
    int days;

    @Option(names = "--force", description = "Replace the files if they exist (a running cluster keeps the old ones"
            + " until restarted).")
    boolean force;

    @Parameters(index = "0", paramLabel = "DIR", description = "Directory to write the files in (created if absent).")
    Path dir;

    @Override
    public Integer call() {
        TlsInit.Result result;
        try {
            result = TlsInit.run(dir, hosts, days, force);
        } catch (IllegalArgumentException e) {
            String message = String.valueOf(e.getMessage());
            throw Options.invalid(spec, message.startsWith("--days") ? "--days" : "--hosts", message);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf("wrote %s (CA certificate), %s (CA key), %s (node certificate for %s) and %s (node key)%n",
                result.trust(), dir.resolve("ca-key.pem"), result.cert(), String.join(", ", result.names()), result.key());
        out.printf("give every process and client: --tls-cert %s --tls-key %s --tls-trust %s%n", result.cert(),
                result.key(), result.trust());
        out.println("keep ca-key.pem off the cluster: whoever holds it can make certificates the cluster trusts");
        out.flush();
        return 0;
    }
}
