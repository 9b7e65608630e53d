package io.quiver;

/** The root of every exception Quiver throws. Unchecked. */
public class QuiverException extends RuntimeException {
    public QuiverException(String message) {
        super(message);
    }

    public QuiverException(String message, Throwable cause) {
        super(message, cause);
    }
}
