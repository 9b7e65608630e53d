package io.quiver.core.net;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Netty's leak detector at {@link ResourceLeakDetector.Level#PARANOID} (every buffer tracked), with
 * its reports captured so that a test can fail on them instead of only logging them. Netty reports
 * a leak when a buffer that was never released is garbage-collected and a later allocation polls
 * the collected ones; {@link #assertNoLeaks} forces both. Thread-safe; one per JVM.
 */
final class TestingLeakDetector {
    private static final String LOGGER = ResourceLeakDetector.class.getName();
    private static final List<String> REPORTS = new ArrayList<>();
    private static final Object LOCK = new Object();
    private static boolean installed;

    private TestingLeakDetector() {}

    /** Sets PARANOID and starts capturing leak reports (once per JVM). */
    static void install() {
        synchronized (LOCK) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
            if (installed) {
                return;
            }
            Logger logger = (Logger) LoggerFactory.getLogger(LOGGER);
            logger.setLevel(Level.ERROR); // Netty reports nothing unless its logger's errors are enabled
            AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {
                @Override
                protected void append(ILoggingEvent event) {
                    if (event.getFormattedMessage().startsWith("LEAK:")) {
                        synchronized (LOCK) {
                            REPORTS.add(event.getFormattedMessage());
                        }
                    }
                }
            };
            appender.setName("testing-leak-detector");
            appender.setContext(logger.getLoggerContext());
            appender.start();
            logger.addAppender(appender);
            installed = true;
        }
    }

    /**
     * Drops the reports of buffers leaked before now (by tests that ran earlier in this JVM), so
     * that the next {@link #assertNoLeaks} sees only what ran after.
     */
    static void forgetEarlierLeaks() {
        install();
        System.gc();
        poll();
        synchronized (LOCK) {
            REPORTS.clear();
        }
    }

    /** Runs {@code action} with leak reports captured but not logged: for a test that leaks on purpose. */
    static void quietly(Runnable action) {
        install();
        Logger logger = (Logger) LoggerFactory.getLogger(LOGGER);
        logger.setAdditive(false);
        try {
            action.run();
        } finally {
            logger.setAdditive(true);
        }
    }

    /** Each tracked allocation drains Netty's queue of collected buffers, reporting the leaked ones. */
    private static void poll() {
        for (int i = 0; i < 4; i++) {
            ByteBuf a = PooledByteBufAllocator.DEFAULT.directBuffer(8);
            ByteBuf b = UnpooledByteBufAllocator.DEFAULT.heapBuffer(8);
            a.release();
            b.release();
        }
    }

    /**
     * Collects garbage, makes Netty poll what was collected, and fails with Netty's reports (where
     * each leaked buffer was allocated and last touched) if any buffer leaked since the last call.
     *
     * @param what which inputs ran since the last check, for the message
     * @throws AssertionError with the reports
     */
    static void assertNoLeaks(String what) {
        install();
        List<String> found = List.of();
        for (int round = 0; round < 3 && found.isEmpty(); round++) {
            // Collects the unreleased buffers; the reference handler thread then queues their weak
            // references. A sentinel collected by the same GC tells when it has got that far.
            java.lang.ref.ReferenceQueue<Object> queue = new java.lang.ref.ReferenceQueue<>();
            java.lang.ref.WeakReference<Object> sentinel = new java.lang.ref.WeakReference<>(new Object(), queue);
            System.gc();
            try {
                if (queue.remove(10_000) == null) {
                    throw new AssertionError("no garbage collection within 10 s while checking for leaks");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while checking for leaks", e);
            }
            java.lang.ref.Reference.reachabilityFence(sentinel);
            poll();
            synchronized (LOCK) {
                found = List.copyOf(REPORTS);
                REPORTS.clear();
            }
        }
        if (!found.isEmpty()) {
            throw new AssertionError(found.size() + " buffer leak(s) reported by Netty's paranoid leak detector after "
                    + what + ":\n" + String.join("\n\n", found));
        }
    }
}
