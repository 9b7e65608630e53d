package io.quiver;

/**
 * A function or value cannot be serialized. Thrown on the client by {@code submit}, {@code scatter}
 * and actions; the message names the offending class and, where known, the captured field.
 */
public class NotSerializableException extends QuiverException {
    /** The name of the class that is not serializable. */
    private final String offendingClass;

    /**
     * An exception naming the class that cannot be serialized.
     *
     * @param message the message, naming the class and the captured field where known
     * @param offendingClass the class's name
     * @param cause the serializer's exception
     */
    public NotSerializableException(String message, String offendingClass, Throwable cause) {
        super(message, cause);
        this.offendingClass = offendingClass;
    }

    /**
     * The name of the class that is not serializable.
     *
     * @return a class name
     */
    public String offendingClass() {
        return offendingClass;
    }
}
