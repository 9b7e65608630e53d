package io.quiver.process;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Simulated hosts on one machine, for {@link MultiHostIT}; thread-safe. Each host has its own address
 * and runs its processes bound to it:
 *
 * <ul>
 *   <li>{@link Mode#NAMESPACES}: one Linux network namespace per host, made by
 *       {@code launcher/src/test/scripts/netns.sh} (a veth pair per host on a bridge; the root namespace, where the
 *       test runs, has an address on the bridge too). A host reaches another only through the bridge,
 *       and each namespace counts the bytes its {@code eth0} sent and received. Needs root and
 *       {@code ip}.</li>
 *   <li>{@link Mode#LOOPBACK}: addresses 127.0.0.2, 127.0.0.3, ... on the loopback interface (Linux
 *       routes all of 127/8 there), for a developer machine without privileges. Processes still bind
 *       their own address, but nothing separates their networks.</li>
 * </ul>
 *
 * <p>{@link #close()} (and a shutdown hook, if the JVM exits first) kills every process started here
 * with SIGKILL and removes the namespaces. Each process logs to {@code <dir>/<id>.log}.
 */
final class TestingHosts implements AutoCloseable {
    /** How hosts are simulated. */
    enum Mode { NAMESPACES, LOOPBACK }

    private static final long COMMAND_WAIT_SECONDS = 30;

    private final Mode mode;
    private final Path script;
    private final Path dir;
    private final String prefix;
    private final String rootAddress;
    private final Map<String, String> addresses;
    private final Map<String, Proc> processes = new LinkedHashMap<>();
    private final Thread shutdownHook = new Thread(this::cleanUp, "testing-hosts-exit");
    private boolean closed;

    /** One started process, the host it runs on and its log. */
    record Proc(String id, String host, Process process, Path log) {}

    private TestingHosts(Mode mode, Path script, Path dir, String prefix, String rootAddress, Map<String, String> addresses) {
        this.mode = mode;
        this.script = script;
        this.dir = dir;
        this.prefix = prefix;
        this.rootAddress = rootAddress;
        this.addresses = Map.copyOf(addresses);
    }

    /**
     * Makes one host per name: network namespaces if this process may, else loopback addresses (or
     * {@code quiver.multihost.mode=loopback|namespaces} forces one).
     *
     * @param script {@code netns.sh}
     * @param dir where processes log
     * @param names the hosts
     * @param why filled with why namespaces were not used, or left empty
     * @return the hosts, or {@code null} when neither way works here (then {@code why} says why)
     */
    static TestingHosts create(Path script, Path dir, List<String> names, StringBuilder why) {
        String forced = System.getProperty("quiver.multihost.mode", "");
        if (!forced.equals("loopback")) {
            String failure = tryNamespaces(script, names);
            if (failure == null) {
                return namespaces(script, dir, names);
            }
            why.append("network namespaces: ").append(failure);
            if (forced.equals("namespaces")) {
                return null;
            }
        } else {
            why.append("network namespaces: not tried (quiver.multihost.mode=loopback)");
        }
        String failure = tryLoopback(names.size());
        if (failure != null) {
            why.append("; loopback addresses: ").append(failure);
            return null;
        }
        Map<String, String> addresses = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            addresses.put(names.get(i), "127.0.0." + (i + 2));
        }
        TestingHosts hosts = new TestingHosts(Mode.LOOPBACK, script, dir, null, "127.0.0.1", addresses);
        Runtime.getRuntime().addShutdownHook(hosts.shutdownHook);
        return hosts;
    }

    /** The subnet and prefix of this run: per pid, so that two runs on one machine do not collide. */
    private static int subnet() {
        return (int) (ProcessHandle.current().pid() % 200) + 20;
    }

    private static String prefixOf() {
        return "qm" + subnet();
    }

    /** Null when namespaces can be made here, else why not. */
    private static String tryNamespaces(Path script, List<String> names) {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return "not Linux";
        }
        if (!Files.isRegularFile(script)) {
            return script + " is missing";
        }
        Result ip = run(List.of("ip", "netns", "list"));
        if (ip.code != 0) {
            return "`ip netns list` failed (" + ip.output.strip() + "); install iproute2";
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            return "not root (user " + System.getProperty("user.name") + ")";
        }
        String prefix = prefixOf();
        run(List.of("bash", script.toString(), "down", prefix)); // leftovers of a run killed earlier
        List<String> up = new ArrayList<>(List.of("bash", script.toString(), "up", prefix, "10.213." + subnet() + ".1/24"));
        for (int i = 0; i < names.size(); i++) {
            up.add(names.get(i) + "=" + namespaceAddress(i));
        }
        Result result = run(up);
        if (result.code != 0) {
            return "netns.sh up failed (" + result.output.strip() + ")";
        }
        return null;
    }

    private static String namespaceAddress(int i) {
        return "10.213." + subnet() + "." + (10 + i);
    }

    private static TestingHosts namespaces(Path script, Path dir, List<String> names) {
        Map<String, String> addresses = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            addresses.put(names.get(i), namespaceAddress(i));
        }
        TestingHosts hosts = new TestingHosts(Mode.NAMESPACES, script, dir, prefixOf(), "10.213." + subnet() + ".1", addresses);
        Runtime.getRuntime().addShutdownHook(hosts.shutdownHook);
        return hosts;
    }

    /** Null when this JVM can bind the loopback addresses, else why not. */
    private static String tryLoopback(int count) {
        for (int i = 0; i < count; i++) {
            String address = "127.0.0." + (i + 2);
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress(InetAddress.getByName(address), 0));
            } catch (IOException e) {
                return "cannot bind " + address + " (" + e.getMessage() + "); on macOS add it with "
                        + "`sudo ifconfig lo0 alias " + address + "`";
            }
        }
        return null;
    }

    Mode mode() {
        return mode;
    }

    /** The host's address, which its processes bind and publish. */
    String address(String host) {
        String a = addresses.get(host);
        checkArgument(a != null, "no host '%s'; hosts are %s", host, addresses.keySet());
        return a;
    }

    /** The address of the test's own JVM as the hosts see it (on the bridge, or 127.0.0.1). */
    String rootAddress() {
        return rootAddress;
    }

    /**
     * Starts {@code command} on {@code host} ({@code ip netns exec} for namespaces, which execs it, so
     * the process is the command itself), its output appended to {@code <dir>/<id>.log}.
     */
    synchronized Proc start(String host, String id, List<String> command, Map<String, String> env) {
        checkState(!closed, "the hosts are closed");
        checkArgument(!processes.containsKey(id), "a process '%s' was already started", id);
        address(host);
        List<String> cmd = new ArrayList<>();
        if (mode == Mode.NAMESPACES) {
            cmd.addAll(List.of("ip", "netns", "exec", prefix + "-" + host));
        }
        cmd.addAll(command);
        Path log = dir.resolve(id + ".log");
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        builder.environment().keySet().removeIf(k -> k.startsWith("QUIVER_"));
        builder.environment().putAll(env);
        try {
            Proc p = new Proc(id, host, builder.start(), log);
            processes.put(id, p);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + id + " on " + host + ": " + cmd, e);
        }
    }

    synchronized Proc process(String id) {
        Proc p = processes.get(id);
        checkArgument(p != null, "no process '%s'; started: %s", id, processes.keySet());
        return p;
    }

    synchronized List<Proc> processes() {
        return List.copyOf(processes.values());
    }

    /** SIGKILL of a process, waiting until it is gone. */
    void kill9(String id) {
        Process p = process(id).process();
        p.destroyForcibly();
        try {
            checkState(p.waitFor(15, TimeUnit.SECONDS), "%s still runs 15 s after SIGKILL", id);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while killing " + id, e);
        }
    }

    /** The process's log so far. */
    String log(String id) {
        try {
            return Files.readString(process(id).log(), StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            return ""; // a multi-byte character cut while the process writes; read again later
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Bytes the host's interface received and sent: {rx, tx}; null on loopback, where hosts share one. */
    long[] interfaceBytes(String host) {
        if (mode != Mode.NAMESPACES) {
            return null;
        }
        Result rx = run(List.of("ip", "netns", "exec", prefix + "-" + host, "cat", "/sys/class/net/eth0/statistics/rx_bytes"));
        Result tx = run(List.of("ip", "netns", "exec", prefix + "-" + host, "cat", "/sys/class/net/eth0/statistics/tx_bytes"));
        checkState(rx.code == 0 && tx.code == 0, "cannot read the counters of %s: %s %s", host, rx.output, tx.output);
        return new long[] {Long.parseLong(rx.output.strip()), Long.parseLong(tx.output.strip())};
    }

    /** The local addresses of the TCP sockets listening in the host's namespace ({@code ss -ltnH}). */
    List<String> listeningAddresses(String host) {
        checkState(mode == Mode.NAMESPACES, "listening sockets are per host only with namespaces");
        Result ss = run(List.of("ip", "netns", "exec", prefix + "-" + host, "ss", "-ltnH"));
        checkState(ss.code == 0, "ss failed in %s: %s", host, ss.output);
        List<String> local = new ArrayList<>();
        for (String line : ss.output.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4) {
                local.add(f[3]);
            }
        }
        return local;
    }

    /** Kills every process and removes the namespaces. Idempotent. Logs stay. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is exiting; the hook runs anyway
        }
        cleanUp();
    }

    private void cleanUp() {
        List<Proc> all;
        synchronized (this) {
            all = List.copyOf(processes.values());
        }
        for (Proc p : all) {
            p.process().destroyForcibly();
        }
        for (Proc p : all) {
            try {
                p.process().waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (mode == Mode.NAMESPACES) {
            Result down = run(List.of("bash", script.toString(), "down", prefix));
            if (down.code != 0) {
                System.err.println("TestingHosts: netns.sh down " + prefix + " failed: " + down.output);
            }
        }
    }

    private record Result(int code, String output) {}

    private static Result run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(COMMAND_WAIT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out: " + command);
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }
}
