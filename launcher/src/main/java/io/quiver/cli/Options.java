package io.quiver.cli;

import io.quiver.core.net.Secret;
import io.quiver.core.zk.ClusterUrl;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** Checks shared by the process commands; each failure is a usage error naming the option and the fix. */
final class Options {
    private Options() {}

    static ClusterUrl clusterUrl(CommandSpec spec, String zk) {
        try {
            return ClusterUrl.parse(zk);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--zk: " + e.getMessage());
        }
    }

    /** The secret from {@code --secret-file}, else from {@code QUIVER_SECRET}, else none. */
    static Secret secret(Path secretFile) {
        return secretFile != null ? Secret.fromFile(secretFile) : Secret.fromEnvironment();
    }

    /** Without a secret, Quiver processes listen on loopback only (DESIGN.md, Security). */
    static void checkHost(CommandSpec spec, String host, Secret secret) {
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new ParameterException(spec.commandLine(), "--host '" + host + "' is not a known address");
        }
        if (!address.isLoopbackAddress() && !secret.isSet()) {
            throw new ParameterException(spec.commandLine(), "--host " + host + " is not a loopback address, which "
                    + "needs a cluster secret: pass --secret-file FILE (or set QUIVER_SECRET), or use --host 127.0.0.1");
        }
    }

    static void checkPort(CommandSpec spec, int port) {
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--port must be in [0, 65535] (0: any free port), got " + port);
        }
    }

    static void checkId(CommandSpec spec, String id) {
        if (!id.matches("[A-Za-z0-9._-]+")) {
            throw new ParameterException(spec.commandLine(), "--id must be letters, digits, '.', '_' or '-', got '"
                    + id + "'");
        }
    }
}
