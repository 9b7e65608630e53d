package io.quiver.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --config} and {@code --print-config}, which every command takes; {@link Config} reads them. */
final class ConfigOptions {
    @Option(names = "--config", paramLabel = "FILE",
            description = "A properties file of settings, keys the long option names (e.g. zk=zk://h:2181/quiver,"
                    + " slots=8); an option given on the command line wins over the file.")
    Path config;

    @Option(names = "--print-config", description = "Print the settings in effect, and where each came from, then exit.")
    boolean printConfig;
}
