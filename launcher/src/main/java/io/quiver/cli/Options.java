package io.quiver.cli;

import io.quiver.core.net.Secret;
import io.quiver.core.zk.ClusterUrl;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * Checks shared by the commands; each failure is a usage error naming the option and the fix (and,
 * through {@link Config#origin}, the config file when the value came from one).
 */
final class Options {
    private Options() {}

    /** A usage error about {@code option} (e.g. "--port"), carrying its spec so the config file can be named. */
    static ParameterException invalid(CommandSpec spec, String option, String message) {
        return new ParameterException(spec.commandLine(), message, spec.findOption(option), null);
    }

    static ClusterUrl clusterUrl(CommandSpec spec, String zk) {
        try {
            return ClusterUrl.parse(zk);
        } catch (IllegalArgumentException e) {
            throw invalid(spec, "--zk", "--zk: " + e.getMessage());
        }
    }

    /**
     * The secret of a command: {@code --secret-file}, else the file named by {@code QUIVER_SECRET_FILE},
     * else the contents of {@code QUIVER_SECRET}, else none (the same order everywhere, clients included).
     */
    static Secret secret(Path secretFile) {
        return Secret.lookup(secretFile, System::getenv).secret();
    }

    /** Without a secret, Quiver processes listen on loopback only (DESIGN.md, Security). */
    static void checkHost(CommandSpec spec, String host, Secret secret) {
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw invalid(spec, "--host", "--host '" + host + "' is not a known address");
        }
        if (!address.isLoopbackAddress() && !secret.isSet()) {
            throw invalid(spec, "--host", "--host " + host + " is not a loopback address, which needs a cluster secret: "
                    + Secret.HOW_TO_SET + "; or use --host 127.0.0.1");
        }
    }

    /**
     * {@link #checkHost}, for a process that also publishes {@code host} in ZooKeeper (a coordinator, an
     * executor): a wildcard address such as 0.0.0.0 would be published as is, and a peer on another
     * machine would then connect to itself.
     */
    static void checkAdvertisedHost(CommandSpec spec, String host, Secret secret) {
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw invalid(spec, "--host", "--host '" + host + "' is not a known address");
        }
        if (address.isAnyLocalAddress()) {
            throw invalid(spec, "--host", "--host " + host + " is not an address other machines can connect to: "
                    + "--host is also the address this process publishes in ZooKeeper; give this machine's address "
                    + "on the cluster's network, e.g. --host 10.0.0.3");
        }
        checkHost(spec, host, secret);
    }

    static void checkPort(CommandSpec spec, int port) {
        checkPort(spec, "--port", port);
    }

    static void checkPort(CommandSpec spec, String flag, int port) {
        if (port < 0 || port > 65535) {
            throw invalid(spec, flag, flag + " must be in [0, 65535] (0: any free port), got " + port);
        }
    }

    static void checkId(CommandSpec spec, String id) {
        if (!id.matches("[A-Za-z0-9._-]+")) {
            throw invalid(spec, "--id", "--id must be letters, digits, '.', '_' or '-', got '" + id + "'");
        }
    }
}
