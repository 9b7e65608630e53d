package io.quiver.cli;

import io.quiver.core.net.Secret;
import io.quiver.core.net.Tls;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.executor.Executor;
import io.quiver.executor.ExecutorConfig;
import io.quiver.executor.HeapPretouch;
import io.quiver.local.ClusterRoot;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quiver executor}: registers with a cluster, runs its tasks and stores its blocks, until stopped. */
@Command(name = "executor", mixinStandardHelpOptions = true,
        description = {"Runs an executor (task slots, block store, data server) until stopped.",
                "Stops cleanly on Ctrl-C or SIGTERM."})
final class ExecutorCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorCommand.class);

    @Spec
    CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    ConfigOptions config;

    @Mixin
    TlsOptions tlsOptions;

    @Option(names = "--id", description = "Unique id in the cluster. Default: exec-<host>-<pid>.")
    String id;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Address of the data server, listened on and published to the cluster (so not 0.0.0.0). "
                    + "Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "0", description = "Data server port (0: any free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--metrics-port", defaultValue = "0",
            description = "Port of this executor's Prometheus /metrics (0: any free one; published in ZooKeeper)."
                    + " Default: ${DEFAULT-VALUE}.")
    int metricsPort;

    @Option(names = "--slots", required = true, paramLabel = "N", description = "Tasks run at once.")
    int slots;

    @Option(names = "--memory", required = true, paramLabel = "SIZE", converter = Sizes.Converter.class,
            description = "Block store memory before spilling, e.g. 512m, 2g. Give the JVM a larger -Xmx (about twice).")
    long memory;

    @Option(names = "--work-dir", paramLabel = "DIR",
            description = "Where blocks spill. Default: a temp dir deleted on exit.")
    Path workDir;

    @Option(names = "--classpath", paramLabel = "JARS",
            description = "User classes: jars and directories separated by the path separator (':' on Unix); "
                    + "DIR/* takes every jar in DIR.")
    String classpath;

    /** Set by LocalCluster for child executors: exit when that process is gone or closes our stdin. */
    @Option(names = "--parent-pid", hidden = true)
    Long parentPid;

    /**
     * Set by LocalCluster, which made the cluster's root znode before starting its children: the
     * executor skips the ZooKeeper session it would otherwise open to make sure of it (its connect
     * was about 50 ms of a child's start).
     */
    @Option(names = "--root-exists", hidden = true)
    boolean rootExists;

    @Override
    public Integer call() throws Exception {
        if (parentPid != null) {
            exitWithParent(parentPid);
        }
        ClusterUrl url = cluster.url(spec);
        String executorId = id != null ? id : QuiverCli.defaultId("exec");
        Options.checkId(spec, executorId);
        Options.checkPort(spec, port);
        if (slots < 1) {
            throw Options.invalid(spec, "--slots", "--slots must be >= 1, got " + slots);
        }
        if (memory < 1) {
            throw Options.invalid(spec, "--memory", "--memory must be at least 1 byte, got " + memory
                    + "; e.g. --memory 512m");
        }
        Options.checkPort(spec, "--metrics-port", metricsPort);
        ClassLoader classLoader = userClassLoader();
        Secret secret = cluster.secret();
        Options.checkAdvertisedHost(spec, host, secret);
        Tls tls = tlsOptions.tls(spec);
        long heap = Runtime.getRuntime().maxMemory();
        if (heap != Long.MAX_VALUE && memory > heap) {
            LOG.warn("--memory {} exceeds this JVM's heap ({}); start the JVM with a larger -Xmx (about twice --memory)",
                    Sizes.format(memory), Sizes.format(heap));
        }
        try (Lifetime lifetime = Lifetime.begin("quiver-executor")) {
            Path dir = workDir;
            if (dir == null) {
                dir = Files.createTempDirectory("quiver-executor-");
                lifetime.add(new TempDir(dir));
            } else {
                Files.createDirectories(dir);
            }
            if (classLoader instanceof URLClassLoader urls) {
                lifetime.add(urls);
            }
            if (!rootExists) {
                ClusterRoot.ensureExists(url, secret, 15_000);
            }
            Executor executor = lifetime.add(new Executor(new ExecutorConfig(url, executorId, host, port, slots, memory,
                    dir, secret, classLoader, metricsPort, tls)));
            executor.start();
            // This JVM is the executor's own: touch its young generation while the executor is idle,
            // so the first large values a job decodes here do not pay first-touch page faults.
            lifetime.add(HeapPretouch.start("quiver-" + executorId + "-pretouch", executor::idle));
            PrintWriter out = spec.commandLine().getOut();
            out.printf("executor %s running on %s:%d: %d slot%s, %s memory, work dir %s, cluster %s%s; metrics "
                    + "http://%s:%d/metrics; Ctrl-C to stop%n",
                    executorId, host, executor.port(), slots, slots == 1 ? "" : "s", Sizes.format(memory), dir, url,
                    (secret.isSet() ? ", secret set" : "") + (tls.isEnabled() ? ", TLS" : ""), host,
                    executor.metricsPort());
            out.flush();
            lifetime.awaitShutdown(executor.refusal());
        }
        return 0;
    }

    /** A URLClassLoader over {@code --classpath}, or the launcher's own loader without it. */
    private ClassLoader userClassLoader() {
        ClassLoader parent = ExecutorCommand.class.getClassLoader();
        if (classpath == null || classpath.isBlank()) {
            return parent;
        }
        List<URL> urls = new ArrayList<>();
        for (String entry : classpath.split(File.pathSeparator)) {
            if (entry.isBlank()) {
                continue;
            }
            try {
                if (entry.endsWith("/*") || entry.equals("*")) {
                    Path folder = Path.of(entry.substring(0, entry.length() - 1).isEmpty() ? "."
                            : entry.substring(0, entry.length() - 1));
                    if (!Files.isDirectory(folder)) {
                        throw Options.invalid(spec, "--classpath", "--classpath entry '" + entry
                                + "': " + folder + " is not a directory");
                    }
                    try (DirectoryStream<Path> jars = Files.newDirectoryStream(folder, "*.{jar,JAR}")) {
                        for (Path jar : jars) {
                            urls.add(jar.toUri().toURL());
                        }
                    }
                } else {
                    Path path = Path.of(entry);
                    if (!Files.exists(path)) {
                        throw Options.invalid(spec, "--classpath", "--classpath entry '" + entry
                                + "' does not exist; pass jars and directories separated by '" + File.pathSeparator + "'");
                    }
                    urls.add(path.toUri().toURL());
                }
            } catch (MalformedURLException e) {
                throw Options.invalid(spec, "--classpath", "--classpath entry '" + entry + "' is not a valid path");
            } catch (IOException e) {
                throw Options.invalid(spec, "--classpath", "--classpath entry '" + entry + "' cannot be read: "
                        + e.getMessage());
            }
        }
        return new URLClassLoader("quiver-user-classes", urls.toArray(URL[]::new), parent);
    }

    /**
     * A child of LocalCluster must never outlive it: exit when the parent's pipe to our stdin reaches EOF
     * (the parent closed it or died, even by SIGKILL) or when the parent process is gone.
     */
    private static void exitWithParent(long parentPid) {
        Thread stdinWatch = new Thread(() -> {
            byte[] buffer = new byte[256];
            try (InputStream in = System.in) {
                while (in.read(buffer) >= 0) {
                    // the parent never writes; anything read is ignored
                }
            } catch (IOException e) {
                // a broken pipe means the same as EOF
            }
            LOG.info("parent process {} closed our stdin; exiting", parentPid);
            System.exit(0);
        }, "quiver-parent-stdin-watch");
        stdinWatch.setDaemon(true);
        stdinWatch.start();
        ProcessHandle.of(parentPid).ifPresentOrElse(
                parent -> parent.onExit().thenRun(() -> {
                    LOG.info("parent process {} exited; exiting", parentPid);
                    System.exit(0);
                }),
                () -> {
                    LOG.info("parent process {} is already gone; exiting", parentPid);
                    System.exit(0);
                });
    }

    /** Deletes a temp work dir on close. */
    private record TempDir(Path dir) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            com.google.common.io.MoreFiles.deleteRecursively(dir, com.google.common.io.RecursiveDeleteOption.ALLOW_INSECURE);
        }
    }
}
