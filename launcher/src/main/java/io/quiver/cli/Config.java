package io.quiver.cli;

import io.quiver.core.net.Secret;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * The settings of one command from its {@code --config FILE}: a properties file whose keys are the
 * command's long option names without the dashes ({@code zk=...}, {@code slots=8}). It is the
 * command's picocli default-value provider, so an option given on the command line wins, then the
 * file, then the option's own default. Unknown keys are usage errors naming the key, the file and
 * the keys allowed; a bad value's error names the key and the file ({@link #origin}).
 *
 * <p>One per command line; picocli calls it on the parsing thread only.
 */
final class Config implements IDefaultValueProvider {
    /** Options that are about the command line itself, never settings. */
    private static final Set<String> NOT_SETTINGS = Set.of("config", "print-config", "help", "version", "verbose");

    private final CommandSpec spec;
    private final Set<String> served = new HashSet<>();
    private Path loadedFrom;
    private Map<String, String> values = Map.of();

    private Config(CommandSpec spec) {
        this.spec = spec;
    }

    /** Makes every subcommand of {@code root} read its {@code --config}. */
    static void install(CommandLine root) {
        for (CommandLine sub : root.getSubcommands().values()) {
            if (sub.getCommandSpec().findOption("--config") != null) {
                sub.setDefaultValueProvider(new Config(sub.getCommandSpec()));
            }
        }
    }

    /** The config of the command that {@code cmd} parses, or null if it takes none. */
    static Config of(CommandLine cmd) {
        return cmd.getDefaultValueProvider() instanceof Config c ? c : null;
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option) || NOT_SETTINGS.contains(key(option))) {
            return null;
        }
        String value = load().get(key(option));
        if (value != null) {
            served.add(key(option));
        }
        return value;
    }

    /**
     * Reads the file named by {@code --config} (once) and checks its keys.
     *
     * @throws ParameterException naming the file and the problem
     */
    Map<String, String> load() {
        Path file = spec.findOption("--config").getValue();
        if (file == null || file.equals(loadedFrom)) {
            return values;
        }
        Properties properties = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(in);
        } catch (IOException | IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--config " + file + ": cannot read it as a properties file"
                    + " (" + e + "); give a file of key=value lines, keys the long option names, e.g. zk=zk://host:2181/quiver");
        }
        Map<String, String> read = new TreeMap<>();
        Set<String> known = settingKeys();
        for (String key : properties.stringPropertyNames()) {
            String k = key.startsWith("--") ? key.substring(2) : key;
            if (!known.contains(k)) {
                throw new ParameterException(spec.commandLine(), "--config " + file + ": unknown key '" + key + "' for "
                        + spec.qualifiedName() + "; the keys are the long option names: " + String.join(", ", known));
            }
            String value = properties.getProperty(key).trim();
            if (value.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "--config " + file + ": key '" + k + "' has no value;"
                        + " give one (e.g. " + k + "=...) or remove the line");
            }
            read.put(k, value);
        }
        loadedFrom = file;
        values = read;
        return values;
    }

    /**
     * Where the value of {@code arg} came from, when it came from the config file: " (key 'slots' in
     * FILE)", else "". Appended to usage errors so that a bad value in a file names the file.
     */
    String origin(ArgSpec arg) {
        if (arg instanceof OptionSpec option && served.contains(key(option)) && loadedFrom != null) {
            return " (key '" + key(option) + "' in " + loadedFrom + ")";
        }
        return "";
    }

    /**
     * For {@code --print-config}: each setting as {@code key=value}, grouped by where it came from, in
     * a form {@code --config} reads back; secrets never (only where the secret comes from).
     */
    void print(ParseResult parsed, PrintWriter out) {
        load();
        Map<String, List<String>> groups = new LinkedHashMap<>();
        groups.put("# from the command line", new ArrayList<>());
        groups.put("# from " + loadedFrom, new ArrayList<>());
        groups.put("# defaults", new ArrayList<>());
        List<String> unset = new ArrayList<>();
        for (OptionSpec option : settings()) {
            Object value = option.getValue();
            if (value == null) {
                unset.add(key(option));
                continue;
            }
            String group = parsed.hasMatchedOption(option) ? "# from the command line"
                    : served.contains(key(option)) ? "# from " + loadedFrom : "# defaults";
            groups.get(group).add(key(option) + "=" + format(value));
        }
        out.println("# settings of " + spec.qualifiedName());
        groups.forEach((title, lines) -> {
            if (!lines.isEmpty()) {
                out.println(title);
                lines.forEach(out::println);
            }
        });
        if (!unset.isEmpty()) {
            out.println("# not set: " + String.join(", ", unset));
        }
        for (PositionalParamSpec positional : spec.positionalParameters()) {
            if (positional.getValue() != null) {
                out.println("# " + positional.paramLabel() + ": " + format(positional.getValue()));
            }
        }
        OptionSpec secretFile = spec.findOption("--secret-file");
        if (secretFile != null) {
            out.println("# secret: " + Secret.source(secretFile.getValue(), System::getenv)
                    + " (its contents are never printed)");
        }
        out.flush();
    }

    private static String format(Object value) {
        if (value instanceof Collection<?> c) {
            return c.stream().map(String::valueOf).collect(Collectors.joining(","));
        }
        return String.valueOf(value);
    }

    private List<OptionSpec> settings() {
        List<OptionSpec> result = new ArrayList<>();
        for (OptionSpec option : spec.options()) {
            if (!option.hidden() && !NOT_SETTINGS.contains(key(option))) {
                result.add(option);
            }
        }
        return result;
    }

    private Set<String> settingKeys() {
        return settings().stream().map(Config::key).collect(Collectors.toCollection(java.util.LinkedHashSet::new));
    }

    private static String key(OptionSpec option) {
        String name = option.longestName();
        return name.startsWith("--") ? name.substring(2) : name.replaceFirst("^-+", "");
    }
}
