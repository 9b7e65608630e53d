package io.quiver.executor;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Touches the free part of this JVM's eden once, in the background, so that the first large values
 * a job decodes on an executor do not pay the kernel's first-touch page faults. A heap reserved with
 * {@code -Xms} is only address space until each page is first written; decoding a 256 MiB
 * broadcast into a fresh {@code double[]} then spent 100 ms (memory the machine had used before) to
 * 700 ms (memory it never had) in the kernel clearing pages, in the seed scenario's first jobs.
 * {@code -XX:+AlwaysPreTouch} does the same at JVM start, for the whole heap, and made two child
 * executors take 8 s to start instead of 1.
 *
 * <p>It allocates and drops arrays of {@value #CHUNK} bytes until it has covered the eden space that
 * was free when it began, and stops short of filling it, so it never causes a collection that would
 * copy a user's live value. It touches only once the executor has been idle ({@code idle} true)
 * for {@value #QUIET_MILLIS} ms, and waits that long again whenever it finds it busy, so it takes
 * no CPU from a task, from start-up or from a stream of tasks. Only for a JVM
 * that is the executor's own ({@code quiver executor}): in-process executors share their user's heap.
 * {@code -Dquiver.executor.pretouch=false} turns it off. Only under the parallel collector (the
 * executors' default) or the serial one; see {@link #eden()}.
 *
 * <p>Thread: its own daemon thread; {@link #done()} and {@link #close()} from any thread.
 */
public final class HeapPretouch implements AutoCloseable {
    /** The system property that turns pretouching off. */
    public static final String PROPERTY = "quiver.executor.pretouch";
    static final int CHUNK = 1 << 20;
    private static final long PAUSE_MILLIS = 10;
    /**
     * How long the executor must have been idle before a chunk is touched: long enough that a
     * cluster's start and a client's first connection and task (about 0.4 s on 2 cores) go first.
     */
    static final long QUIET_MILLIS = 1000;
    private static final Logger log = LoggerFactory.getLogger(HeapPretouch.class);

    /** Keeps each chunk reachable until the next, so the JIT cannot remove its allocation. */
    @SuppressWarnings("unused")
    private static volatile byte[] sink;

    private final CompletableFuture<Long> done = new CompletableFuture<>();
    private final Thread thread;
    private volatile boolean closed;

    private HeapPretouch(String name, BooleanSupplier idle) {
        thread = new Thread(() -> run(idle), name);
        thread.setDaemon(true);
    }

    /**
     * Starts pretouching on a daemon thread named {@code name}, unless {@value #PROPERTY} is
     * {@code false} (then {@link #done()} is already complete with 0).
     *
     * @param idle true while nothing runs on the executor, read between chunks
     */
    public static HeapPretouch start(String name, BooleanSupplier idle) {
        HeapPretouch p = new HeapPretouch(name, idle);
        if ("false".equalsIgnoreCase(System.getProperty(PROPERTY, "true").trim())) {
            p.done.complete(0L);
        } else {
            p.thread.start();
        }
        return p;
    }

    /** Completes with the bytes touched once it has finished, stopped or found no eden to touch. */
    public CompletableFuture<Long> done() {
        return done;
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }

    private void run(BooleanSupplier idle) {
        long touched = 0;
        try {
            MemoryPoolMXBean eden = eden();
            if (eden == null) {
                log.debug("this JVM's collector has no fixed eden (the parallel and serial ones have): nothing to"
                        + " pretouch");
                return;
            }
            long start = 0; // when touching begins
            long target = -1; // eden's free space then
            long collections = 0;
            long quietSince = System.nanoTime();
            while (!closed && (target < 0 || touched + CHUNK <= target)) {
                if (!idle.getAsBoolean()) {
                    quietSince = System.nanoTime();
                }
                if (System.nanoTime() - quietSince < TimeUnit.MILLISECONDS.toNanos(QUIET_MILLIS)) {
                    TimeUnit.MILLISECONDS.sleep(PAUSE_MILLIS);
                    continue;
                }
                MemoryUsage u = eden.getUsage();
                if (target < 0) {
                    target = u.getCommitted() - u.getUsed();
                    collections = collections();
                    start = System.nanoTime();
                    continue;
                }
                // Two chunks of room left, or a collection emptied eden under us: what it holds now
                // was touched already, or will be by the values that fill it.
                if (u.getUsed() + 2L * CHUNK > u.getCommitted() || collections() != collections) {
                    break;
                }
                byte[] b = new byte[CHUNK];
                b[CHUNK - 1] = 1;
                sink = b;
                touched += CHUNK;
            }
            sink = null;
            log.debug("pretouched {} MiB of eden ({} MiB were free) in {} ms", touched >> 20, target >> 20,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | OutOfMemoryError e) {
            log.debug("pretouching stopped after {} bytes: {}", touched, e.toString());
        } finally {
            sink = null;
            done.complete(touched);
        }
    }

    /**
     * The eden of the parallel or serial collector: a fixed range of the heap that the allocations
     * here fill in order. G1's eden is whichever free regions it picks next, and it puts arrays of
     * half a region or more outside eden, so under G1 (and ZGC, Shenandoah) nothing is touched.
     */
    static MemoryPoolMXBean eden() {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            String name = p.getName();
            if (p.getType() == MemoryType.HEAP && (name.equals("PS Eden Space") || name.equals("Eden Space"))) {
                return p;
            }
        }
        return null;
    }

    static long collections() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, gc.getCollectionCount());
        }
        return n;
    }
}
