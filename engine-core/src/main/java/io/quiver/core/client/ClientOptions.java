package io.quiver.core.client;

import static com.google.common.base.Preconditions.checkArgument;

import io.quiver.core.net.Secret;
import java.time.Duration;

/**
 * Client settings.
 *
 * @param secret the cluster secret ({@code QUIVER_SECRET} or {@code -Dquiver.secret} by default)
 * @param connectTimeout how long to wait for a leader and an executor before giving up
 */
public record ClientOptions(Secret secret, Duration connectTimeout) {
    public ClientOptions {
        checkArgument(secret != null, "secret is null; use Secret.NONE");
        checkArgument(connectTimeout != null && !connectTimeout.isNegative() && !connectTimeout.isZero(),
                "connect timeout must be positive, got %s", connectTimeout);
    }

    public static ClientOptions defaults() {
        String fromProperty = System.getProperty("quiver.secret");
        Secret secret = fromProperty != null ? Secret.of(fromProperty) : Secret.fromEnvironment();
        long millis = Long.getLong("quiver.connectTimeoutMs", 15_000);
        return new ClientOptions(secret, Duration.ofMillis(millis));
    }

    static ClientOptions fromUrl(String url) {
        return defaults();
    }

    public ClientOptions withSecret(Secret s) {
        return new ClientOptions(s, connectTimeout);
    }

    public ClientOptions withConnectTimeout(Duration d) {
        return new ClientOptions(secret, d);
    }
}
