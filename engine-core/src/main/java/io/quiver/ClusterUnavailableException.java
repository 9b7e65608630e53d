package io.quiver;

/** No leader or no executor could be reached in time; the message says what was tried. */
public class ClusterUnavailableException extends QuiverException {
    /**
     * An exception naming what was tried.
     *
     * @param message the message
     */
    public ClusterUnavailableException(String message) {
        super(message);
    }

    /**
     * An exception naming what was tried, and its cause.
     *
     * @param message the message
     * @param cause what caused it
     */
    public ClusterUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
