package io.quiver.cli;

import io.quiver.QuiverException;
import io.quiver.core.net.Tls;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * {@code --tls-cert}, {@code --tls-key} and {@code --tls-trust}: mutual TLS on every connection a
 * command opens or accepts. All three or none; {@code quiver tls-init} makes them.
 */
final class TlsOptions {
    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "PEM certificate (chain) of this process, e.g. node.pem of quiver tls-init. With --tls-key and"
                    + " --tls-trust: mutual TLS on every connection; then give all three to every process.")
    Path cert;

    @Option(names = "--tls-key", paramLabel = "FILE",
            description = "Unencrypted PKCS#8 PEM private key of --tls-cert, e.g. node-key.pem.")
    Path key;

    @Option(names = "--tls-trust", paramLabel = "FILE",
            description = "PEM certificate of the cluster CA that signed every process's certificate, e.g. ca.pem.")
    Path trust;

    boolean isSet() {
        return cert != null || key != null || trust != null;
    }

    /**
     * Reads and checks the files, or {@link Tls#NONE} when none is given.
     *
     * @throws picocli.CommandLine.ParameterException naming the option and the file that is wrong
     */
    Tls tls(CommandSpec spec) {
        try {
            return Tls.of(cert, key, trust);
        } catch (QuiverException e) {
            String message = e.getMessage();
            String option = message.startsWith("--tls-key") ? "--tls-key"
                    : message.startsWith("--tls-trust") ? "--tls-trust" : "--tls-cert";
            if (!message.startsWith("--tls-")) {
                option = cert == null ? "--tls-cert" : key == null ? "--tls-key" : trust == null ? "--tls-trust" : option;
            }
            throw Options.invalid(spec, option, message);
        }
    }
}
