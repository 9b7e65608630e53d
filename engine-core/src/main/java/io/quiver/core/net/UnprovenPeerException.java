package io.quiver.core.net;

import io.quiver.QuiverException;

/**
 * The server we connected to did not prove the cluster secret in its welcome, or broke the
 * handshake: it may be an impostor (for instance a "leader" that someone without the secret
 * published in ZooKeeper), or a process with another secret. Nothing it sent was decoded beyond the
 * handshake. Callers treat it like an unreachable peer and keep any connection they already trust.
 */
public final class UnprovenPeerException extends QuiverException {
    private static final long serialVersionUID = 1L;

    /** @param message what the server did, with its address */
    public UnprovenPeerException(String message) {
        super(message);
    }
}
