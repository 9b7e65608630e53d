package io.quiver;

/**
 * A function or value cannot be serialized. Thrown on the client by {@code submit}, {@code scatter}
 * and actions; the message names the offending class and, where known, the captured field.
 */
public class NotSerializableException extends QuiverException {
    private final String offendingClass;

    public NotSerializableException(String message, String offendingClass, Throwable cause) {
        super(message, cause);
        this.offendingClass = offendingClass;
    }

    /** The name of the class that is not serializable. */
    public String offendingClass() {
        return offendingClass;
    }
}
