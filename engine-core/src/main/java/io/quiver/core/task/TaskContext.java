package io.quiver.core.task;

/** What a running task may know about where it runs. */
public interface TaskContext {
    /** The executor's id. */
    String executorId();

    /** How many outputs the task must return. */
    int outputs();
}
