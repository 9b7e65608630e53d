package io.quiver.local;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.LinkOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A class-data-sharing archive for child executor JVMs: the classes an executor loads (Netty,
 * Curator, ZooKeeper, Quiver), parsed and verified once and then mapped by every later child, so
 * that a child JVM starts without loading them again (Java's AppCDS, dynamic archive).
 *
 * <p>The first child of a class path that has no archive yet writes one when it exits
 * ({@code -XX:ArchiveClassesAtExit}) to a file of its own; once it has exited, the cluster moves
 * that file into place, and children started after that map it ({@code -XX:SharedArchiveFile}).
 * Archives live in {@code java.io.tmpdir/quiver-cds-<user>} (private to the user: a child maps
 * what is there), named by a hash of the Java runtime and of
 * the class path with each jar's size and time, so a rebuilt jar or another JDK gets its own.
 * The JVM checks the archive again itself and ignores one that does not match. Writing one deletes
 * all but the {@value #KEEP} most recently used, so rebuilds do not fill the temp directory. Only class paths
 * made of jars qualify: CDS refuses directories. {@code -Dquiver.executor.cds=false} turns it off.
 *
 * <p>Used by one {@link LocalCluster}, under its lock.
 */
final class ChildCds {
    private static final Logger LOG = LoggerFactory.getLogger(ChildCds.class);
    static final String PROPERTY = "quiver.executor.cds";
    /** A lock older than this belongs to a cluster that died while its child was writing. */
    private static final Duration STALE_LOCK = Duration.ofMinutes(10);
    /**
     * Archives kept in the directory: each rebuilt jar makes a new one (20-30 MB), so writing one
     * deletes all but this many most recently used.
     */
    static final int KEEP = 4;
    /** CDS logs warnings for classes it skips (old class files, unverifiable ones): not the executor's business. */
    private static final String QUIET = "-Xlog:cds=off,cds+dynamic=off";

    private final Path archive;
    private final Path lock;
    /** The file the writing child dumps to, and its id; null when no child of this cluster writes one. */
    private Path dumping;
    private String dumper;

    /** The archive's path (whether or not it exists yet). */
    Path archive() {
        return archive;
    }

    private ChildCds(Path archive) {
        this.archive = archive;
        this.lock = archive.resolveSibling(archive.getFileName() + ".lock");
    }

    /** The archive for children run with {@code classPath}, or null if it does not qualify or is turned off. */
    static ChildCds forClassPath(String classPath) {
        return forClassPath(classPath, Path.of(System.getProperty("java.io.tmpdir"), "quiver-cds-" + System.getProperty("user.name")));
    }

    /** As {@link #forClassPath(String)}, with the archives in {@code dir}. */
    static ChildCds forClassPath(String classPath, Path archiveDir) {
        if (!Boolean.parseBoolean(System.getProperty(PROPERTY, "true")) || classPath.isBlank()) {
            return null;
        }
        Hasher h = Hashing.sha256().newHasher()
                .putString(System.getProperty("java.home"), StandardCharsets.UTF_8)
                .putString(System.getProperty("java.vm.version"), StandardCharsets.UTF_8);
        try {
            for (String entry : classPath.split(File.pathSeparator)) {
                Path jar = Path.of(entry);
                if (!entry.endsWith(".jar") || !Files.isRegularFile(jar)) {
                    return null;
                }
                h.putString(jar.toAbsolutePath().toString(), StandardCharsets.UTF_8)
                        .putLong(Files.size(jar)).putLong(Files.getLastModifiedTime(jar).toMillis());
            }
            Path dir = privateDir(archiveDir);
            if (dir == null) {
                return null;
            }
            return new ChildCds(dir.resolve("executor-" + h.hash().toString().substring(0, 24) + ".jsa"));
        } catch (IOException | RuntimeException e) {
            LOG.debug("no class-data-sharing archive for child executors: {}", e.toString());
            return null;
        }
    }

    /**
     * The directory, made readable and writable by this user only, or null if it exists and someone
     * else could write to it: a child maps the archive's classes as they are, so nobody else may be
     * able to put one there.
     */
    private static Path privateDir(Path dir) throws IOException {
        boolean posix = dir.getFileSystem().supportedFileAttributeViews().contains("posix");
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            try {
                if (posix) {
                    Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } else {
                    Files.createDirectory(dir);
                }
            } catch (FileAlreadyExistsException raced) {
                // checked below
            }
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        if (posix) {
            PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            boolean mine = a.owner().getName().equals(System.getProperty("user.name"));
            if (!mine || a.permissions().contains(PosixFilePermission.GROUP_WRITE)
                    || a.permissions().contains(PosixFilePermission.OTHERS_WRITE)) {
                LOG.warn("not using class-data-sharing archives for child executors: {} is not private to user {}",
                        dir, System.getProperty("user.name"));
                return null;
            }
        }
        return dir;
    }

    /** JVM flags for a child about to start: map the archive, write it, or nothing (another child writes it). */
    List<String> flags(String childId) {
        if (Files.isRegularFile(archive)) {
            try {
                Files.setLastModifiedTime(archive, FileTime.from(Instant.now())); // used: kept by prune()
            } catch (IOException e) {
                LOG.debug("cannot mark {} as used: {}", archive, e.toString());
            }
            return List.of("-XX:SharedArchiveFile=" + archive, QUIET);
        }
        if (dumping != null || !takeLock()) {
            return List.of();
        }
        dumping = archive.resolveSibling(archive.getFileName() + "." + ProcessHandle.current().pid() + "-" + childId);
        dumper = childId;
        LOG.debug("child executor {} writes the class-data-sharing archive {} when it exits", childId, archive);
        return List.of("-XX:ArchiveClassesAtExit=" + dumping, QUIET);
    }

    /** A child has exited (cleanly or not): if it was the one writing the archive, put what it wrote in place. */
    void exited(String childId) {
        if (dumping == null || !childId.equals(dumper)) {
            return;
        }
        try {
            if (Files.isRegularFile(dumping) && Files.size(dumping) > 0) {
                Files.move(dumping, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                Files.setLastModifiedTime(archive, FileTime.from(Instant.now()));
                LOG.info("child executors will start from the class-data-sharing archive {}", archive);
                prune();
            }
        } catch (IOException e) {
            LOG.debug("cannot put the class-data-sharing archive {} in place: {}", archive, e.toString());
        } finally {
            try {
                Files.deleteIfExists(dumping); // killed mid-write, or not moved
                Files.deleteIfExists(lock);
            } catch (IOException e) {
                LOG.debug("cannot clean up after the class-data-sharing archive: {}", e.toString());
            }
            dumping = null;
            dumper = null;
        }
    }

    /**
     * Deletes the archives of this directory but the {@value #KEEP} most recently used (written or
     * mapped). A child that maps one being deleted keeps its mapping; one started after that runs
     * without the archive, as the JVM does with an archive that does not match.
     */
    private void prune() {
        try (java.util.stream.Stream<Path> files = Files.list(archive.getParent())) {
            List<Path> archives = files.filter(f -> f.getFileName().toString().matches("executor-[0-9a-f]+\\.jsa"))
                    .sorted(java.util.Comparator.comparing(ChildCds::lastUsed).reversed())
                    .toList();
            for (Path old : archives.subList(Math.min(KEEP, archives.size()), archives.size())) {
                if (!old.equals(archive)) {
                    Files.deleteIfExists(old);
                    LOG.debug("deleted the class-data-sharing archive {}, unused the longest", old);
                }
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            LOG.debug("cannot prune the class-data-sharing archives next to {}: {}", archive, e.toString());
        }
    }

    private static FileTime lastUsed(Path f) {
        try {
            return Files.getLastModifiedTime(f);
        } catch (IOException e) {
            return FileTime.fromMillis(0); // gone already: first to go
        }
    }

    private boolean takeLock() {
        try {
            Files.createFile(lock);
            return true;
        } catch (FileAlreadyExistsException e) {
            try {
                FileTime t = Files.getLastModifiedTime(lock);
                if (t.toInstant().isBefore(Instant.now().minus(STALE_LOCK))) {
                    Files.deleteIfExists(lock);
                    Files.createFile(lock);
                    return true;
                }
            } catch (IOException again) {
                // another cluster took it meanwhile
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }
}
