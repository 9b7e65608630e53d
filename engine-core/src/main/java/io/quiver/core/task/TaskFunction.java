package io.quiver.core.task;

import java.io.Serializable;

/**
 * The one shape of work executors run. A user's {@code Fn0..Fn3} is wrapped into one on the
 * client; a dataset stage is one built by the planner. An executor deserializes a function once
 * and shares the instance across all tasks that name it, so implementations must be stateless
 * (or thread-safe) after construction.
 */
public interface TaskFunction extends Serializable {
    /**
     * Runs one task.
     *
     * @param args the task's arguments, in order: values of input refs resolved on this executor,
     *     and inline values, already decoded
     * @param ctx where the task runs
     * @return the task's outputs, exactly {@code ctx.outputs()} of them (usually one)
     */
    Object[] run(Object[] args, TaskContext ctx) throws Exception;
}
