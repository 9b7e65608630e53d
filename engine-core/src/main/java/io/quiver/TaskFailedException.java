package io.quiver;

/**
 * User code threw on an executor. Carries the remote exception's type, message and stack trace;
 * {@link #getMessage()} names the remote type and message.
 */
public class TaskFailedException extends QuiverException {
    private final String remoteType;
    private final String remoteMessage;
    private final String remoteStackTrace;
    private final String taskId;
    private final String executorId;
    private final int attempts;

    public TaskFailedException(String remoteType, String remoteMessage, String remoteStackTrace,
                               String taskId, String executorId, int attempts) {
        super("task " + taskId + " failed on " + executorId + ": " + remoteType
                + (remoteMessage == null ? "" : ": " + remoteMessage));
        this.remoteType = remoteType;
        this.remoteMessage = remoteMessage;
        this.remoteStackTrace = remoteStackTrace;
        this.taskId = taskId;
        this.executorId = executorId;
        this.attempts = attempts;
    }

    /** Fully qualified class name of the exception user code threw. */
    public String remoteType() {
        return remoteType;
    }

    public String remoteMessage() {
        return remoteMessage;
    }

    /** The remote stack trace as text, as {@code Throwable.printStackTrace} wrote it. */
    public String remoteStackTrace() {
        return remoteStackTrace;
    }

    public String taskId() {
        return taskId;
    }

    public String executorId() {
        return executorId;
    }

    public int attempts() {
        return attempts;
    }
}
