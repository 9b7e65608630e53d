package io.quiver.core.net;

import io.quiver.QuiverException;

/**
 * The peer answered our hello with {@code Refused}: it does not accept our cluster secret. Retrying
 * with the same secret cannot succeed, so callers stop and say so instead of retrying.
 */
public final class HandshakeRefusedException extends QuiverException {
    private static final long serialVersionUID = 1L;

    private final String reason;

    /** @param reason the peer's reason, as it sent it */
    public HandshakeRefusedException(String reason) {
        super("refused: " + reason);
        this.reason = reason;
    }

    /** The peer's reason, e.g. "authentication failed for executor exec-1: wrong or missing cluster secret". */
    public String reason() {
        return reason;
    }
}
