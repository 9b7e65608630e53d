package io.quiver.core.net;

import io.quiver.QuiverException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The cluster secret: HMAC-SHA256 challenge-response in every handshake. {@link #NONE} means no
 * authentication, which is only allowed on loopback.
 */
public final class Secret {
    public static final Secret NONE = new Secret(null);
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
        try {
            return of(Files.readString(file).trim());
        } catch (java.io.IOException e) {
            throw new QuiverException("cannot read secret file " + file + ": " + e.getMessage()
                    + "; pass a readable file to --secret-file", e);
        }
    }

    /** The secret from {@code QUIVER_SECRET} if set, else none. */
    public static Secret fromEnvironment() {
        return of(System.getenv("QUIVER_SECRET"));
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
