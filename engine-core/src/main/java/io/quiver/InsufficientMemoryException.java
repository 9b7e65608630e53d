package io.quiver;

/**
 * A scatter or broadcast does not fit in a target executor's free memory. Raised before any byte
 * of the value is sent.
 */
public class InsufficientMemoryException extends QuiverException {
    /** The executor the value does not fit on. */
    private final String executorId;
    /** Its free memory, in bytes. */
    private final long freeBytes;
    /** The value's size, in bytes. */
    private final long requestedBytes;

    /**
     * An exception about one target executor.
     *
     * @param message the message
     * @param executorId the executor the value does not fit on
     * @param freeBytes its free memory
     * @param requestedBytes the value's size
     */
    public InsufficientMemoryException(String message, String executorId, long freeBytes, long requestedBytes) {
        super(message);
        this.executorId = executorId;
        this.freeBytes = freeBytes;
        this.requestedBytes = requestedBytes;
    }

    /**
     * The executor the value does not fit on.
     *
     * @return its id
     */
    public String executorId() {
        return executorId;
    }

    /**
     * The executor's free memory when the scatter was asked.
     *
     * @return bytes
     */
    public long freeBytes() {
        return freeBytes;
    }

    /**
     * The size of the value.
     *
     * @return bytes
     */
    public long requestedBytes() {
        return requestedBytes;
    }
}
