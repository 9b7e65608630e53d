package io.quiver.core.loop;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread that runs posted events in order: the owner of one stateful component (the leader's
 * scheduler, an executor's slots, a client's leader session; DESIGN.md, Concurrency). Any thread
 * may {@link #execute} or {@link #schedule}; neither blocks. After each burst of events the loop
 * calls its {@code afterBatch} hook once, so that many events become a few messages.
 *
 * <p>An event that throws goes to the {@code onFailure} handler, which decides what that means
 * for the owner (the scheduler hands leadership over rather than go on with half-applied state);
 * by default it is logged and the loop goes on.
 */
public final class EventLoop implements Executor, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EventLoop.class);

    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private final ScheduledExecutorService timers;
    private volatile Runnable afterBatch = () -> {};
    private volatile Consumer<Throwable> onFailure;
    private volatile boolean parked;
    private volatile boolean stopped;

    public EventLoop(String name) {
        this.thread = new Thread(this::run, name);
        this.thread.setDaemon(true);
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, name + "-timers");
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        this.timers = t;
        this.onFailure = e -> log.error("event on loop {} failed", name, e);
    }

    /** Starts the thread; {@code afterBatchHook} runs once after every burst of events. */
    public void start(Runnable afterBatchHook) {
        this.afterBatch = afterBatchHook;
        thread.start();
    }

    public void start() {
        start(() -> {});
    }

    /** What an event that throws means for the owner; called on the loop thread. */
    public void onFailure(Consumer<Throwable> handler) {
        this.onFailure = handler;
    }

    /** Runs {@code event} on the loop thread, after those posted before it. Dropped once stopped. */
    @Override
    public void execute(Runnable event) {
        if (stopped) {
            return;
        }
        queue.add(event);
        if (parked) {
            LockSupport.unpark(thread);
        }
    }

    /** Posts {@code event} after a delay; the returned future cancels it. */
    public ScheduledFuture<?> schedule(Runnable event, long delay, TimeUnit unit) {
        try {
            return timers.schedule(() -> execute(event), delay, unit);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return null; // stopped
        }
    }

    public boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /** Fails fast when state confined to this loop is touched from another thread. */
    public void checkInLoop() {
        if (!inLoop()) {
            throw new IllegalStateException("called from thread " + Thread.currentThread().getName()
                    + "; this state is confined to loop " + thread.getName() + ": post an event instead");
        }
    }

    private void run() {
        while (!stopped) {
            Runnable event = queue.poll();
            if (event == null) {
                runSafely(afterBatch);
                if (!queue.isEmpty()) {
                    continue;
                }
                parked = true;
                if (queue.isEmpty() && !stopped) {
                    LockSupport.park(this);
                }
                parked = false;
                continue;
            }
            runSafely(event);
        }
    }

    private void runSafely(Runnable r) {
        try {
            r.run();
        } catch (Throwable t) {
            try {
                onFailure.accept(t);
            } catch (Throwable again) {
                log.error("failure handler of loop {} failed", thread.getName(), again);
            }
        }
    }

    /** Stops the thread and its timers; events still queued are dropped. Idempotent. */
    @Override
    public void close() {
        stop(5_000);
    }

    /** Stops, waiting up to {@code millis} for the thread to end (not when called on the loop itself). */
    public void stop(long millis) {
        if (stopped) {
            return;
        }
        stopped = true;
        timers.shutdownNow();
        LockSupport.unpark(thread);
        if (thread.isAlive() && !inLoop()) {
            try {
                thread.join(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        queue.clear();
    }
}
