package io.quiver.process;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A marker per task run: each run of a task creates an empty file {@code <key>.<nanoTime>.<pid>} in
 * one directory on this machine, so that a test counts runs per key instead of assuming them.
 * Duplicates are keys with more than one file; lost keys are expected keys with none; the pid says
 * which process (executor) ran it.
 *
 * <p>{@link #mark(String, String)} runs inside tasks on the executors (static, only a directory name
 * and a key travel); the counting methods run in the test. Keys are letters, digits, '-' and '_'.
 */
public final class TestingMarkers {
    private static final long PID = ProcessHandle.current().pid();

    private final Path dir;

    TestingMarkers(Path dir) {
        this.dir = dir.toAbsolutePath();
    }

    /** Markers in {@code dir} (created if missing); for tests that have no {@link TestingProcessCluster}. */
    public static TestingMarkers in(Path dir) {
        TestingMarkers markers = new TestingMarkers(dir);
        markers.create();
        return markers;
    }

    void create() {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create marker dir " + dir, e);
        }
    }

    /** The directory, as a string for task functions to capture. */
    public String dir() {
        return dir.toString();
    }

    /** Called by a task: records one run of {@code key} by this process. */
    public static void mark(String dir, String key) {
        checkArgument(key.matches("[A-Za-z0-9_-]+"), "marker key must be letters, digits, '-' or '_', got '%s'", key);
        Path folder = Path.of(dir);
        for (long stamp = System.nanoTime(); ; stamp++) {
            try {
                Files.createFile(folder.resolve(key + "." + stamp + "." + PID));
                return;
            } catch (FileAlreadyExistsException e) {
                // the same key twice in the same nanosecond in this process: still two runs
            } catch (IOException e) {
                throw new UncheckedIOException("task cannot write its marker " + key + " in " + dir, e);
            }
        }
    }

    /** Runs per key, for every key that has a marker. */
    public Map<String, Integer> runs() {
        Map<String, Integer> runs = new TreeMap<>();
        for (Marker m : list()) {
            runs.merge(m.key(), 1, Integer::sum);
        }
        return runs;
    }

    /** Runs per key among keys starting with {@code prefix}. */
    public Map<String, Integer> runs(String prefix) {
        Map<String, Integer> runs = new TreeMap<>();
        runs().forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                runs.put(k, v);
            }
        });
        return runs;
    }

    /** Keys that ran more than once, with their run counts. */
    public Map<String, Integer> duplicates() {
        Map<String, Integer> dup = new TreeMap<>();
        runs().forEach((k, v) -> {
            if (v > 1) {
                dup.put(k, v);
            }
        });
        return dup;
    }

    /** Expected keys that never ran. */
    public List<String> lost(Collection<String> expected) {
        Map<String, Integer> runs = runs();
        return expected.stream().filter(k -> !runs.containsKey(k)).sorted().toList();
    }

    /** How many markers start with {@code prefix}. */
    public long count(String prefix) {
        return list().stream().filter(m -> m.key().startsWith(prefix)).count();
    }

    /** Every marker, in no particular order. */
    public List<Marker> list() {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> Marker.parse(p.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list markers in " + dir, e);
        }
    }

    /** One run: its key, when ({@link System#nanoTime()} of the process that ran it) and which process. */
    public record Marker(String key, long nanoTime, long pid) {
        static Marker parse(String name) {
            int last = name.lastIndexOf('.');
            int mid = name.lastIndexOf('.', last - 1);
            return new Marker(name.substring(0, mid), Long.parseLong(name.substring(mid + 1, last)),
                    Long.parseLong(name.substring(last + 1)));
        }
    }

    @Override
    public String toString() {
        return "TestingMarkers[" + dir + "]";
    }
}
