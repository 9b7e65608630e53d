package io.quiver.core.client;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Spark-style console progress on stderr: a wait ({@link #track}) that lasts over half a second
 * draws one line, {@code [gather] =====>          (120) / 200}, redrawn at most five times a
 * second and erased when the wait ends. Counts come from the completions the client already
 * receives. When several waits overlap, the newest shows.
 *
 * <p>Thread-safe: waits are tracked from any thread; drawing happens on {@link #tick}, which a
 * daemon timer calls every 200 ms (tests call it with their own clock). Off ({@link #OFF}) when
 * stderr is not a terminal, with {@code ConnectOptions.progress(false)}, or with {@code QUIVER_PROGRESS=0}.
 */
public final class ConsoleProgress {
    /** Progress that draws nothing. */
    public static final ConsoleProgress OFF = new ConsoleProgress(null, System::nanoTime, false);

    static final long SHOW_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    static final long PERIOD_MILLIS = 200;
    static final int BAR_WIDTH = 30;

    private static final ThreadFactory DAEMON = r -> {
        Thread t = new Thread(r, "quiver-progress");
        t.setDaemon(true);
        return t;
    };

    private final PrintStream out;
    private final LongSupplier nanoTime;
    private final boolean enabled;
    private final ArrayDeque<Wait> waits = new ArrayDeque<>();
    private ScheduledExecutorService timer;
    private int drawnLength;
    private String drawn = "";

    /**
     * Progress drawing on {@code out}.
     *
     * @param out where to draw, or null for nowhere
     * @param nanoTime the clock
     * @param timed whether a timer of its own calls {@link #tick} (false: the caller does)
     */
    ConsoleProgress(PrintStream out, LongSupplier nanoTime, boolean timed) {
        this.out = out;
        this.nanoTime = nanoTime;
        this.enabled = out != null;
        if (enabled && timed) {
            timer = Executors.newSingleThreadScheduledExecutor(DAEMON);
            timer.scheduleAtFixedRate(this::tick, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Progress for a client: on stderr when it is a terminal and neither {@code wanted} is false
     * nor {@code QUIVER_PROGRESS=0}; else {@link #OFF}.
     *
     * @param wanted {@code ConnectOptions.progress()}
     * @return the progress
     */
    public static ConsoleProgress forClient(boolean wanted) {
        if (!wanted || "0".equals(System.getenv("QUIVER_PROGRESS")) || !stderrIsTerminal()) {
            return OFF;
        }
        return new ConsoleProgress(System.err, System::nanoTime, true);
    }

    /** Whether file descriptor 2 is a terminal: on Linux from /proc, elsewhere from System.console(). */
    static boolean stderrIsTerminal() {
        Path fd = Path.of("/proc/self/fd/2");
        try {
            if (Files.exists(fd)) {
                String target = Files.readSymbolicLink(fd).toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
            }
        } catch (java.io.IOException | UnsupportedOperationException | SecurityException e) {
            // fall through
        }
        return System.console() != null;
    }

    /** One wait, counted up as its items complete; closing it erases its line. */
    public final class Wait implements AutoCloseable {
        final String label;
        final int total;
        final long startNanos;
        final AtomicInteger done = new AtomicInteger();
        volatile boolean closed;

        Wait(String label, int total, long startNanos) {
            this.label = label;
            this.total = total;
            this.startNanos = startNanos;
        }

        /** One more item is done. */
        public void completed() {
            done.incrementAndGet();
        }

        /** The wait is over: its line goes. Idempotent. */
        @Override
        public void close() {
            if (!closed) {
                closed = true;
                ConsoleProgress.this.ended(this);
            }
        }
    }

    /**
     * Starts tracking a wait for {@code total} items.
     *
     * @param label what waits, e.g. {@code gather}
     * @param total how many items
     * @return the wait, to count and close
     */
    public Wait track(String label, int total) {
        Wait w = new Wait(label, total, nanoTime.getAsLong());
        if (enabled) {
            synchronized (this) {
                waits.addLast(w);
            }
        }
        return w;
    }

    private synchronized void ended(Wait w) {
        waits.remove(w);
        if (waits.isEmpty() || waits.peekLast() != w) {
            erase();
        }
    }

    /** Draws the newest wait older than half a second, if its line changed. */
    synchronized void tick() {
        if (!enabled) {
            return;
        }
        long now = nanoTime.getAsLong();
        Wait show = null;
        for (Iterator<Wait> it = waits.descendingIterator(); it.hasNext(); ) {
            Wait w = it.next();
            if (!w.closed && now - w.startNanos >= SHOW_AFTER_NANOS) {
                show = w;
                break;
            }
        }
        if (show == null) {
            erase();
            return;
        }
        String line = line(show.label, Math.min(show.done.get(), show.total), show.total);
        if (!line.equals(drawn)) {
            String pad = line.length() < drawnLength ? " ".repeat(drawnLength - line.length()) : "";
            out.print("\r" + line + pad);
            out.flush();
            drawn = line;
            drawnLength = line.length();
        }
    }

    private void erase() {
        if (drawnLength > 0) {
            out.print("\r" + " ".repeat(drawnLength) + "\r");
            out.flush();
            drawnLength = 0;
            drawn = "";
        }
    }

    /** {@code [label] =====>      (done) / total}, as Spark's console bar. */
    static String line(String label, int done, int total) {
        int filled = total <= 0 ? BAR_WIDTH : (int) ((long) BAR_WIDTH * done / total);
        StringBuilder bar = new StringBuilder(BAR_WIDTH);
        for (int i = 0; i < BAR_WIDTH; i++) {
            bar.append(i < filled ? '=' : i == filled ? '>' : ' ');
        }
        return "[" + label + "] " + bar + " (" + done + ") / " + total;
    }

    /** Stops the timer and erases the line. */
    public void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
        if (enabled) {
            synchronized (this) {
                waits.clear();
                erase();
            }
        }
    }
}
