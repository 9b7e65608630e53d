package io.quiver.executor;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread that runs posted events in order: the owner of the executor's slot bookkeeping
 * (DESIGN.md, Concurrency). {@link #execute} may be called from any thread; it never blocks. An
 * event that throws is logged and the loop goes on.
 */
final class ExecutorLoop implements Executor {
    private static final Logger log = LoggerFactory.getLogger(ExecutorLoop.class);

    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean parked;
    private volatile boolean stopped;

    ExecutorLoop(String name) {
        this.thread = new Thread(this::run, name);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    @Override
    public void execute(Runnable event) {
        queue.add(event);
        if (parked) {
            LockSupport.unpark(thread);
        }
    }

    private void run() {
        while (!stopped) {
            Runnable event = queue.poll();
            if (event == null) {
                parked = true;
                if (queue.isEmpty() && !stopped) {
                    LockSupport.park(this);
                }
                parked = false;
                continue;
            }
            try {
                event.run();
            } catch (Throwable t) {
                log.error("event on the executor loop failed", t);
            }
        }
    }

    /** Stops the thread; events still queued are dropped. Waits up to {@code millis} for it to end. */
    void stop(long millis) {
        stopped = true;
        LockSupport.unpark(thread);
        if (thread.isAlive() && !inLoop()) {
            try {
                thread.join(TimeUnit.MILLISECONDS.toMillis(millis));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        queue.clear();
    }
}
