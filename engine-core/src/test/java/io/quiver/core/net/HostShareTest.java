package io.quiver.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host's shared copies, on a real tmpfs-like directory: what a peer may name, mapping, sweeping. */
class HostShareTest {
    @TempDir
    Path base;
    String before;

    @BeforeEach
    void useTempDir() {
        before = System.getProperty("quiver.shm.dir");
        System.setProperty("quiver.shm.dir", base.toString());
    }

    @AfterEach
    void restore() {
        if (before == null) {
            System.clearProperty("quiver.shm.dir");
        } else {
            System.setProperty("quiver.shm.dir", before);
        }
    }

    @Test
    void aNewFileIsOnlyThisUsersInADirectoryOnlyThisUserMayEnter() throws IOException {
        Path f = HostShare.newFile("blk");
        assertThat(f.getParent()).isEqualTo(HostShare.dir());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f.getParent()))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");
        assertThat(HostShare.checked(f.toString())).isEqualTo(f);
    }

    @Test
    void aPeerCanNameOnlyASharedCopyOfThisDirectory() throws IOException {
        Path real = HostShare.newFile("blk");
        Path outside = Files.writeString(base.resolve("secret.txt"), "not for peers");
        Path badName = Files.writeString(HostShare.dir().resolve("notes.blk"), "x");
        Path link = HostShare.dir().resolve(ProcessHandle.current().pid() + "-" + "0".repeat(32) + ".blk");
        Files.createSymbolicLink(link, outside);

        assertThatThrownBy(() -> HostShare.checked(outside.toString()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not a shared copy in");
        assertThatThrownBy(() -> HostShare.checked(HostShare.dir() + "/../secret.txt"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not a shared copy in");
        assertThatThrownBy(() -> HostShare.checked(badName.toString()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not a shared copy in");
        assertThatThrownBy(() -> HostShare.checked(link.toString()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no shared copy at");
        assertThatThrownBy(() -> HostShare.checked(real.toString().replace(".blk", ".probe")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no shared copy at");
        assertThatThrownBy(() -> HostShare.checked(""))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no path given");
    }

    @Test
    void offMeansNoDirectoryAndPeersAreToldSo() {
        System.setProperty("quiver.shm.dir", "none");
        assertThat(HostShare.dir()).isNull();
        assertThatThrownBy(() -> HostShare.checked("/dev/shm/x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("shared copies are off");
        System.setProperty("quiver.shm.dir", base.resolve("missing").toString());
        assertThat(HostShare.dir()).as("a base directory that does not exist turns them off").isNull();
    }

    @Test
    void aMappedCopyReadsTheFileOutlivesItsDeletionAndIsUnmappedOnRelease() throws IOException {
        Path f = HostShare.newFile("blk");
        byte[] bytes = new byte[(3 << 20) + 5];
        new java.util.Random(7).nextBytes(bytes);
        Files.write(f, bytes);

        assertThat(HostShare.inUse(f)).isFalse();
        ByteBuf mapped = HostShare.map(f, bytes.length - 5);
        assertThat(HostShare.inUse(f)).as("a mapped copy holds a link of its own").isTrue();
        assertThat(linksIn(f.getParent())).isEqualTo(2);
        HostShare.delete(f);
        byte[] back = new byte[bytes.length - 5];
        mapped.getBytes(0, back);
        assertThat(back).isEqualTo(java.util.Arrays.copyOf(bytes, bytes.length - 5));
        assertThat(mapped.readableBytes()).isEqualTo(bytes.length - 5);

        mapped.setByte(0, bytes[0] + 1); // copy-on-write: this process's page only
        assertThat(mapped.release()).isTrue();
        assertThat(mappings(f)).as("unmapped when released").isZero();
        assertThat(linksIn(f.getParent())).as("and its link is gone").isZero();
    }

    @Test
    void aWriterRewritesAFileOnlyOnceNoOneMapsItAndUnderANewName() throws IOException {
        Path f = HostShare.newFile("blk");
        Files.write(f, new byte[1 << 20]);
        ByteBuf mapped = HostShare.map(f, 1 << 20);
        assertThat(HostShare.inUse(f)).isTrue();
        mapped.release();
        assertThat(HostShare.inUse(f)).isFalse();

        Path again = HostShare.rename(f);
        assertThat(again).isNotEqualTo(f).hasParent(f.getParent());
        assertThat(f).doesNotExist();
        assertThatThrownBy(() -> HostShare.checked(f.toString()))
                .as("a late request for the old contents finds nothing").hasMessageContaining("no shared copy at");
        assertThat(HostShare.checked(again.toString())).isEqualTo(again);
        assertThat(HostShare.inUse(base.resolve("missing.blk"))).as("what cannot be told counts as in use").isTrue();
    }

    private static long linksIn(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.count();
        }
    }

    @Test
    void aFileShorterThanAnnouncedIsRefused() throws IOException {
        Path f = HostShare.newFile("blk");
        Files.write(f, new byte[100]);
        assertThatThrownBy(() -> HostShare.map(f, 101))
                .isInstanceOf(IOException.class).hasMessageContaining("holds 100 bytes, not the 101 announced");
    }

    @Test
    void theSweepDeletesOnlyOldFilesOfWritersThatAreGone() throws IOException {
        Files.createDirectories(HostShare.dir());
        long gone = deadPid();
        Path old = Files.write(HostShare.dir().resolve(gone + "-" + "a".repeat(32) + ".blk"), new byte[8]);
        Path recent = Files.write(HostShare.dir().resolve(gone + "-" + "b".repeat(32) + ".blk"), new byte[8]);
        Path mine = HostShare.newFile("blk");
        FileTime longAgo = FileTime.from(Instant.now().minus(HostShare.STALE).minusSeconds(60));
        Files.setLastModifiedTime(old, longAgo);
        Files.setLastModifiedTime(mine, longAgo);

        assertThat(HostShare.sweep()).isEqualTo(1);
        assertThat(old).doesNotExist();
        assertThat(recent).as("a writer may be gone only for a moment's scatter").exists();
        assertThat(mine).as("this process is alive").exists();
    }

    /** How many of this process's mappings are of {@code file} (Linux's /proc/self/maps). */
    private static long mappings(Path file) throws IOException {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.contains(file.getFileName().toString())).count();
        }
    }

    private static long deadPid() {
        for (long pid = 4_000_000; ; pid--) {
            if (ProcessHandle.of(pid).isEmpty()) {
                return pid;
            }
        }
    }
}
