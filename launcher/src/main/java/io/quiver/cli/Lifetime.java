package io.quiver.cli;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lifetime of a long-running command: what it starts is closed, last started first, either when the
 * JVM shuts down (SIGTERM, Ctrl-C, {@code System.exit}) or when the command returns early with an error.
 */
final class Lifetime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Lifetime.class);

    private final Deque<AutoCloseable> resources = new ArrayDeque<>();
    private final CountDownLatch closed = new CountDownLatch(1);
    private final Thread hook;

    private Lifetime(String name) {
        this.hook = new Thread(this::closeAll, name + "-shutdown");
    }

    /** Registers the shutdown hook; add resources as they start. */
    static Lifetime begin(String name) {
        Lifetime lifetime = new Lifetime(name);
        Runtime.getRuntime().addShutdownHook(lifetime.hook);
        return lifetime;
    }

    /** Closes {@code resource} with this lifetime; returns it. */
    synchronized <T extends AutoCloseable> T add(T resource) {
        resources.push(resource);
        return resource;
    }

    /** Blocks until the shutdown hook has closed everything, i.e. until the JVM is exiting. */
    void awaitShutdown() throws InterruptedException {
        closed.await();
    }

    /**
     * Blocks until the JVM is exiting, or until {@code failure} completes: then throws what it
     * completed with, and the caller's try-with-resources closes what was started.
     */
    void awaitShutdown(CompletionStage<? extends RuntimeException> failure) throws InterruptedException {
        CompletableFuture<? extends RuntimeException> failed = failure.toCompletableFuture();
        failed.thenRun(closed::countDown);
        closed.await();
        RuntimeException e = failed.getNow(null);
        if (e != null) {
            throw e;
        }
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is exiting and the hook is running or has run
        }
        closeAll();
    }

    private void closeAll() {
        synchronized (this) {
            while (!resources.isEmpty()) {
                AutoCloseable resource = resources.pop();
                try {
                    resource.close();
                } catch (Exception e) {
                    LOG.warn("cannot close {}: {}", resource, e.toString());
                }
            }
        }
        closed.countDown();
    }
}
