package io.quiver.core.net;

import io.quiver.QuiverException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.function.UnaryOperator;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The cluster secret: a mutual HMAC-SHA256 challenge-response in every handshake, both sides
 * contributing a fresh nonce, so each proves the secret to the other and no recorded handshake
 * works twice (see {@code Pipelines}). {@link #NONE} means no authentication, which is only allowed
 * on loopback.
 *
 * <p>Every process finds its secret the same way ({@link #lookup}): a file named on its command line
 * ({@code --secret-file}), else the file named by {@value #FILE_ENV}, else the contents of
 * {@value #CONTENTS_ENV}, else none. Clients do the same with {@code ConnectOptions.secret(...)} in
 * place of the command-line file.
 */
public final class Secret {
    public static final Secret NONE = new Secret(null);
    /** The environment variable naming a file that holds the secret. */
    public static final String FILE_ENV = "QUIVER_SECRET_FILE";
    /** The environment variable holding the secret itself. */
    public static final String CONTENTS_ENV = "QUIVER_SECRET";
    /** What every "no secret" error tells the user to do. */
    public static final String HOW_TO_SET = "give every process the same secret: --secret-file FILE, or the "
            + "environment variable " + FILE_ENV + "=FILE, or " + CONTENTS_ENV + "=<the secret>";
    /** Length of a handshake nonce. */
    public static final int NONCE_BYTES = 32;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final byte[] key;

    private Secret(byte[] key) {
        this.key = key;
    }

    public static Secret of(String secret) {
        if (secret == null || secret.isEmpty()) {
            return NONE;
        }
        return new Secret(secret.getBytes(StandardCharsets.UTF_8));
    }

    /** Reads a secret from a file (trimmed), for {@code --secret-file}. */
    public static Secret fromFile(Path file) {
        return of(read(file, "--secret-file"));
    }

    /** The secret from the environment: the file named by {@value #FILE_ENV}, else {@value #CONTENTS_ENV}, else none. */
    public static Secret fromEnvironment() {
        return lookup(null, System::getenv).secret();
    }

    /** A secret and where it came from, for messages and {@code --print-config} (never the secret itself). */
    public record Found(Secret secret, String source) {}

    /**
     * The secret of a process: {@code file} if given (the command's {@code --secret-file}), else the
     * file named by {@value #FILE_ENV}, else the contents of {@value #CONTENTS_ENV}, else none.
     *
     * @param file the file given on the command line, or null
     * @param env the environment, e.g. {@code System::getenv}
     * @throws QuiverException naming the file and where it was named, if it cannot be read
     */
    public static Found lookup(Path file, UnaryOperator<String> env) {
        if (file != null) {
            return new Found(of(read(file, "--secret-file")), "--secret-file " + file);
        }
        String named = env.apply(FILE_ENV);
        if (named != null && !named.isEmpty()) {
            return new Found(of(read(Path.of(named), FILE_ENV)), FILE_ENV + "=" + named);
        }
        String contents = env.apply(CONTENTS_ENV);
        if (contents != null && !contents.isEmpty()) {
            return new Found(of(contents), CONTENTS_ENV + " (contents redacted)");
        }
        return new Found(NONE, "none");
    }

    /**
     * Where {@link #lookup} would take the secret from, without reading any file: for messages and
     * {@code --print-config}.
     *
     * @param file the file given on the command line, or null
     * @param env the environment, e.g. {@code System::getenv}
     * @return e.g. "--secret-file /etc/quiver/secret", "QUIVER_SECRET (contents redacted)" or "none"
     */
    public static String source(Path file, UnaryOperator<String> env) {
        if (file != null) {
            return "--secret-file " + file;
        }
        String named = env.apply(FILE_ENV);
        if (named != null && !named.isEmpty()) {
            return FILE_ENV + "=" + named;
        }
        String contents = env.apply(CONTENTS_ENV);
        return contents != null && !contents.isEmpty() ? CONTENTS_ENV + " (contents redacted)" : "none";
    }

    /**
     * The trimmed contents of a secret file.
     *
     * @param namedBy where the file was named ({@code --secret-file}, {@value #FILE_ENV}), for the message
     * @throws QuiverException if the file cannot be read or is empty
     */
    public static String read(Path file, String namedBy) {
        String text;
        try {
            text = Files.readString(file).trim();
        } catch (java.io.IOException | RuntimeException e) {
            throw new QuiverException("cannot read the secret file " + file + " named by " + namedBy + ": " + e
                    + "; make it readable by this user, or name another file", e);
        }
        if (text.isEmpty()) {
            throw new QuiverException("the secret file " + file + " named by " + namedBy + " is empty; write the "
                    + "cluster secret into it (e.g. head -c 32 /dev/urandom | base64 > " + file + ")");
        }
        return text;
    }

    public boolean isSet() {
        return key != null;
    }

    /** A fresh random nonce of {@value #NONCE_BYTES} bytes: each side of every handshake makes one. */
    public static byte[] nonce() {
        byte[] n = new byte[NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }

    /**
     * What the connecting peer sends in its hello: HMAC-SHA256 over the label {@code "quiver hello"},
     * the server's nonce, the peer's own nonce, the server's id, and the role, id and epoch the
     * peer claims. Empty without a secret.
     */
    public byte[] helloMac(byte[] serverNonce, byte[] peerNonce, String serverId, String role, String id, long epoch) {
        return hmac("quiver hello v2", serverNonce, peerNonce, utf8(serverId), utf8(role), utf8(id), longBytes(epoch));
    }

    /**
     * What the server sends in its welcome, proving to the peer that it holds the secret too:
     * HMAC-SHA256 over the label {@code "quiver welcome"} (so a hello's MAC can never serve as a
     * welcome's), both nonces, both identities, the epoch and the session it assigns. Empty
     * without a secret.
     */
    public byte[] welcomeMac(byte[] serverNonce, byte[] peerNonce, String serverId, String role, String id, long epoch,
                             long session) {
        return hmac("quiver welcome v2", serverNonce, peerNonce, utf8(serverId), utf8(role), utf8(id),
                longBytes(epoch), longBytes(session));
    }

    /**
     * A key for another purpose, derived from the secret (HMAC-SHA256 of {@code purpose}), so that
     * the secret itself never leaves the process, e.g. the ZooKeeper digest password.
     *
     * @throws IllegalStateException without a secret
     */
    public byte[] derive(String purpose) {
        if (key == null) {
            throw new IllegalStateException("no cluster secret to derive a key for " + purpose + " from");
        }
        return hmac("quiver derived key", utf8(purpose));
    }

    /** True if {@code mac} is {@link #helloMac} of these values, or there is no secret. Constant time. */
    public boolean verifyHello(byte[] serverNonce, byte[] peerNonce, String serverId, String role, String id, long epoch,
                               byte[] mac) {
        return key == null || (mac != null && freshNonce(peerNonce, serverNonce)
                && MessageDigest.isEqual(helloMac(serverNonce, peerNonce, serverId, role, id, epoch), mac));
    }

    /** True if {@code mac} is {@link #welcomeMac} of these values, or there is no secret. Constant time. */
    public boolean verifyWelcome(byte[] serverNonce, byte[] peerNonce, String serverId, String role, String id,
                                 long epoch, long session, byte[] mac) {
        return key == null || (mac != null && freshNonce(serverNonce, peerNonce)
                && MessageDigest.isEqual(welcomeMac(serverNonce, peerNonce, serverId, role, id, epoch, session), mac));
    }

    /** The other side's nonce must be a full-length one, and not ours reflected back. */
    private static boolean freshNonce(byte[] theirs, byte[] ours) {
        return theirs != null && theirs.length == NONCE_BYTES && !MessageDigest.isEqual(theirs, ours);
    }

    private byte[] hmac(String label, byte[]... parts) {
        if (key == null) {
            return new byte[0];
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update(utf8(label));
            for (byte[] part : parts) {
                // Length-prefixed, so that no two different transcripts read as the same bytes.
                mac.update(longBytes(part == null ? -1 : part.length), 4, 4);
                if (part != null) {
                    mac.update(part);
                }
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    private static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] longBytes(long v) {
        return java.nio.ByteBuffer.allocate(8).putLong(v).array();
    }
}
