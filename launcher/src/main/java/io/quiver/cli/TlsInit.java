package io.quiver.cli;

import static com.google.common.base.Preconditions.checkArgument;

import io.quiver.QuiverException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * What {@code quiver tls-init DIR} does: makes a cluster CA and one node certificate it signed, as
 * the PEM files that {@code --tls-cert}, {@code --tls-key} and {@code --tls-trust} read.
 *
 * <pre>
 *  DIR/ca.pem        the CA's certificate        --tls-trust on every process and client
 *  DIR/ca-key.pem    the CA's key (0600)         keep it off the cluster; it signs new certificates
 *  DIR/node.pem      node certificate + CA       --tls-cert
 *  DIR/node-key.pem  the node's key (0600)       --tls-key
 * </pre>
 *
 * It drives the JDK's own {@code keytool} (from {@code java.home}) rather than a crypto library:
 * the JDK already makes EC keys, requests and CA-signed certificates with extensions, so Quiver needs
 * no extra dependency for it. keytool works on PKCS#12 stores, which this class reads with
 * {@link KeyStore} to write the PKCS#8 PEM keys; the stores live in a private temp directory,
 * under a random password passed through the environment (never on a command line), and are
 * deleted. Keys are EC P-256; the node certificate has SANs for the given hosts plus localhost
 * and 127.0.0.1, and is valid for both TLS server and client authentication.
 */
public final class TlsInit {
    /** The files it writes, in the order it writes them. */
    public static final List<String> FILES = List.of("ca.pem", "ca-key.pem", "node.pem", "node-key.pem");
    private static final String PASSWORD_ENV = "QUIVER_TLS_INIT_STOREPASS";
    private static final long KEYTOOL_TIMEOUT_SECONDS = 120;
    private static final int CA_DAYS = 3650;

    private TlsInit() {}

    /**
     * What was made.
     *
     * @param dir where the files are
     * @param names the host names and addresses the node certificate is valid for (its SANs)
     */
    public record Result(Path dir, List<String> names) {
        public Result {
            names = List.copyOf(names);
        }

        /** The CA certificate, for {@code --tls-trust}. */
        public Path trust() {
            return dir.resolve("ca.pem");
        }

        /** The node certificate chain, for {@code --tls-cert}. */
        public Path cert() {
            return dir.resolve("node.pem");
        }

        /** The node key, for {@code --tls-key}. */
        public Path key() {
            return dir.resolve("node-key.pem");
        }
    }

    /**
     * Makes the CA and the node certificate in {@code dir} (created if absent).
     *
     * @param dir where to write {@link #FILES}
     * @param hosts host names or IP addresses the nodes are reached at, besides localhost and 127.0.0.1
     * @param days how long the node certificate is valid
     * @param force whether to replace files that exist
     * @return what was made
     * @throws IllegalArgumentException for a host that is neither a host name nor an IP address
     * @throws QuiverException if a file exists and {@code force} is false, naming it, or if keytool
     *     fails, with its output
     */
    public static Result run(Path dir, List<String> hosts, int days, boolean force) {
        checkArgument(days >= 1 && days <= 36_500, "--days must be in [1, 36500], got %s", days);
        Set<String> dns = new LinkedHashSet<>(List.of("localhost"));
        Set<String> ips = new LinkedHashSet<>(List.of("127.0.0.1"));
        for (String h : hosts) {
            String host = h.trim();
            if (host.isEmpty()) {
                continue;
            }
            if (isIpLiteral(host)) {
                ips.add(host);
            } else {
                checkArgument(host.matches("(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*"
                        + "[A-Za-z0-9])?)*"), "--hosts: '%s' is neither a host name nor an IP address; give e.g."
                        + " --hosts node1.example.com,10.0.0.3", host);
                dns.add(host.toLowerCase(Locale.ROOT));
            }
        }
        List<Path> existing = new ArrayList<>();
        for (String f : FILES) {
            if (Files.exists(dir.resolve(f))) {
                existing.add(dir.resolve(f));
            }
        }
        if (!existing.isEmpty() && !force) {
            throw new QuiverException("refusing to overwrite " + existing + ": they may be the certificates of a running"
                    + " cluster; choose another directory, or pass --force to replace them");
        }
        Path keytool = keytool();
        String password = password();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempDirectory("quiver-tls-init-"); // rwx------ on POSIX
            Path caStore = tmp.resolve("ca.p12");
            Path nodeStore = tmp.resolve("node.p12");
            Path csr = tmp.resolve("node.csr");
            Path nodeCrt = tmp.resolve("node.crt");
            keytool(keytool, password, "-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1",
                    "-sigalg", "SHA256withECDSA", "-dname", "CN=Quiver cluster CA", "-validity", String.valueOf(CA_DAYS),
                    "-ext", "bc:c=ca:true,pathlen:0", "-ext", "ku:c=keyCertSign,cRLSign",
                    "-keystore", caStore.toString(), "-storetype", "PKCS12");
            keytool(keytool, password, "-genkeypair", "-alias", "node", "-keyalg", "EC", "-groupname", "secp256r1",
                    "-sigalg", "SHA256withECDSA", "-dname", "CN=quiver-node", "-validity", String.valueOf(days),
                    "-keystore", nodeStore.toString(), "-storetype", "PKCS12");
            keytool(keytool, password, "-certreq", "-alias", "node", "-keystore", nodeStore.toString(),
                    "-file", csr.toString());
            List<String> san = new ArrayList<>();
            dns.forEach(d -> san.add("dns:" + d));
            ips.forEach(i -> san.add("ip:" + i));
            keytool(keytool, password, "-gencert", "-alias", "ca", "-keystore", caStore.toString(), "-infile",
                    csr.toString(), "-outfile", nodeCrt.toString(), "-rfc", "-validity", String.valueOf(days),
                    "-sigalg", "SHA256withECDSA", "-ext", "SAN=" + String.join(",", san),
                    "-ext", "ku:c=digitalSignature", "-ext", "eku=serverAuth,clientAuth");

            KeyStore ca = load(caStore, password);
            KeyStore node = load(nodeStore, password);
            X509Certificate caCert = (X509Certificate) ca.getCertificate("ca");
            X509Certificate nodeCert;
            try (InputStream in = Files.newInputStream(nodeCrt)) {
                nodeCert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            }
            nodeCert.verify(caCert.getPublicKey()); // what every peer will check
            write(dir.resolve("ca.pem"), pem("CERTIFICATE", caCert.getEncoded()), false);
            write(dir.resolve("ca-key.pem"), pem("PRIVATE KEY", key(ca, "ca", password).getEncoded()), true);
            write(dir.resolve("node.pem"), pem("CERTIFICATE", nodeCert.getEncoded())
                    + pem("CERTIFICATE", caCert.getEncoded()), false);
            write(dir.resolve("node-key.pem"), pem("PRIVATE KEY", key(node, "node", password).getEncoded()), true);
            List<String> names = new ArrayList<>(dns);
            names.addAll(ips);
            return new Result(dir, names);
        } catch (IOException e) {
            throw new QuiverException("tls-init: cannot write in " + dir + ": " + e, e);
        } catch (GeneralSecurityException e) {
            throw new QuiverException("tls-init: keytool made something unreadable: " + e, e);
        } finally {
            if (tmp != null) {
                try {
                    com.google.common.io.MoreFiles.deleteRecursively(tmp,
                            com.google.common.io.RecursiveDeleteOption.ALLOW_INSECURE);
                } catch (IOException e) {
                    // a temp directory only the owner can read; the OS cleans it eventually
                }
            }
        }
    }

    private static boolean isIpLiteral(String host) {
        if (!host.matches("[0-9.]+") && !host.contains(":")) {
            return false;
        }
        try {
            InetAddress.getByName(host); // a literal: no lookup
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static Path keytool() {
        boolean windows = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", windows ? "keytool.exe" : "keytool");
        if (!Files.isExecutable(keytool)) {
            throw new QuiverException("tls-init needs the JDK's keytool, but " + keytool + " is missing; run Quiver on"
                    + " a full JDK or JRE (java.home " + System.getProperty("java.home") + ")");
        }
        return keytool;
    }

    private static String password() {
        byte[] bytes = new byte[24];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** Runs keytool with the store password in its environment; fails with its output. */
    private static void keytool(Path keytool, String password, String... args) throws IOException {
        // A short-lived JVM: C1 only and the serial GC halve its start-up.
        List<String> cmd = new ArrayList<>(List.of(keytool.toString(), "-J-XX:TieredStopAtLevel=1",
                "-J-XX:+UseSerialGC", "-noprompt"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-storepass:env", PASSWORD_ENV));
        if (args[0].equals("-genkeypair")) {
            cmd.addAll(List.of("-keypass:env", PASSWORD_ENV));
        }
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true);
        builder.environment().put(PASSWORD_ENV, password);
        Process p = builder.start();
        p.getOutputStream().close(); // keytool must never wait for an answer on stdin
        byte[] output;
        try (InputStream in = p.getInputStream()) {
            output = in.readAllBytes(); // ends when keytool exits
        }
        try {
            if (!p.waitFor(KEYTOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new QuiverException("tls-init: keytool " + args[0] + " did not finish within "
                        + KEYTOOL_TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new QuiverException("tls-init: interrupted while keytool " + args[0] + " ran");
        }
        if (p.exitValue() != 0) {
            throw new QuiverException("tls-init: keytool " + args[0] + " failed (exit " + p.exitValue() + "): "
                    + new String(output, StandardCharsets.UTF_8).strip());
        }
    }

    private static KeyStore load(Path store, String password) throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, password.toCharArray());
        }
        return ks;
    }

    private static Key key(KeyStore store, String alias, String password) throws GeneralSecurityException {
        Key key = store.getKey(alias, password.toCharArray());
        if (key == null || !"PKCS#8".equals(key.getFormat())) {
            throw new GeneralSecurityException("no PKCS#8 key '" + alias + "' in keytool's store");
        }
        return key;
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** Writes a new file; a key is created readable by its owner only, before any byte is in it. */
    private static void write(Path file, String text, boolean secret) throws IOException {
        Files.deleteIfExists(file); // only reached with --force, or for a file that did not exist
        boolean posix = file.getFileSystem().supportedFileAttributeViews().contains("posix");
        Set<PosixFilePermission> permissions = PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--");
        FileAttribute<?>[] attributes = posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)}
                : new FileAttribute<?>[0];
        try (SeekableByteChannel out = Files.newByteChannel(file, Set.of(StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE), attributes)) {
            ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
            while (bytes.hasRemaining()) {
                out.write(bytes);
            }
        } catch (FileAlreadyExistsException e) {
            throw new QuiverException("tls-init: " + file + " appeared while writing; run it again", e);
        }
        if (posix) {
            Files.setPosixFilePermissions(file, permissions); // the umask may have narrowed the public ones
        }
    }
}
