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
 * The cluster secret: HMAC-SHA256 challenge-response in every handshake. {@link #NONE} means no
 * authentication, which is only allowed on loopback.
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

    public static byte[] nonce() {
        byte[] n = new byte[32];
        RANDOM.nextBytes(n);
        return n;
    }

    /** HMAC over the challenge nonce and the claimed identity. Empty without a secret. */
    public byte[] mac(byte[] nonce, String role, String id) {
        if (key == null) {
            return new byte[0];
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update(nonce);
            mac.update(role.getBytes(StandardCharsets.UTF_8));
            mac.update((byte) 0);
            mac.update(id.getBytes(StandardCharsets.UTF_8));
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    public boolean verify(byte[] nonce, String role, String id, byte[] mac) {
        return key == null || (mac != null && MessageDigest.isEqual(mac(nonce, role, id), mac));
    }
}
