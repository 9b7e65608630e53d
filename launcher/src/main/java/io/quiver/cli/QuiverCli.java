package io.quiver.cli;

import ch.qos.logback.classic.Level;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code quiver} command: {@code zookeeper}, {@code coordinator} and {@code executor} start the
 * processes of a cluster by hand; {@code submit} runs a user's {@code main} as a client of a cluster;
 * {@code demo} runs the pre-scatter scenario on a local cluster; {@code tls-init} makes the
 * certificates of {@code --tls-*}. Every command takes
 * {@code --config FILE} and {@code --print-config} ({@link Config}).
 *
 * <p>Exit codes: 0 success, 1 a runtime error (one line on stderr; the stack trace too with
 * {@code --verbose}), 2 a usage error.
 */
@Command(name = "quiver", mixinStandardHelpOptions = true, version = "quiver 0.1.0-SNAPSHOT",
        description = "Quiver, a distributed DAG engine for the JVM: scatter once, submit many, gather.")
public final class QuiverCli implements Runnable {
    static final int EXIT_ERROR = 1;
    static final int EXIT_USAGE = 2;

    /**
     * The commands, in the order help lists them. Only the one a command line names is built:
     * picocli reads every annotated option of a command when it is added, and building all seven
     * cost each executor and coordinator process about 100 ms more of its start.
     */
    private static final Map<String, Supplier<Object>> COMMANDS = new LinkedHashMap<>();

    /** The commands that connect to ZooKeeper as a client. */
    private static final java.util.Set<String> ZK_CLIENTS = java.util.Set.of("coordinator", "executor", "submit",
            "demo", "status");

    static {
        COMMANDS.put("zookeeper", ZooKeeperCommand::new);
        COMMANDS.put("coordinator", CoordinatorCommand::new);
        COMMANDS.put("executor", ExecutorCommand::new);
        COMMANDS.put("submit", SubmitCommand::new);
        COMMANDS.put("demo", DemoCommand::new);
        COMMANDS.put("status", StatusCommand::new);
        COMMANDS.put("tls-init", TlsInitCommand::new);
        COMMANDS.put("help", CommandLine.HelpCommand::new);
    }

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Print stack traces of errors and debug logs of io.quiver.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the command line without exiting the JVM; returns the exit code. */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        String named = commandNamed(args);
        if (named != null && ZK_CLIENTS.contains(named)) {
            io.quiver.core.zk.Zk.warmUpInBackground(); // while the command line is parsed and logging set up
        }
        CommandLine cli = new CommandLine(new QuiverCli());
        if (named != null && !named.equals("help")) {
            cli.addSubcommand(COMMANDS.get(named).get());
        } else {
            COMMANDS.values().forEach(command -> cli.addSubcommand(command.get()));
        }
        cli.setOut(out).setErr(err);
        Config.install(cli);
        if (cli.getSubcommands().containsKey("submit")) {
            // Everything after the app jar belongs to the application, even "--help".
            cli.getSubcommands().get("submit").setStopAtPositional(true);
        }
        cli.setExecutionStrategy(QuiverCli::executeWithVerbosity);
        cli.setParameterExceptionHandler(QuiverCli::usageError);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> runtimeError(e, commandLine, parseResult));
        return cli.execute(args);
    }

    /** The command that {@code args} name (the first word that is not an option), or null if none is known. */
    private static String commandNamed(String[] args) {
        for (String arg : args) {
            if (!arg.startsWith("-")) {
                return COMMANDS.containsKey(arg) ? arg : null;
            }
        }
        return null;
    }

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "name a command: zookeeper, coordinator, executor, submit, demo, status"
                + " or tls-init");
    }

    private static int executeWithVerbosity(ParseResult parseResult) {
        if (verbose(parseResult)) {
            ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.quiver")).setLevel(Level.DEBUG);
        }
        ParseResult last = parseResult;
        while (last.subcommand() != null) {
            last = last.subcommand();
        }
        Config config = Config.of(last.commandSpec().commandLine());
        if (config != null && !last.isUsageHelpRequested() && !last.isVersionHelpRequested()) {
            config.load(); // unknown keys are errors even when every option was given on the command line
            if (last.hasMatchedOption("--print-config")) {
                try {
                    config.print(last, last.commandSpec().commandLine().getOut());
                } catch (RuntimeException e) {
                    throw new CommandLine.ExecutionException(last.commandSpec().commandLine(), e.getMessage(), e);
                }
                return 0;
            }
        }
        return new CommandLine.RunLast().execute(parseResult);
    }

    private static int usageError(ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        Config config = Config.of(cmd);
        String origin = config != null && e.getArgSpec() != null ? config.origin(e.getArgSpec()) : "";
        err.println(cmd.getCommandSpec().qualifiedName() + ": " + e.getMessage() + origin);
        UnmatchedArgumentException.printSuggestions(e, err);
        err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for usage.");
        err.flush();
        return EXIT_USAGE;
    }

    private static int runtimeError(Exception e, CommandLine cmd, ParseResult parseResult) {
        PrintWriter err = cmd.getErr();
        err.println(cmd.getCommandSpec().qualifiedName() + ": " + describe(e));
        if (verbose(parseResult)) {
            e.printStackTrace(err);
        }
        err.flush();
        return EXIT_ERROR;
    }

    /** One line: the message, or the exception's type when it has none, with the cause when it adds to it. */
    static String describe(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            message = e.getClass().getSimpleName();
        }
        Throwable cause = e.getCause();
        if (cause != null && cause.getMessage() != null && !message.contains(cause.getMessage())) {
            message += " (" + cause.getMessage() + ")";
        }
        return message;
    }

    private static boolean verbose(ParseResult parseResult) {
        for (ParseResult pr = parseResult; pr != null; pr = pr.subcommand()) {
            if (pr.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    /** A default process id: prefix, host name and pid, restricted to the characters ids allow. */
    static String defaultId(String prefix) {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "local";
        }
        int dot = host.indexOf('.');
        if (dot > 0) {
            host = host.substring(0, dot);
        }
        String id = prefix + "-" + host.toLowerCase(Locale.ROOT) + "-" + ProcessHandle.current().pid();
        return id.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
