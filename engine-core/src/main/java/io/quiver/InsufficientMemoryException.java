package io.quiver;

/**
 * A scatter or broadcast does not fit in a target executor's free memory. Raised before any byte
 * of the value is sent.
 */
public class InsufficientMemoryException extends QuiverException {
    private final String executorId;
    private final long freeBytes;
    private final long requestedBytes;

    public InsufficientMemoryException(String message, String executorId, long freeBytes, long requestedBytes) {
        super(message);
        this.executorId = executorId;
        this.freeBytes = freeBytes;
        this.requestedBytes = requestedBytes;
    }

    public String executorId() {
        return executorId;
    }

    public long freeBytes() {
        return freeBytes;
    }

    public long requestedBytes() {
        return requestedBytes;
    }
}
