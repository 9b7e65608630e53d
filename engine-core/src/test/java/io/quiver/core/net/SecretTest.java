package io.quiver.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.QuiverException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where every process finds its secret: --secret-file, else QUIVER_SECRET_FILE, else QUIVER_SECRET. */
class SecretTest {
    @TempDir
    Path dir;

    private static byte[] mac(Secret s) {
        return s.helloMac(new byte[32], new byte[32], "server", "EXECUTOR", "e", 0);
    }

    @Test
    void theCommandLineFileWinsThenTheFileVariableThenTheContentsVariable() throws IOException {
        Path flag = Files.writeString(dir.resolve("flag"), "from-flag\n");
        Path named = Files.writeString(dir.resolve("named"), "  from-file-variable \n");
        Map<String, String> env = Map.of(Secret.FILE_ENV, named.toString(), Secret.CONTENTS_ENV, "from-contents");

        Secret.Found byFlag = Secret.lookup(flag, env::get);
        assertThat(byFlag.source()).isEqualTo("--secret-file " + flag);
        assertThat(mac(byFlag.secret())).isEqualTo(mac(Secret.of("from-flag")));

        Secret.Found byFileVariable = Secret.lookup(null, env::get);
        assertThat(byFileVariable.source()).isEqualTo("QUIVER_SECRET_FILE=" + named);
        assertThat(mac(byFileVariable.secret())).isEqualTo(mac(Secret.of("from-file-variable")));

        Secret.Found byContents = Secret.lookup(null, Map.of(Secret.CONTENTS_ENV, "from-contents")::get);
        assertThat(byContents.source()).isEqualTo("QUIVER_SECRET (contents redacted)").doesNotContain("from-contents");
        assertThat(mac(byContents.secret())).isEqualTo(mac(Secret.of("from-contents")));

        assertThat(Secret.source(dir.resolve("not-read"), env::get)).isEqualTo("--secret-file " + dir.resolve("not-read"));
        assertThat(Secret.source(null, env::get)).isEqualTo(byFileVariable.source());
        assertThat(Secret.source(null, Map.of(Secret.CONTENTS_ENV, "x")::get)).isEqualTo(byContents.source());

        Secret.Found none = Secret.lookup(null, Map.<String, String>of()::get);
        assertThat(none.secret().isSet()).isFalse();
        assertThat(none.source()).isEqualTo("none");
    }

    @Test
    void anUnreadableOrEmptyFileNamesItselfAndWhereItWasNamed() throws IOException {
        Path missing = dir.resolve("missing");
        assertThatThrownBy(() -> Secret.lookup(null, Map.of(Secret.FILE_ENV, missing.toString())::get))
                .isInstanceOf(QuiverException.class)
                .hasMessageContaining("cannot read the secret file " + missing + " named by QUIVER_SECRET_FILE");
        Path empty = Files.writeString(dir.resolve("empty"), " \n");
        assertThatThrownBy(() -> Secret.lookup(empty, Map.<String, String>of()::get))
                .isInstanceOf(QuiverException.class)
                .hasMessageContaining("the secret file " + empty + " named by --secret-file is empty");
    }
}
