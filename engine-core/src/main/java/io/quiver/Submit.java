package io.quiver;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.List;

/**
 * How tasks submitted through {@link Quiver#with(Submit)} run: retries, where, and in which order
 * (Dask's {@code retries=}, {@code workers=}, {@code allow_other_workers=} and {@code priority=}).
 * Immutable; each {@code and...} method returns a copy:
 * {@code Submit.on("exec-1").andRetries(2).andPriority(5)}.
 */
public final class Submit {
    private static final Submit DEFAULTS = new Submit(0, List.of(), false, 0);

    private final int retries;
    private final List<String> executors;
    private final boolean allowOthers;
    private final int priority;

    private Submit(int retries, List<String> executors, boolean allowOthers, int priority) {
        this.retries = retries;
        this.executors = executors;
        this.allowOthers = allowOthers;
        this.priority = priority;
    }

    /**
     * No retries, anywhere, priority 0: what plain {@code submit} does.
     *
     * @return the default options
     */
    public static Submit defaults() {
        return DEFAULTS;
    }

    /**
     * Re-runs a task whose user code threw, up to {@code n} more times;
     * {@link TaskFailedException#attempts()} then counts every run.
     *
     * @param n extra runs allowed, at least 0
     * @return the options
     */
    public static Submit retries(int n) {
        return DEFAULTS.andRetries(n);
    }

    /**
     * Runs tasks only on these executors (a restriction, like Dask's {@code workers=}), unless
     * {@link #allowOthers(boolean) allowOthers(true)} makes it a preference. A task restricted to
     * executors that are all gone fails with a {@link QuiverException} that names them.
     *
     * @param executorIds at least one executor id, as {@link ExecutorInfo#id()} gives it
     * @return the options
     */
    public static Submit on(String... executorIds) {
        return DEFAULTS.andOn(executorIds);
    }

    /**
     * Among ready tasks, higher priorities are placed first (default 0; negative is allowed).
     *
     * @param priority the priority
     * @return the options
     */
    public static Submit priority(int priority) {
        return DEFAULTS.andPriority(priority);
    }

    /**
     * A copy with {@code n} retries.
     *
     * @param n extra runs allowed, at least 0
     * @return the options
     */
    public Submit andRetries(int n) {
        checkArgument(n >= 0, "Submit.retries must be >= 0, got %s", n);
        return new Submit(n, executors, allowOthers, priority);
    }

    /**
     * A copy restricted to (or, with {@link #allowOthers(boolean)}, preferring) these executors.
     *
     * @param executorIds at least one executor id
     * @return the options
     */
    public Submit andOn(String... executorIds) {
        checkArgument(executorIds != null && executorIds.length > 0,
                "Submit.on needs at least one executor id; see Quiver.cluster().executors()");
        for (String id : executorIds) {
            checkArgument(id != null && !id.isBlank(), "Submit.on got a null or blank executor id");
        }
        return new Submit(retries, List.of(executorIds), allowOthers, priority);
    }

    /**
     * A copy whose {@link #on(String...)} executors are a preference ({@code true}: others may run
     * the task when none of them is live) or a restriction ({@code false}, the default).
     *
     * @param allow whether other executors may run the task
     * @return the options
     */
    public Submit allowOthers(boolean allow) {
        return new Submit(retries, executors, allow, priority);
    }

    /**
     * A copy with this priority.
     *
     * @param priority higher runs first among ready tasks
     * @return the options
     */
    public Submit andPriority(int priority) {
        return new Submit(retries, executors, allowOthers, priority);
    }

    /**
     * Extra runs allowed when user code throws.
     *
     * @return the retries
     */
    public int retries() {
        return retries;
    }

    /**
     * The executors named by {@link #on(String...)}; empty for anywhere.
     *
     * @return the executor ids
     */
    public List<String> executors() {
        return executors;
    }

    /**
     * Whether other executors may run the task.
     *
     * @return true for a preference, false for a restriction
     */
    public boolean allowOthers() {
        return allowOthers;
    }

    /**
     * The priority among ready tasks.
     *
     * @return the priority
     */
    public int priority() {
        return priority;
    }

    @Override
    public String toString() {
        return "Submit[retries=" + retries + ", on=" + executors + (allowOthers ? " (preferred)" : "")
                + ", priority=" + priority + "]";
    }
}
