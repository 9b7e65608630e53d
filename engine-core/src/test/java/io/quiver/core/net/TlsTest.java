package io.quiver.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.QuiverException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link Tls#fromPem} says about files it cannot use: each error names the option, the file
 * and what to do. A self-signed certificate made with the JDK's keytool stands in for a real one.
 */
class TlsTest {
    @TempDir
    static Path dir;
    static Path cert;

    @BeforeAll
    static void aCertificate() throws Exception {
        Path store = dir.resolve("self.p12");
        keytool("-genkeypair", "-alias", "self", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=self",
                "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", "changeit", "-keypass", "changeit");
        cert = dir.resolve("self.pem");
        keytool("-exportcert", "-rfc", "-alias", "self", "-keystore", store.toString(), "-storepass", "changeit",
                "-file", cert.toString());
    }

    private static void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-J-XX:TieredStopAtLevel=1", "-noprompt"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
    }

    private static Path file(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void noFilesIsPlaintextAndSomeFilesIsAnError() {
        assertThat(Tls.of(null, null, null)).isSameAs(Tls.NONE);
        assertThat(Tls.NONE.isEnabled()).isFalse();
        assertThatThrownBy(() -> Tls.of(cert, null, cert)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("TLS needs all three of --tls-cert, --tls-key and --tls-trust")
                .hasMessageContaining("no key");
    }

    @Test
    void aMissingOrNonPemFileIsNamed() throws Exception {
        Path missing = dir.resolve("missing.pem");
        assertThatThrownBy(() -> Tls.fromPem(missing, missing, missing))
                .hasMessageContaining("--tls-cert " + missing + " cannot be read");
        Path text = file("text.pem", "just some text\n");
        assertThatThrownBy(() -> Tls.fromPem(text, text, text))
                .hasMessageContaining("--tls-cert " + text + " holds no PEM certificate");
        Path binary = Files.write(dir.resolve("der.crt"), new byte[] {0x30, (byte) 0x82, (byte) 0xff, (byte) 0xfe});
        assertThatThrownBy(() -> Tls.fromPem(binary, text, text))
                .hasMessageContaining("--tls-cert " + binary + " is not a PEM file (it is binary");
        Path broken = file("broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        assertThatThrownBy(() -> Tls.fromPem(broken, text, text))
                .hasMessageContaining("--tls-cert " + broken + ": not a valid PEM certificate");
    }

    @Test
    void aKeyThatIsNotUnencryptedPkcs8SaysHowToConvertIt() throws Exception {
        Path rsa = file("rsa.pem", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
        assertThatThrownBy(() -> Tls.fromPem(cert, rsa, cert))
                .hasMessageContaining("--tls-key " + rsa + " holds a 'RSA PRIVATE KEY', not an unencrypted PKCS#8 key")
                .hasMessageContaining("convert it: openssl pkcs8 -topk8 -nocrypt -in " + rsa);
        Path encrypted = file("enc.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
        assertThatThrownBy(() -> Tls.fromPem(cert, encrypted, cert))
                .hasMessageContaining("decrypt it: openssl pkcs8");
        Path junk = file("junk-key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        assertThatThrownBy(() -> Tls.fromPem(cert, junk, cert))
                .hasMessageContaining("--tls-key " + junk + ": not an EC, RSA or EdDSA PKCS#8 private key");
    }
}
