package io.quiver.coordinator.sched;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's event loop: one thread runs every event posted to it, in order. After each burst of
 * events it calls the {@code afterBatch} hook once (dispatch and flush), so that many events
 * become a few messages. Netty handlers, ZooKeeper callbacks and timers only {@link #post}.
 */
public final class SchedulerLoop implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SchedulerLoop.class);
    private static final Runnable STOP = () -> {};

    private final LinkedBlockingQueue<Runnable> events = new LinkedBlockingQueue<>();
    private final ScheduledExecutorService timers;
    private final Thread thread;
    private volatile Runnable afterBatch = () -> {};
    private volatile boolean closed;

    public SchedulerLoop(String name) {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, name + "-timers");
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        this.timers = t;
        this.thread = new Thread(this::run, name);
        this.thread.setDaemon(true);
    }

    public void start(Runnable afterBatchHook) {
        this.afterBatch = afterBatchHook;
        thread.start();
    }

    /** Runs {@code event} on the loop thread. Events posted after close are dropped. */
    public void post(Runnable event) {
        if (!closed) {
            events.add(event);
        }
    }

    /** Posts {@code event} after a delay. */
    public void postLater(Runnable event, long delay, TimeUnit unit) {
        if (!closed) {
            timers.schedule(() -> post(event), delay, unit);
        }
    }

    public boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    private void run() {
        try {
            while (true) {
                Runnable r = events.take();
                do {
                    if (r == STOP) {
                        return;
                    }
                    runSafely(r);
                } while ((r = events.poll()) != null);
                runSafely(afterBatch);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void runSafely(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException | AssertionError e) {
            // A bug in one event must not stop the cluster's scheduler.
            log.error("scheduler event failed", e);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        timers.shutdownNow();
        events.add(STOP);
        if (!inLoop()) {
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
