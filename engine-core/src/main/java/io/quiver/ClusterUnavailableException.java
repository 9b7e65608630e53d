package io.quiver;

/** No leader or no executor could be reached in time; the message says what was tried. */
public class ClusterUnavailableException extends QuiverException {
    public ClusterUnavailableException(String message) {
        super(message);
    }

    public ClusterUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
