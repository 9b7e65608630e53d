package io.quiver.core.zk;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.ConnectionStateListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * While ZooKeeper is unreachable, one log line per retry period ({@link #PERIOD_MILLIS}) instead
 * of the ZooKeeper client's stack trace per attempt (launcher's logging quiets that one), then one
 * line when the connection is back. A Curator connection-state listener: its callbacks run on
 * Curator's event thread; the periodic line on one shared daemon timer. Thread-safe (synchronized).
 */
final class OutageLog implements ConnectionStateListener {
    private static final Logger log = LoggerFactory.getLogger(OutageLog.class);
    static final long PERIOD_MILLIS = Long.getLong("quiver.zk.outageLogMs", 10_000);
    private static final ScheduledExecutorService TIMER = timer();

    private final String where;
    private final long periodMillis;
    private long downSinceNanos;
    private ScheduledFuture<?> repeating;

    OutageLog(String where) {
        this(where, PERIOD_MILLIS);
    }

    OutageLog(String where, long periodMillis) {
        this.where = where;
        this.periodMillis = periodMillis;
    }

    private static ScheduledExecutorService timer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "quiver-zk-outage-log");
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        return t;
    }

    @Override
    public synchronized void stateChanged(CuratorFramework client, ConnectionState state) {
        if (state == ConnectionState.SUSPENDED || state == ConnectionState.LOST) {
            if (repeating == null) {
                downSinceNanos = System.nanoTime();
                log.warn("ZooKeeper at {} is unreachable; retrying (one line every {} ms while it lasts)", where,
                        periodMillis);
                repeating = TIMER.scheduleAtFixedRate(this::stillDown, periodMillis, periodMillis,
                        TimeUnit.MILLISECONDS);
            } else if (state == ConnectionState.LOST) {
                log.warn("ZooKeeper session at {} expired while unreachable; a new session starts once it is back", where);
            }
        } else if (state == ConnectionState.RECONNECTED && repeating != null) {
            repeating.cancel(false);
            repeating = null;
            log.info("ZooKeeper at {} is reachable again after {} s", where, seconds());
        }
    }

    private synchronized void stillDown() {
        if (repeating != null) {
            log.warn("ZooKeeper at {} still unreachable after {} s; retrying", where, seconds());
        }
    }

    /** The client closed: no more lines. */
    synchronized void close() {
        if (repeating != null) {
            repeating.cancel(false);
            repeating = null;
        }
    }

    private long seconds() {
        return TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - downSinceNanos);
    }
}
