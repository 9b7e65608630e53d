package io.quiver;

/** The root of every exception Quiver throws. Unchecked. */
public class QuiverException extends RuntimeException {
    /**
     * An exception with a message that says what went wrong and what to do.
     *
     * @param message the message
     */
    public QuiverException(String message) {
        super(message);
    }

    /**
     * An exception with a message and its cause.
     *
     * @param message the message
     * @param cause what caused it
     */
    public QuiverException(String message, Throwable cause) {
        super(message, cause);
    }
}
