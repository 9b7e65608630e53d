package io.quiver.core.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One copy of a block per host, in shared memory (Ray's object store shares a node's copy the same
 * way). A writer on the host writes the block once into a file of the host's tmpfs; every executor
 * on the same host maps that file copy-on-write instead of receiving the bytes over a loopback
 * socket.
 *
 * <p>The files live in {@code <dir>/quiver-<user>}, a directory only this user may enter, where
 * {@code <dir>} is {@code -Dquiver.shm.dir} (default {@code /dev/shm}; {@code none} turns shared
 * copies off). A path a peer names is used only if it is a regular file directly in that directory
 * with a name this class gives, so a peer cannot make an executor map any other file. A file is
 * named after the writer's pid; files of writers that are gone and older than {@link #STALE} are
 * deleted by {@link #sweep} (a client killed while it wrote, an executor killed while it mapped one).
 *
 * <p>Stateless and thread-safe.
 */
public final class HostShare {
    private static final Logger log = LoggerFactory.getLogger(HostShare.class);

    /** Blocks smaller than this travel as chunks: a file costs more than it saves. */
    public static final long MIN_BYTES = Long.getLong("quiver.shm.minBytes", 1 << 20);

    /** How old the file of a writer that is gone must be before {@link #sweep} deletes it. */
    static final Duration STALE = Duration.ofMinutes(10);

    private static final Pattern NAME = Pattern.compile("([0-9]{1,10})-[0-9a-f]{32}\\.(blk|probe)");
    private static final SecureRandom RANDOM = new SecureRandom();

    private HostShare() {}

    /** The directory of this user's shared copies, or null when they are off or the host has no such directory. */
    public static Path dir() {
        String base = System.getProperty("quiver.shm.dir", "/dev/shm");
        if (base.isEmpty() || base.equals("none")) {
            return null;
        }
        Path root = Path.of(base);
        if (!Files.isDirectory(root)) {
            return null;
        }
        return root.resolve("quiver-" + System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9_.-]", "_"));
    }

    /**
     * A new, empty file for a writer (the {@code kind} is {@code blk} or {@code probe}), readable and
     * writable by this user only, in {@link #dir()} (created if missing); null when shared copies are off.
     */
    public static Path newFile(String kind) throws IOException {
        Path dir = dir();
        if (dir == null) {
            return null;
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // another process of this user made it meanwhile
            }
        }
        return Files.createFile(fresh(dir, kind), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    }

    /**
     * The file a peer names, if it may be used: a regular file (not a link) directly in this
     * process's {@link #dir()}, named as {@link #newFile} names files.
     *
     * @throws IllegalArgumentException naming what is wrong with the path
     */
    public static Path checked(String path) {
        Path dir = dir();
        if (dir == null) {
            throw new IllegalArgumentException("shared copies are off on this executor (no /dev/shm, or -Dquiver.shm.dir=none)");
        }
        if (path == null || path.isEmpty()) {
            throw new IllegalArgumentException("no path given");
        }
        Path p = Path.of(path);
        if (!dir.equals(p.getParent()) || !NAME.matcher(p.getFileName().toString()).matches()) {
            throw new IllegalArgumentException("path " + path + " is not a shared copy in " + dir);
        }
        if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("no shared copy at " + path + " (not on this host, or already deleted)");
        }
        return p;
    }

    /**
     * Maps the first {@code size} bytes of {@code file} copy-on-write: the pages are the host's one
     * copy until something writes to them. While mapped, the file has one more link (a name of this
     * process's), which tells its writer that it is in use ({@link #inUse}); releasing the buffer
     * unmaps it and removes that link. The mapping outlives the deletion of the file's other names.
     *
     * @throws IOException if the file cannot be opened or linked, or is shorter than {@code size}
     */
    public static ByteBuf map(Path file, long size) throws IOException {
        if (size > Integer.MAX_VALUE) {
            throw new IOException("shared copy " + file + " of " + size + " bytes is too large to map (over 2 GiB)");
        }
        Path link = Files.createLink(fresh(file.getParent(), "blk"), file);
        try (FileChannel ch = FileChannel.open(link, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long length = ch.size();
            if (length < size) {
                throw new IOException("shared copy " + file + " holds " + length + " bytes, not the " + size + " announced");
            }
            return new Mapped(ch.map(FileChannel.MapMode.PRIVATE, 0, size), link);
        } catch (IOException | RuntimeException e) {
            delete(link);
            throw e;
        }
    }

    /** Whether some process maps {@code file} ({@link #map}); true too when that cannot be told. */
    public static boolean inUse(Path file) {
        try {
            return ((Number) Files.getAttribute(file, "unix:nlink", LinkOption.NOFOLLOW_LINKS)).intValue() != 1;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return true;
        }
    }

    /**
     * Gives a writer's file that no one maps a new name, to be written again: a late request for its
     * old contents finds nothing under the old name (and a late mapping fails its checksum).
     */
    public static Path rename(Path file) throws IOException {
        return Files.move(file, fresh(file.getParent(), "blk"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static Path fresh(Path dir, String kind) {
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        return dir.resolve(ProcessHandle.current().pid() + "-" + HexFormat.of().formatHex(id) + "." + kind);
    }

    /** Deletes {@code file} if it exists; logs a failure and goes on. */
    public static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            log.warn("could not delete shared copy {}: {}", file, e.toString());
        }
    }

    /** Deletes the files of writers that are gone (older than {@link #STALE}); returns how many. */
    public static int sweep() {
        Path dir = dir();
        if (dir == null || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        FileTime cutoff = FileTime.from(Instant.now().minus(STALE));
        int deleted = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                var m = NAME.matcher(f.getFileName().toString());
                if (!m.matches() || ProcessHandle.of(Long.parseLong(m.group(1))).isPresent()) {
                    continue;
                }
                try {
                    if (Files.getLastModifiedTime(f, LinkOption.NOFOLLOW_LINKS).compareTo(cutoff) < 0
                            && Files.deleteIfExists(f)) {
                        deleted++;
                    }
                } catch (IOException e) {
                    log.debug("could not sweep {}: {}", f, e.toString());
                }
            }
        } catch (IOException e) {
            log.warn("could not sweep shared copies in {}: {}", dir, e.toString());
        }
        return deleted;
    }

    /** A mapped file as a buffer whose last release unmaps it and removes the link it was mapped through. */
    private static final class Mapped extends UnpooledDirectByteBuf {
        private final MappedByteBuffer mapping;
        private final Path link;

        Mapped(MappedByteBuffer mapping, Path link) {
            super(UnpooledByteBufAllocator.DEFAULT, mapping, mapping.capacity());
            this.mapping = mapping;
            this.link = link;
            writerIndex(mapping.capacity());
        }

        @Override
        protected void deallocate() {
            super.deallocate();
            // Nothing reads the mapping any more: the writer may reuse the file while it is unmapped
            // (unmapping 256 MiB takes this machine about 10 ms).
            delete(link);
            PlatformDependent.freeDirectBuffer(mapping);
        }
    }
}
