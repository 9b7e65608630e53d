package io.quiver.process;

import io.quiver.cli.QuiverCli;
import java.io.IOException;
import java.io.InputStream;

/**
 * The main class of every child JVM of {@link TestingProcessCluster}: a watchdog, then the real
 * {@code quiver} command ({@link QuiverCli#main}) with the remaining arguments.
 *
 * <p>{@code quiver coordinator} has no {@code --parent-pid} (only {@code quiver executor} does), so
 * the watchdog lives here, for both kinds: the child exits when its stdin pipe from the test JVM
 * reaches EOF (the test JVM closed it or died, even by SIGKILL) or when the test JVM's process is
 * gone. A SIGSTOPped child is not affected until it is continued.
 *
 * <pre>java -cp ... io.quiver.process.TestingChildMain &lt;parent pid&gt; coordinator --zk ... --id coord-1</pre>
 */
public final class TestingChildMain {
    private TestingChildMain() {}

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: TestingChildMain <parent pid> <quiver command> [options...]");
            System.exit(2);
        }
        long parentPid = Long.parseLong(args[0]);
        Thread stdinWatch = new Thread(() -> {
            byte[] buffer = new byte[64];
            try (InputStream in = System.in) {
                while (in.read(buffer) >= 0) {
                    // the parent never writes; anything read is ignored
                }
            } catch (IOException e) {
                // a broken pipe means the same as EOF
            }
            System.err.println("TestingChildMain: the test JVM (pid " + parentPid + ") closed our stdin; exiting");
            Runtime.getRuntime().halt(0);
        }, "testing-parent-stdin-watch");
        stdinWatch.setDaemon(true);
        stdinWatch.start();
        ProcessHandle.of(parentPid).ifPresentOrElse(
                parent -> parent.onExit().thenRun(() -> Runtime.getRuntime().halt(0)),
                () -> Runtime.getRuntime().halt(0));
        String[] rest = new String[args.length - 1];
        System.arraycopy(args, 1, rest, 0, rest.length);
        QuiverCli.main(rest);
    }
}
