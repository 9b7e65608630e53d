package io.quiver.core.code;

import java.nio.file.Path;

/**
 * One entry of a client's code as it travels: a jar named by the SHA-256 of its bytes (lower-case
 * hex), its size, the entry it came from (for messages) and the file that holds the bytes (the jar
 * itself, or the packed class folder).
 */
public record CodeJar(String sha256, long size, String name, Path file) {
    /** True for 64 lower-case hex digits, the only form a jar name may take on disk. */
    public static boolean isSha256(String s) {
        if (s == null || s.length() != 64) {
            return false;
        }
        for (int i = 0; i < 64; i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }
}
