package io.quiver;

/** Every copy of a value is gone and it cannot be recomputed. */
public class DataLostException extends QuiverException {
    /**
     * An exception naming the lost executor and the missing input.
     *
     * @param message the message
     */
    public DataLostException(String message) {
        super(message);
    }
}
