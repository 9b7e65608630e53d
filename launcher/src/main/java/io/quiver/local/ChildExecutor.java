package io.quiver.local;

import io.quiver.QuiverException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An executor running as a child JVM ({@code quiver executor --parent-pid ...}). The child exits when its
 * stdin pipe from this JVM reaches EOF or this JVM's process is gone, so it never outlives its parent.
 * Its stdout and stderr go to a log file.
 */
final class ChildExecutor {
    private static final Logger LOG = LoggerFactory.getLogger(ChildExecutor.class);

    private final String id;
    private final Process process;
    private final Path log;

    private ChildExecutor(String id, Process process, Path log) {
        this.id = id;
        this.process = process;
        this.log = log;
    }

    /** Starts the child; the secret travels in its environment ({@code QUIVER_SECRET}), never on its command line. */
    static ChildExecutor launch(List<String> command, Path log, String id, String secret) {
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        // stdin stays a pipe: its EOF tells the child that the parent is gone.
        Map<String, String> env = builder.environment();
        env.remove("QUIVER_SECRET_FILE"); // it would win over QUIVER_SECRET: the child uses the cluster's secret
        if (secret.isEmpty()) {
            env.remove("QUIVER_SECRET");
        } else {
            env.put("QUIVER_SECRET", secret);
        }
        try {
            Process process = builder.start();
            LOG.debug("started child executor {} (pid {}), log {}", id, process.pid(), log);
            return new ChildExecutor(id, process, log);
        } catch (IOException e) {
            throw new QuiverException("cannot start child JVM for executor " + id + " with '" + command.get(0) + "': "
                    + e.getMessage() + "; check that this java is executable", e);
        }
    }

    String id() {
        return id;
    }

    Process process() {
        return process;
    }

    Path log() {
        return log;
    }

    /** Fails, quoting the end of its log, if the child has exited. */
    void checkAlive() {
        if (!process.isAlive()) {
            throw new QuiverException("executor " + id + " (child JVM, pid " + process.pid() + ") exited with code "
                    + process.exitValue() + " while it was starting; " + log + " ends with:"
                    + System.lineSeparator() + Files2.tail(log, 15));
        }
    }

    /** Asks the child to shut down cleanly: EOF on its stdin and SIGTERM. Returns at once. */
    void requestExit() {
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            // the pipe is already broken: the child is gone or going
        }
        process.destroy();
    }

    /** Waits for the child to exit after {@link #requestExit()}, killing it if it takes longer than {@code wait}. */
    void awaitExit(Duration wait) {
        if (!waitFor(wait)) {
            LOG.warn("child executor {} (pid {}) did not exit within {} ms; killing it", id, process.pid(), wait.toMillis());
            kill(wait);
        }
    }

    /** SIGKILL, then waits until the process is gone. */
    void kill(Duration wait) {
        process.destroyForcibly();
        if (!waitFor(wait)) {
            throw new QuiverException("child executor " + id + " (pid " + process.pid() + ") still runs " + wait.toMillis()
                    + " ms after SIGKILL");
        }
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            // nothing to flush to a dead process
        }
    }

    private boolean waitFor(Duration wait) {
        try {
            return process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuiverException("interrupted while waiting for child executor " + id + " to exit", e);
        }
    }
}
