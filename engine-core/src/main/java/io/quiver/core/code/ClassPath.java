package io.quiver.core.code;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What "the application class path" is (API.md, section 6): every entry of {@code java.class.path},
 * with the {@code Class-Path} of a manifest-only jar (as Surefire and IDEs launch) expanded, minus
 * the JDK. Stateless; reads the file system on each call.
 */
public final class ClassPath {
    private static final Logger log = LoggerFactory.getLogger(ClassPath.class);

    /**
     * Directories holding one of these classes are Quiver's own modules (their {@code target/classes}
     * when run from a build); every other class folder is application code.
     */
    private static final List<String> QUIVER_MODULE_MARKERS = List.of(
            "io/quiver/Quiver.class",
            "io/quiver/planner/Planner.class",
            "io/quiver/executor/Executor.class",
            "io/quiver/coordinator/Coordinator.class",
            "io/quiver/local/LocalCluster.class");

    private ClassPath() {}

    /** This JVM's application class path, in order, without duplicates or missing entries. */
    public static List<Path> application() {
        return expand(split(System.getProperty("java.class.path", "")));
    }

    /**
     * Quiver's own class path, for executors that must get user code by shipping
     * ({@code LocalCluster.options().shipClassPath(true)}): the application class path without class
     * folders that are not Quiver modules (test and application classes, as builds and IDEs run
     * them) and without jars built next to them in a {@code target} folder.
     */
    public static List<Path> quiverOwn() {
        List<Path> own = new ArrayList<>();
        for (Path p : application()) {
            if (isQuiverModule(p) || Files.isRegularFile(p) && !isBuildOutput(p)) {
                own.add(p);
            }
        }
        return own;
    }

    /** Splits a path-separator separated list; blank items are skipped. */
    public static List<Path> split(String pathList) {
        List<Path> out = new ArrayList<>();
        for (String s : pathList.split(File.pathSeparator)) {
            if (!s.isBlank()) {
                try {
                    out.add(Path.of(s.trim()));
                } catch (InvalidPathException e) {
                    log.warn("ignoring class path entry '{}': {}", s, e.getMessage());
                }
            }
        }
        return out;
    }

    /**
     * Absolute, existing entries in order, each once; a jar's manifest {@code Class-Path} is expanded
     * after it (a manifest-only jar is replaced by what it names); entries inside the JDK are dropped.
     */
    public static List<Path> expand(List<Path> entries) {
        Set<Path> out = new LinkedHashSet<>();
        Set<Path> seen = new LinkedHashSet<>();
        Path jdk = Path.of(System.getProperty("java.home")).toAbsolutePath().normalize();
        for (Path p : entries) {
            add(p, out, seen, jdk);
        }
        return List.copyOf(out);
    }

    private static void add(Path entry, Set<Path> out, Set<Path> seen, Path jdk) {
        Path p = entry.toAbsolutePath().normalize();
        if (!seen.add(p) || p.startsWith(jdk) || !Files.exists(p)) {
            return;
        }
        if (Files.isDirectory(p)) {
            out.add(p);
            return;
        }
        List<Path> named = List.of();
        boolean manifestOnly = false;
        try (JarFile jar = new JarFile(p.toFile())) {
            Manifest m = jar.getManifest();
            String cp = m == null ? null : m.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
            if (cp != null && !cp.isBlank()) {
                named = classPathAttribute(p, cp);
                manifestOnly = jar.stream().allMatch(e -> e.isDirectory() || e.getName().startsWith("META-INF/"));
            }
        } catch (IOException e) {
            log.warn("class path entry {} is not a readable jar ({}); it is shipped as it is", p, e.getMessage());
        }
        if (!manifestOnly) {
            out.add(p);
        }
        for (Path n : named) {
            add(n, out, seen, jdk);
        }
    }

    /** The entries of a manifest's Class-Path: space-separated URLs relative to the jar's folder. */
    private static List<Path> classPathAttribute(Path jar, String value) {
        List<Path> out = new ArrayList<>();
        URI base = jar.getParent().toUri();
        for (String item : value.trim().split("\\s+")) {
            try {
                URI u = base.resolve(item);
                if ("file".equals(u.getScheme())) {
                    out.add(Path.of(u));
                }
            } catch (IllegalArgumentException e) {
                log.warn("ignoring Class-Path item '{}' in {}: {}", item, jar, e.getMessage());
            }
        }
        return out;
    }

    private static boolean isQuiverModule(Path p) {
        if (Files.isDirectory(p)) {
            return QUIVER_MODULE_MARKERS.stream().anyMatch(m -> Files.isRegularFile(p.resolve(m)));
        }
        if (!isBuildOutput(p)) {
            return false;
        }
        try (JarFile jar = new JarFile(p.toFile())) {
            return QUIVER_MODULE_MARKERS.stream().anyMatch(m -> jar.getEntry(m) != null);
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean isBuildOutput(Path p) {
        Path parent = p.getParent();
        return parent != null && parent.getFileName() != null && parent.getFileName().toString().equals("target");
    }
}
