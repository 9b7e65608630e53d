package io.quiver;

/**
 * What user code threw on an executor, rebuilt on the client when its own class cannot be loaded
 * here: it prints as the remote exception would ({@code remote.Type: message}), with the remote
 * stack trace, so an ordinary stack trace shows the user's line. The cause of a
 * {@link TaskFailedException}.
 */
public class RemoteException extends RuntimeException {
    /** The remote exception's class name. */
    private final String remoteType;

    /**
     * A rebuilt remote exception.
     *
     * @param remoteType the class name of what was thrown remotely
     * @param message its message, or null
     */
    public RemoteException(String remoteType, String message) {
        super(message);
        this.remoteType = remoteType;
    }

    /**
     * The class name of the exception thrown on the executor.
     *
     * @return a class name
     */
    public String remoteType() {
        return remoteType;
    }

    /** Prints as the remote exception: its type name, then its message. */
    @Override
    public String toString() {
        String m = getLocalizedMessage();
        return m == null ? remoteType : remoteType + ": " + m;
    }
}
