package io.quiver;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.List;

/** Where a scattered value goes: one executor, n replicas, every executor, or named executors. */
public final class Scatter {
    /** How targets are chosen. */
    public enum Mode {
        /** One executor, chosen by free memory and load. */
        SINGLE,
        /** {@link #replicas()} distinct executors. */
        REPLICAS,
        /** Every live executor, and those that join later. */
        BROADCAST,
        /** The executors {@link #executors()} names. */
        ON
    }

    private final Mode mode;
    private final int replicas;
    private final List<String> executors;

    private Scatter(Mode mode, int replicas, List<String> executors) {
        this.mode = mode;
        this.replicas = replicas;
        this.executors = executors;
    }

    /**
     * One copy on the executor with the most free memory and least load.
     *
     * @return the options
     */
    public static Scatter single() {
        return new Scatter(Mode.SINGLE, 1, List.of());
    }

    /**
     * A copy on every live executor; the pinned input of the pre-scatter workflow.
     *
     * @return the options
     */
    public static Scatter broadcast() {
        return new Scatter(Mode.BROADCAST, 0, List.of());
    }

    /**
     * Copies on {@code n} distinct executors.
     *
     * @param n how many copies, at least 1
     * @return the options
     */
    public static Scatter replicas(int n) {
        checkArgument(n > 0, "replicas must be > 0, got %s", n);
        return new Scatter(Mode.REPLICAS, n, List.of());
    }

    /**
     * Copies on exactly these executors (ids as {@link ExecutorInfo#id()} gives them).
     *
     * @param executorIds at least one executor id
     * @return the options
     */
    public static Scatter on(String... executorIds) {
        checkArgument(executorIds != null && executorIds.length > 0,
                "Scatter.on needs at least one executor id; see Quiver.cluster().executors()");
        for (String id : executorIds) {
            checkArgument(id != null && !id.isBlank(), "Scatter.on got a null or blank executor id");
        }
        return new Scatter(Mode.ON, executorIds.length, List.of(executorIds));
    }

    /**
     * How targets are chosen.
     *
     * @return the mode
     */
    public Mode mode() {
        return mode;
    }

    /**
     * How many copies: 1 for single, n for replicas, the number of ids for on, 0 for broadcast.
     *
     * @return the count
     */
    public int replicas() {
        return replicas;
    }

    /**
     * The executors named by {@link #on(String...)}.
     *
     * @return their ids; empty for the other modes
     */
    public List<String> executors() {
        return executors;
    }

    /** The factory call that makes these options, e.g. {@code Scatter.replicas(2)}. */
    @Override
    public String toString() {
        return switch (mode) {
            case SINGLE -> "Scatter.single()";
            case BROADCAST -> "Scatter.broadcast()";
            case REPLICAS -> "Scatter.replicas(" + replicas + ")";
            case ON -> "Scatter.on(" + executors + ")";
        };
    }
}
