package io.quiver.core.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4): {@code # HELP} and
 * {@code # TYPE} lines, then samples {@code name{label="value",...} value [timestamp]}. Every line
 * must parse, names and label names must be valid, a family's {@code TYPE} must come before its
 * samples and appear once. Used to read executors' metrics and by tests to check what Quiver
 * serves. Pure, any thread.
 */
public final class PrometheusText {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    /** A float as Prometheus writes one (Java's own forms, such as {@code 1d} or hex, are not). */
    private static final Pattern FLOAT = Pattern.compile("[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?");
    private static final List<String> TYPES = List.of("counter", "gauge", "histogram", "summary", "untyped");

    private PrometheusText() {}

    /**
     * One sample.
     *
     * @param name the sample's name (with {@code _total}, {@code _bucket} etc. as written)
     * @param labels its labels in order
     * @param value its value
     */
    public record Sample(String name, Map<String, String> labels, double value) {
        public Sample {
            labels = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(labels));
        }
    }

    /**
     * What a scrape holds.
     *
     * @param types each family's declared type, by family name
     * @param samples every sample in order
     */
    public record Scrape(Map<String, String> types, List<Sample> samples) {
        public Scrape {
            types = Map.copyOf(types);
            samples = List.copyOf(samples);
        }

        /**
         * The value of the sample with this name and these labels (exactly).
         *
         * @param name the sample name
         * @param labels label names and values, alternating
         * @return its value, or NaN when absent
         */
        public double value(String name, String... labels) {
            Map<String, String> want = new LinkedHashMap<>();
            for (int i = 0; i + 1 < labels.length; i += 2) {
                want.put(labels[i], labels[i + 1]);
            }
            for (Sample s : samples) {
                if (s.name().equals(name) && s.labels().equals(want)) {
                    return s.value();
                }
            }
            return Double.NaN;
        }

        /**
         * Every sample of a name.
         *
         * @param name the sample name
         * @return its samples, in order
         */
        public List<Sample> all(String name) {
            return samples.stream().filter(s -> s.name().equals(name)).toList();
        }
    }

    /**
     * Parses a scrape.
     *
     * @param text the exposition text
     * @return what it holds
     * @throws IllegalArgumentException naming the line and what is wrong with it
     */
    public static Scrape parse(String text) {
        Map<String, String> types = new LinkedHashMap<>();
        List<Sample> samples = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int n = 0; n < lines.length; n++) {
            String line = lines[n];
            if (line.isEmpty()) {
                if (n != lines.length - 1) {
                    throw bad(n, line, "an empty line");
                }
                continue;
            }
            if (line.startsWith("#")) {
                String[] p = line.split(" ", 4);
                if (p.length >= 3 && p[1].equals("TYPE")) {
                    if (p.length != 4 || !NAME.matcher(p[2]).matches() || !TYPES.contains(p[3])) {
                        throw bad(n, line, "a malformed TYPE line");
                    }
                    if (types.put(p[2], p[3]) != null) {
                        throw bad(n, line, "a second TYPE for " + p[2]);
                    }
                } else if (p.length >= 3 && p[1].equals("HELP")) {
                    if (!NAME.matcher(p[2]).matches()) {
                        throw bad(n, line, "a malformed HELP line");
                    }
                }
                continue;
            }
            samples.add(sample(n, line, types));
        }
        if (!text.isEmpty() && !text.endsWith("\n")) {
            throw new IllegalArgumentException("the exposition does not end with a newline");
        }
        return new Scrape(types, samples);
    }

    private static Sample sample(int n, String line, Map<String, String> types) {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
            i++;
        }
        String name = line.substring(0, i);
        if (!NAME.matcher(name).matches()) {
            throw bad(n, line, "an invalid metric name '" + name + "'");
        }
        if (family(name, types) == null) {
            throw bad(n, line, "a sample before its family's TYPE line");
        }
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (true) {
                if (i < line.length() && line.charAt(i) == '}') {
                    i++;
                    break;
                }
                int eq = line.indexOf('=', i);
                if (eq < 0) {
                    throw bad(n, line, "a label without '='");
                }
                String key = line.substring(i, eq);
                if (!LABEL.matcher(key).matches()) {
                    throw bad(n, line, "an invalid label name '" + key + "'");
                }
                i = eq + 1;
                if (i >= line.length() || line.charAt(i) != '"') {
                    throw bad(n, line, "an unquoted label value");
                }
                i++;
                StringBuilder v = new StringBuilder();
                while (true) {
                    if (i >= line.length()) {
                        throw bad(n, line, "an unterminated label value");
                    }
                    char c = line.charAt(i++);
                    if (c == '"') {
                        break;
                    }
                    if (c == '\\') {
                        if (i >= line.length()) {
                            throw bad(n, line, "a dangling escape");
                        }
                        char e = line.charAt(i++);
                        switch (e) {
                            case 'n' -> v.append('\n');
                            case '\\' -> v.append('\\');
                            case '"' -> v.append('"');
                            default -> throw bad(n, line, "an invalid escape \\" + e);
                        }
                    } else {
                        v.append(c);
                    }
                }
                if (labels.put(key, v.toString()) != null) {
                    throw bad(n, line, "label " + key + " twice");
                }
                if (i < line.length() && line.charAt(i) == ',') {
                    i++;
                } else if (i >= line.length() || line.charAt(i) != '}') {
                    throw bad(n, line, "',' or '}' after a label");
                }
            }
        }
        if (i >= line.length() || line.charAt(i) != ' ') {
            throw bad(n, line, "a space before the value");
        }
        String[] rest = line.substring(i + 1).split(" ");
        if (rest.length < 1 || rest.length > 2) {
            throw bad(n, line, "a value and at most a timestamp");
        }
        double value = number(n, line, rest[0]);
        if (rest.length == 2) {
            try {
                Long.parseLong(rest[1]);
            } catch (NumberFormatException e) {
                throw bad(n, line, "an invalid timestamp");
            }
        }
        return new Sample(name, labels, value);
    }

    private static String family(String name, Map<String, String> types) {
        if (types.containsKey(name)) {
            return name;
        }
        for (String suffix : List.of("_total", "_created", "_bucket", "_count", "_sum")) {
            if (name.endsWith(suffix)) {
                String base = name.substring(0, name.length() - suffix.length());
                if (types.containsKey(base)) {
                    return base;
                }
            }
        }
        return null;
    }

    private static double number(int n, String line, String s) {
        switch (s) {
            case "+Inf":
                return Double.POSITIVE_INFINITY;
            case "-Inf":
                return Double.NEGATIVE_INFINITY;
            case "NaN":
                return Double.NaN;
            default:
                if (!FLOAT.matcher(s).matches()) {
                    throw bad(n, line, "an invalid value '" + s + "'");
                }
                try {
                    return Double.parseDouble(s);
                } catch (NumberFormatException e) {
                    throw bad(n, line, "an invalid value '" + s + "'");
                }
        }
    }

    private static IllegalArgumentException bad(int n, String line, String what) {
        return new IllegalArgumentException("Prometheus text line " + (n + 1) + " has " + what + ": " + line);
    }
}
