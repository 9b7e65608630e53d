package io.quiver.core.code;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CodeJarsTest {
    @TempDir
    Path tmp;

    @Test
    void aClassFolderPacksToTheSameShaWhateverItsTimestamps() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("classes"));
        Files.createDirectories(dir.resolve("a/b"));
        Files.write(dir.resolve("a/b/X.class"), new byte[] {1, 2, 3});
        Files.write(dir.resolve("a/Y.class"), new byte[] {4, 5});
        CodeJar first = CodeJars.of(dir);
        assertThat(CodeJar.isSha256(first.sha256())).isTrue();
        assertThat(CodeJars.sha256(first.file())).isEqualTo(first.sha256());

        // Rebuilt with other timestamps (a new cache key, so it packs again): same bytes, same name.
        for (Path f : List.of(dir.resolve("a/b/X.class"), dir.resolve("a/Y.class"))) {
            Files.setLastModifiedTime(f, FileTime.fromMillis(1_000_000_000_000L));
        }
        assertThat(CodeJars.of(dir).sha256()).isEqualTo(first.sha256());

        Files.write(dir.resolve("a/Y.class"), new byte[] {4, 6});
        assertThat(CodeJars.of(dir).sha256()).isNotEqualTo(first.sha256());
    }

    @Test
    void aManifestOnlyJarIsReplacedByWhatItNames() throws Exception {
        Path lib = Files.write(tmp.resolve("lib.jar"), new byte[] {9});
        Path classes = Files.createDirectories(tmp.resolve("app-classes"));
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.CLASS_PATH, "lib.jar app-classes/ missing.jar");
        Path booter = tmp.resolve("booter.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(booter), m)) {
            // manifest only
        }
        Path jdkJar = Path.of(System.getProperty("java.home"), "lib", "jrt-fs.jar");
        assertThat(ClassPath.expand(List.of(booter, lib, jdkJar)))
                .containsExactly(lib.toAbsolutePath(), classes.toAbsolutePath());
    }

    @Test
    void onlyShaNamesAreJarNames() {
        assertThat(CodeJar.isSha256("a".repeat(64))).isTrue();
        assertThat(CodeJar.isSha256("A".repeat(64))).isFalse();
        assertThat(CodeJar.isSha256("../" + "a".repeat(61))).isFalse();
        assertThat(CodeJar.isSha256(null)).isFalse();
    }
}
