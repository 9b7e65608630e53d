package io.quiver.core.plan;

import java.io.Serializable;

/** The numbers {@code [from, to)} of one partition of a range source; a task's inline input. */
public record RangeSplit(long from, long to) implements Serializable {}
