package io.quiver.core.plan;

import java.io.Serializable;

/**
 * The byte range {@code [start, end)} of a text file that one task reads; a task's inline input.
 * The task returns exactly the lines that <em>begin</em> inside the range: it skips a partial first
 * line (unless {@code start == 0}) and reads past {@code end} to finish its last line, so adjacent
 * splits never lose or duplicate a line. Lines end at {@code \n}; a {@code \r} before it is dropped.
 */
public record TextSplit(String path, long start, long end) implements Serializable {}
