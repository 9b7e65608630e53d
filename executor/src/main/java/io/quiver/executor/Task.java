package io.quiver.executor;

import io.quiver.core.protocol.Message.TaskLaunch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One launched task. The bookkeeping fields ({@code missing}, {@code done}, {@code successor}, ...)
 * are confined to the executor loop; workers read only the final fields and take {@link #next}.
 */
final class Task {
    /** What {@link #next} holds once the worker has taken it: nothing more can be attached. */
    static final Task CLOSED = new Task(null, -1, null);

    final TaskLaunch launch;
    final long seq;
    final FunctionEntry function;
    /** Inputs not yet in the block store. */
    int missing;
    /** Finished or failed: ignore further events for it. */
    boolean done;
    /** The code of the client that submitted it; set by the loop before the task is handed out. */
    ClientCode code;
    /** Its hold on {@code code} was given back. */
    boolean detached;
    /** Its worker sent its result to the leader (set by the worker, before the loop hears it ended). */
    volatile boolean reported;
    /** Launched again after its result went out, before it ended here: its end changes nothing (loop only). */
    boolean superseded;
    /** Cancelled by the leader: it does not start, or is interrupted (any thread; see {@link #cancel()}). */
    volatile boolean cancelled;
    /**
     * Fetched slices of map outputs by argument index (slice entries, see ShuffleBlocks), null where
     * the argument is read otherwise. Filled by the loop before the task is handed out; released by
     * its worker after it ran, or by the loop if it fails first.
     */
    io.netty.buffer.ByteBuf[] slices;
    /**
     * The link of a chain that runs right after this one on the same worker, its one missing input
     * being this task's output (see {@code TaskSlots.attachSuccessors}). The loop sets it (null to a
     * task); the worker takes it once this task ended ({@link #CLOSED}), and runs it if this one
     * succeeded. A compare-and-set on both sides decides whether it came in time.
     */
    final AtomicReference<Task> next = new AtomicReference<>();
    /** The task the loop attached as {@link #next} (loop only; it gives it back if this one fails). */
    Task successor;
    /** Handed to the workers and not yet ended (loop only). */
    boolean handedOut;
    /** How many links of a chain are attached before this one (loop only). */
    int chainDepth;
    /** The worker running it, while it runs; guarded by this task. */
    private Thread runner;
    private boolean started;

    /** Marks it cancelled and interrupts its worker if it is running it now. */
    synchronized void cancel() {
        cancelled = true;
        if (runner != null) {
            runner.interrupt();
        }
    }

    /** A worker starts (non-null) or ends (null) running it; at the end a stray interrupt is cleared. */
    void running(Thread worker) {
        synchronized (this) {
            runner = worker;
            started = true;
        }
        if (worker == null) {
            Thread.interrupted(); // a cancel that came as it ended must not hit the worker's next task
        }
    }

    /** Whether a worker took it (it may still be running). */
    synchronized boolean started() {
        return started;
    }

    /** Releases the fetched slices it still holds. */
    void releaseSlices() {
        io.netty.buffer.ByteBuf[] s = slices;
        if (s == null) {
            return;
        }
        for (int i = 0; i < s.length; i++) {
            if (s[i] != null) {
                s[i].release();
                s[i] = null;
            }
        }
    }

    /** The task's id: its first output. */
    io.quiver.RefId id() {
        return launch.outs().get(0);
    }

    Task(TaskLaunch launch, long seq, FunctionEntry function) {
        this.launch = launch;
        this.seq = seq;
        this.function = function;
    }
}
