package io.quiver.executor;

import io.quiver.core.protocol.Message.TaskLaunch;

/**
 * One launched task. The bookkeeping fields ({@code missing}, {@code done}) are confined to the
 * executor loop; workers read only the final fields.
 */
final class Task {
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
