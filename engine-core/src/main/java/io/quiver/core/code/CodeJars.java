package io.quiver.core.code;

import io.quiver.QuiverException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Class path entries as {@link CodeJar}s. A jar is named by the SHA-256 of its bytes; a class folder
 * is packed into a jar first, deterministically (entries in path order, stored, one fixed
 * timestamp), so that the same classes give the same name in every run and on every machine.
 * Thread-safe; results are cached per JVM by path, size and modification times, so a client that
 * connects again, or an executor in the same JVM, hashes nothing twice.
 */
public final class CodeJars {
    private static final LocalDateTime FIXED_TIME = LocalDateTime.of(2000, 1, 1, 0, 0);
    private static final Map<String, CodeJar> CACHE = new ConcurrentHashMap<>();

    private CodeJars() {}

    /**
     * The entry as a jar: itself if it is a file, else its classes packed into a temp file.
     *
     * @throws QuiverException naming the entry if it cannot be read
     */
    public static CodeJar of(Path entry) {
        Path p = entry.toAbsolutePath().normalize();
        try {
            if (Files.isDirectory(p)) {
                List<Path> files = filesIn(p);
                String key = "dir:" + p + ":" + fingerprint(p, files);
                CodeJar cached = CACHE.get(key);
                if (cached != null && Files.isRegularFile(cached.file())) {
                    return cached;
                }
                CodeJar packed = pack(p, files);
                CACHE.put(key, packed);
                return packed;
            }
            if (!Files.isRegularFile(p)) {
                throw new QuiverException("cannot ship " + p + ": it is neither a jar nor a class folder; build it or"
                        + " remove it from ConnectOptions.jars / the class path");
            }
            String key = "jar:" + p + ":" + Files.size(p) + ":" + Files.getLastModifiedTime(p).toMillis();
            return CACHE.computeIfAbsent(key, k -> new CodeJar(sha256(p), size(p), p.getFileName().toString(), p));
        } catch (IOException e) {
            throw new QuiverException("cannot read class path entry " + p + " to ship it: " + e
                    + "; make it readable or leave it out", e);
        }
    }

    /** Every entry as a jar, in order; an entry whose bytes another already has is left out. */
    public static List<CodeJar> of(List<Path> entries) {
        List<CodeJar> out = new ArrayList<>(entries.size());
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Path e : entries) {
            CodeJar j = of(e);
            if (seen.add(j.sha256())) {
                out.add(j);
            }
        }
        return List.copyOf(out);
    }

    /** The SHA-256 of a file's bytes, lower-case hex. */
    public static String sha256(Path file) {
        MessageDigest md = newDigest();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        } catch (IOException e) {
            throw new QuiverException("cannot read " + file + " to hash it: " + e, e);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    public static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new QuiverException("cannot read the size of " + p + ": " + e, e);
        }
    }

    private static List<Path> filesIn(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted((a, b) -> entryName(dir, a).compareTo(entryName(dir, b)))
                    .toList();
        }
    }

    private static String entryName(Path dir, Path file) {
        return dir.relativize(file).toString().replace(java.io.File.separatorChar, '/');
    }

    /** Cheap: names, sizes and times, not contents. */
    private static String fingerprint(Path dir, List<Path> files) throws IOException {
        MessageDigest md = newDigest();
        for (Path f : files) {
            md.update(entryName(dir, f).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            md.update(Long.toString(Files.size(f)).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            md.update(Long.toString(Files.getLastModifiedTime(f).toMillis())
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static Path packDir;

    /** This JVM's own folder for packed class folders, deleted at exit. */
    private static synchronized Path packDir() throws IOException {
        if (packDir == null || !Files.isDirectory(packDir)) {
            packDir = Files.createTempDirectory("quiver-code-");
            packDir.toFile().deleteOnExit();
        }
        return packDir;
    }

    /** Packs a class folder into {@code <tmp>/quiver-code-*&#47;<sha>.jar}, written atomically. */
    private static CodeJar pack(Path dir, List<Path> files) throws IOException {
        Path tmpRoot = packDir();
        Path part = Files.createTempFile(tmpRoot, "packing-", ".part");
        try {
            MessageDigest md = newDigest();
            try (OutputStream file = Files.newOutputStream(part);
                 DigestOutputStream digest = new DigestOutputStream(new java.io.BufferedOutputStream(file, 1 << 16), md);
                 ZipOutputStream zip = new ZipOutputStream(digest)) {
                for (Path f : files) {
                    byte[] bytes = Files.readAllBytes(f);
                    CRC32 crc = new CRC32();
                    crc.update(bytes);
                    ZipEntry e = new ZipEntry(entryName(dir, f));
                    e.setMethod(ZipEntry.STORED);
                    e.setSize(bytes.length);
                    e.setCompressedSize(bytes.length);
                    e.setCrc(crc.getValue());
                    e.setTimeLocal(FIXED_TIME);
                    zip.putNextEntry(e);
                    zip.write(bytes);
                    zip.closeEntry();
                }
            }
            String sha = HexFormat.of().formatHex(md.digest());
            Path target = tmpRoot.resolve(sha + ".jar");
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            target.toFile().deleteOnExit();
            String name = dir.getFileName() == null ? dir.toString() : dir.getParent() == null
                    ? dir.getFileName().toString() : dir.getParent().getFileName() + "/" + dir.getFileName();
            return new CodeJar(sha, Files.size(target), name + " (class folder)", target);
        } finally {
            Files.deleteIfExists(part);
        }
    }
}
