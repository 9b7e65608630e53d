package io.quiver.cli;

import io.quiver.ConnectOptions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code quiver demo}: the pre-scatter scenario on a local cluster, with and without pre-scatter. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Runs the pre-scatter scenario on a local cluster, with and without pre-scatter.",
                "Broadcasts a double[] once and runs tasks over it, then runs the first tasks again the naive",
                "way (the array captured in each task's function) and compares their cost."})
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConfigOptions config;

    @Mixin
    TlsOptions tlsOptions;

    @Option(names = "--executors", defaultValue = "2", description = "Executors, 1 slot each. Default: ${DEFAULT-VALUE}.")
    int executors;

    @Option(names = "--size-mb", defaultValue = "256", description = "Array size in MiB. Default: ${DEFAULT-VALUE}.")
    int sizeMb;

    @Option(names = "--tasks", defaultValue = "200", description = "Tasks over the broadcast array. Default: ${DEFAULT-VALUE}.")
    int tasks;

    @Option(names = "--naive-tasks", defaultValue = "20",
            description = "Tasks run again with the array captured in each (slow by nature). Default: ${DEFAULT-VALUE}.")
    int naiveTasks;

    @Option(names = "--separate-processes", description = "Executors as child JVMs instead of inside this one.")
    boolean separateProcesses;

    @Override
    public Integer call() {
        Demo.Settings settings;
        try {
            tlsOptions.tls(spec); // checks the files now: a bad one is a usage error naming it
            settings = new Demo.Settings(executors, sizeMb, tasks, Math.min(naiveTasks, tasks), separateProcesses,
                    tlsOptions.isSet() ? new ConnectOptions.TlsFiles(tlsOptions.cert, tlsOptions.key, tlsOptions.trust)
                            : null);
        } catch (IllegalArgumentException e) {
            String message = String.valueOf(e.getMessage());
            String option = message.startsWith("--") ? message.split(" ", 2)[0] : null;
            throw option != null && spec.findOption(option) != null ? Options.invalid(spec, option, message)
                    : new ParameterException(spec.commandLine(), message);
        }
        Demo.run(settings, spec.commandLine().getOut());
        return 0;
    }
}
