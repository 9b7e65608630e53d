package io.quiver.executor;

import io.quiver.core.codec.DefaultCodec;
import io.quiver.core.net.Connection;
import java.io.IOException;
import java.net.URLClassLoader;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client's code on this executor: the class loader its submits, dataset stages and values
 * resolve through (the executor's own loader when it lacked none of the client's jars). The task
 * count and {@code gone} are confined to the executor loop; the loader is closed there, once the
 * client is gone and its last task has ended.
 */
final class ClientCode {
    private static final Logger log = LoggerFactory.getLogger(ClientCode.class);

    final long owner;
    final String clientId;
    final ClassLoader loader;
    /** The data connections this client offered its code on, open ones only. */
    final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    /** Admitted, unfinished tasks of this client (loop only). */
    int tasks;
    /** The client left (loop only). */
    boolean gone;
    private boolean closed;

    ClientCode(long owner, String clientId, ClassLoader loader) {
        this.owner = owner;
        this.clientId = clientId;
        this.loader = loader;
    }

    /** Whether this client has a loader of its own (it shipped jars this executor lacked). */
    boolean ownLoader() {
        return loader instanceof URLClassLoader u && u.getName() != null && u.getName().startsWith(LOADER_PREFIX);
    }

    static final String LOADER_PREFIX = "quiver-client-";

    /** Closes the loader if it is this client's own; idempotent. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (ownLoader()) {
            DefaultCodec.forgetLoader(loader);
            try {
                ((URLClassLoader) loader).close();
            } catch (IOException e) {
                log.warn("could not close the class loader of client {}: {}", clientId, e.toString());
            }
        }
    }

    @Override
    public String toString() {
        return "client " + clientId + " (owner " + Long.toHexString(owner) + ")";
    }
}
