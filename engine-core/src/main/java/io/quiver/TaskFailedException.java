package io.quiver;

/**
 * User code threw on an executor. Carries the remote exception's type, message and stack trace;
 * {@link #getMessage()} names the remote type and message, and {@link #getCause()} is the remote
 * exception rebuilt here (its own type when that loads on the client, else a {@link RemoteException}),
 * with the remote stack trace, so an ordinary stack trace shows the line of user code that threw.
 */
public class TaskFailedException extends QuiverException {
    /** The class name of what user code threw. */
    private final String remoteType;
    /** Its message, or null. */
    private final String remoteMessage;
    /** Its stack trace as text. */
    private final String remoteStackTrace;
    /** The task that failed. */
    private final String taskId;
    /** Where it last ran. */
    private final String executorId;
    /** How many times it ran. */
    private final int attempts;

    /**
     * An exception describing the remote failure.
     *
     * @param remoteType the class name of what user code threw
     * @param remoteMessage its message, or null
     * @param remoteStackTrace its stack trace as text
     * @param taskId the task that failed
     * @param executorId where it ran
     * @param attempts how many times it ran
     */
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
        initCause(io.quiver.core.client.RemoteTraces.rebuild(remoteType, remoteMessage, remoteStackTrace));
    }

    /**
     * Fully qualified class name of the exception user code threw.
     *
     * @return a class name
     */
    public String remoteType() {
        return remoteType;
    }

    /**
     * The message of the exception user code threw.
     *
     * @return the message, or null
     */
    public String remoteMessage() {
        return remoteMessage;
    }

    /**
     * The remote stack trace as text, as {@code Throwable.printStackTrace} wrote it.
     *
     * @return the stack trace
     */
    public String remoteStackTrace() {
        return remoteStackTrace;
    }

    /**
     * The task that failed.
     *
     * @return its id
     */
    public String taskId() {
        return taskId;
    }

    /**
     * The executor the last attempt ran on.
     *
     * @return its id
     */
    public String executorId() {
        return executorId;
    }

    /**
     * How many times the task ran.
     *
     * @return attempts, at least 1
     */
    public int attempts() {
        return attempts;
    }
}
