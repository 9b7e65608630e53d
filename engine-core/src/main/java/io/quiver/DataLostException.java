package io.quiver;

/** Every copy of a value is gone and it cannot be recomputed. */
public class DataLostException extends QuiverException {
    public DataLostException(String message) {
        super(message);
    }
}
