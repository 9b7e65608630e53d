package io.quiver.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which child JVMs write, map or skip the class-data-sharing archive, on a real file system. */
class ChildCdsTest {
    @TempDir
    Path tmp;

    private String jars(String... names) throws IOException {
        StringBuilder cp = new StringBuilder();
        for (String n : names) {
            Path jar = Files.writeString(tmp.resolve(n), "not really a jar, but a file of that name: " + n);
            cp.append(cp.length() == 0 ? "" : File.pathSeparator).append(jar);
        }
        return cp.toString();
    }

    @Test
    void theFirstChildWritesTheArchiveAndLaterOnesMapIt() throws IOException {
        String cp = jars("a.jar", "b.jar");
        Path dir = tmp.resolve("cds");
        ChildCds cds = ChildCds.forClassPath(cp, dir);
        assertThat(cds).isNotNull();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");

        List<String> first = cds.flags("exec-1");
        assertThat(first).anyMatch(f -> f.startsWith("-XX:ArchiveClassesAtExit="));
        assertThat(cds.flags("exec-2")).as("only one child writes it").isEmpty();
        // Another cluster on the same class path meanwhile: the lock says someone writes it already.
        assertThat(ChildCds.forClassPath(cp, dir).flags("exec-1")).isEmpty();

        // The writing child exits having dumped its archive: it is moved into place.
        Path dumped = Path.of(first.get(0).substring("-XX:ArchiveClassesAtExit=".length()));
        Files.write(dumped, new byte[] {1, 2, 3});
        cds.exited("exec-2"); // not the writer: nothing happens
        assertThat(cds.archive()).doesNotExist();
        cds.exited("exec-1");
        assertThat(cds.archive()).exists();
        assertThat(dumped).doesNotExist();
        assertThat(cds.flags("exec-3")).containsExactly("-XX:SharedArchiveFile=" + cds.archive(),
                "-Xlog:cds=off,cds+dynamic=off");
        assertThat(ChildCds.forClassPath(cp, dir).archive()).isEqualTo(cds.archive());
    }

    @Test
    void writingAnArchiveKeepsOnlyTheMostRecentlyUsedOnes() throws IOException {
        Path dir = tmp.resolve("cds");
        // Archives of earlier builds, the oldest first; the second oldest was mapped a moment ago.
        List<ChildCds> earlier = new java.util.ArrayList<>();
        for (int i = 0; i < ChildCds.KEEP + 2; i++) {
            ChildCds old = ChildCds.forClassPath(jars("build-" + i + ".jar"), dir);
            Files.write(old.archive(), new byte[] {(byte) i});
            Files.setLastModifiedTime(old.archive(),
                    java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(3600 - i)));
            earlier.add(old);
        }
        assertThat(earlier.get(1).flags("exec-1")).anyMatch(f -> f.startsWith("-XX:SharedArchiveFile="));
        Path unrelated = Files.writeString(dir.resolve("notes.txt"), "not an archive");

        ChildCds fresh = ChildCds.forClassPath(jars("build-new.jar"), dir);
        Path dumped = Path.of(fresh.flags("exec-1").get(0).substring("-XX:ArchiveClassesAtExit=".length()));
        Files.write(dumped, new byte[] {9});
        fresh.exited("exec-1");

        assertThat(fresh.archive()).exists();
        assertThat(earlier.get(1).archive()).as("mapped recently").exists();
        // KEEP in all: the new one, the one just mapped, and the newest of the others.
        for (int i = ChildCds.KEEP; i < ChildCds.KEEP + 2; i++) {
            assertThat(earlier.get(i).archive()).exists();
        }
        assertThat(earlier.get(0).archive()).doesNotExist();
        for (int i = 2; i < ChildCds.KEEP; i++) {
            assertThat(earlier.get(i).archive()).doesNotExist();
        }
        assertThat(unrelated).as("only archives are pruned").exists();
        try (java.util.stream.Stream<Path> left = Files.list(dir)) {
            assertThat(left.filter(f -> f.toString().endsWith(".jsa")).count()).isEqualTo(ChildCds.KEEP);
        }
    }

    @Test
    void aWriterKilledBeforeItDumpedLeavesNoArchiveAndFreesTheLock() throws IOException {
        String cp = jars("a.jar");
        Path dir = tmp.resolve("cds");
        ChildCds cds = ChildCds.forClassPath(cp, dir);
        assertThat(cds.flags("exec-1")).isNotEmpty();
        cds.exited("exec-1"); // killed: nothing was written
        assertThat(cds.archive()).doesNotExist();
        assertThat(cds.flags("exec-2")).as("the next child tries again").anyMatch(f -> f.startsWith("-XX:ArchiveClassesAtExit="));
    }

    @Test
    void aChangedJarOrAClassDirectoryGetsNoSharedArchive() throws IOException {
        String cp = jars("a.jar");
        Path dir = tmp.resolve("cds");
        Path before = ChildCds.forClassPath(cp, dir).archive();
        Files.writeString(tmp.resolve("a.jar"), "rebuilt, and longer than it was before");
        assertThat(ChildCds.forClassPath(cp, dir).archive()).isNotEqualTo(before);

        Path classes = Files.createDirectories(tmp.resolve("classes"));
        assertThat(ChildCds.forClassPath(cp + File.pathSeparator + classes, dir)).as("CDS refuses directories").isNull();
        assertThat(ChildCds.forClassPath(cp + File.pathSeparator + tmp.resolve("missing.jar"), dir)).isNull();
    }

    @Test
    void aDirectoryOthersCanWriteToIsNotUsed() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("shared"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThat(ChildCds.forClassPath(jars("a.jar"), dir)).isNull();
    }

    @Test
    void turnedOffByTheProperty() throws IOException {
        String cp = jars("a.jar");
        System.setProperty(ChildCds.PROPERTY, "false");
        try {
            assertThat(ChildCds.forClassPath(cp, tmp.resolve("cds"))).isNull();
        } finally {
            System.clearProperty(ChildCds.PROPERTY);
        }
    }
}
