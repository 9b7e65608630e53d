package io.quiver.core.protocol;

/** A frame that does not follow the protocol. The connection that sent it is closed. */
public final class ProtocolException extends RuntimeException {
    public ProtocolException(String message) {
        super(message);
    }
}
