package io.quiver.core.net;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Optional;

/**
 * Keeps the warnings about refused connections bounded: a peer with the wrong secret that retries
 * every few seconds would otherwise fill the log. In each window the first {@code burst} refusals
 * are logged in full; the rest are counted, and the first refusal after the window ends is logged
 * with the count of those suppressed. So at most {@code burst + 1} lines per window, however many
 * peers retry however fast.
 *
 * <p>Thread-safe (one per server, shared by its connections' event loops); time is a parameter.
 */
final class RefusalLog {
    private final long windowNanos;
    private final int burst;
    private long windowStart;
    private boolean started;
    private int inWindow;
    private long suppressed;

    RefusalLog(long windowNanos, int burst) {
        checkArgument(windowNanos > 0 && burst > 0, "window and burst must be > 0, got %s ns and %s", windowNanos, burst);
        this.windowNanos = windowNanos;
        this.burst = burst;
    }

    /**
     * One refusal at {@code nowNanos}: the line to log, or empty when it is only counted.
     *
     * @param reason what the peer did wrong, with the peer's address
     */
    synchronized Optional<String> refused(String reason, long nowNanos) {
        if (!started || nowNanos - windowStart >= windowNanos) {
            started = true;
            windowStart = nowNanos;
            inWindow = 0;
        }
        inWindow++;
        if (inWindow > burst) {
            suppressed++;
            return Optional.empty();
        }
        String line = "refusing connection from " + reason;
        if (suppressed > 0) {
            line += " (and " + suppressed + " more refused connection" + (suppressed == 1 ? "" : "s")
                    + " not logged since the last such warning)";
            suppressed = 0;
        } else if (inWindow == burst) {
            line += " (further refusals in the next " + windowNanos / 1_000_000_000L + " s are counted, not logged)";
        }
        return Optional.of(line);
    }
}
