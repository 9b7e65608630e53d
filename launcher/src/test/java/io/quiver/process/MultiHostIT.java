package io.quiver.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.ExecutorRecord;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import io.quiver.multihost.MultiHostApp;
import io.quiver.process.TestingHosts.Proc;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.KeeperException;
import org.assertj.core.api.SoftAssertions;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 7: a cluster deployed as a user would, on simulated hosts ({@link TestingHosts}: a Linux
 * network namespace each, or loopback addresses 127.0.0.2-9 without privileges). ZooKeeper is the one
 * of Debian's {@code zookeeper} package when it is installed ({@code .ci/run} installs it), else
 * {@code quiver zookeeper}; two coordinators and three executors are {@code bin/quiver} processes,
 * each on its own host, bound to its address, with one secret file and no {@code --classpath}. From a
 * client host, {@code quiver submit} runs {@link MultiHostApp}, whose classes exist only in the app jar
 * the test packs, so executors get them by code shipping:
 *
 * <ol>
 *   <li>the demo (a broadcast, 1,500 submits, gather), during which the leader is killed with SIGKILL:
 *       every result comes back right under the standby;</li>
 *   <li>a fourth executor host joins late: the broadcast reaches it and it takes tasks;</li>
 *   <li>the README's word count, checked against counts made here.</li>
 * </ol>
 *
 * <p>It prints where tasks ran per host and the bytes each host's interface moved. Logs are in
 * {@code target/process-logs/MultiHostIT/}.
 */
class MultiHostIT {
    private static final List<String> HOSTS = List.of("zk", "coord1", "coord2", "exec1", "exec2", "exec3", "exec4",
            "client");
    private static final int TASKS = 1500;
    private static final int SESSION_MILLIS = 4000;
    private static final Duration START_WAIT = Duration.ofSeconds(60);
    private static final Duration JOB_WAIT = Duration.ofSeconds(60);
    private static final Pattern PROGRESS = Pattern.compile("(?m)^PROGRESS (\\d+)$");
    private static final Path DEBIAN_ZOOKEEPER = Path.of("/usr/share/java/zookeeper.jar");
    private static final Path DEBIAN_SLF4J_SIMPLE = Path.of("/usr/share/java/slf4j-simple.jar");

    private final Set<String> mayExit = new HashSet<>();
    private TestingHosts hosts;

    @Test
    @Timeout(value = 170, unit = TimeUnit.SECONDS)
    void aClusterOnSeparateHostsRunsShippedCodeThroughALeaderKillAndALateExecutor() throws Exception {
        long t0 = System.nanoTime();
        Path dir = Path.of(System.getProperty("quiver.processLogs", "target/process-logs")).resolve("MultiHostIT")
                .toAbsolutePath();
        if (Files.exists(dir)) {
            com.google.common.io.MoreFiles.deleteRecursively(dir, com.google.common.io.RecursiveDeleteOption.ALLOW_INSECURE);
        }
        Files.createDirectories(dir);
        Path repo = repository();
        Path quiver = repo.resolve("bin/quiver");
        Path allJar = repo.resolve("launcher/target/launcher-0.1.0-SNAPSHOT-all.jar");
        assertThat(allJar).as("the runnable jar that bin/quiver runs; build it with mvn package").isRegularFile();

        StringBuilder why = new StringBuilder();
        hosts = TestingHosts.create(repo.resolve("launcher/src/test/scripts/netns.sh"), dir, HOSTS, why);
        if (hosts == null) {
            // Said on the console too: a skipped multi-host test must not pass unnoticed.
            System.out.println("MultiHostIT: SKIPPED, cannot simulate hosts on this machine: " + why);
        }
        Assumptions.assumeTrue(hosts != null, () -> "MultiHostIT cannot simulate hosts on this machine: " + why);
        try (TestingHosts h = hosts) {
            System.out.printf("MultiHostIT: hosts as %s%s: %s%n", h.mode(), why.isEmpty() ? "" : " (" + why + ")",
                    HOSTS.stream().map(n -> n + "=" + h.address(n)).toList());
            run(dir, quiver, t0);
        }
    }

    private void run(Path dir, Path quiver, long t0) throws Exception {
        Path secret = dir.resolve("secret");
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Files.writeString(secret, Base64.getEncoder().encodeToString(key) + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Path appJar = appJar(dir);
        Path corpus = dir.resolve("corpus.txt");
        Map<String, Long> expectedCounts = writeCorpus(corpus);
        Path control = Files.createDirectories(dir.resolve("control"));

        // ZooKeeper on its host.
        String zkAddress = hosts.address("zk");
        int zkPort = hosts.mode() == TestingHosts.Mode.NAMESPACES ? 2181 : freePort(zkAddress);
        String zkKind = startZooKeeper(dir, quiver, secret, zkAddress, zkPort);
        ClusterUrl url = ClusterUrl.parse("zk://" + zkAddress + ":" + zkPort + "/quiver");
        // The test watches with the secret: with one, every znode is closed to anyone without it.
        CuratorFramework zk = Zk.start(url, io.quiver.core.net.Secret.fromFile(secret), START_WAIT.toMillis());
        try {
            long zkUp = System.nanoTime();
            System.out.printf("MultiHostIT: ZooKeeper (%s) up at %s after %d ms%n", zkKind, url, ms(zkUp - t0));

            // coord-1 leads first, so that the test knows whom it kills.
            String s = secret.toString();
            startQuiver(quiver, "coord1", "coord-1", 256, "coordinator", "--zk", url.toString(), "--id", "coord-1",
                    "--host", hosts.address("coord1"), "--secret-file", s);
            LeaderRecord first = awaitValue("coord-1 to lead", START_WAIT, () -> {
                LeaderRecord r = leader(zk);
                return r != null && r.id().equals("coord-1") ? r : null;
            });
            startQuiver(quiver, "coord2", "coord-2", 256, "coordinator", "--zk", url.toString(), "--id", "coord-2",
                    "--host", hosts.address("coord2"), "--secret-file", s);
            for (int i = 1; i <= 3; i++) {
                startExecutor(quiver, url, s, dir, i);
            }
            awaitTrue("exec-1..3 to register and coord-2 to join the election", START_WAIT,
                    () -> children(zk, ZkPaths.EXECUTORS).containsAll(List.of("exec-1", "exec-2", "exec-3"))
                            && children(zk, ZkPaths.LEADER_LATCH).size() == 2);
            long clusterUp = System.nanoTime();
            System.out.printf("MultiHostIT: 2 coordinators and 3 executors up after %d ms%n", ms(clusterUp - t0));

            SoftAssertions soft = new SoftAssertions();
            soft.assertThat(first.host()).as("the address coord-1 published in /leader").isEqualTo(hosts.address("coord1"));
            for (int i = 1; i <= 3; i++) {
                ExecutorRecord r = ExecutorRecord.parse(zk.getData().forPath(ZkPaths.EXECUTORS + "/exec-" + i));
                soft.assertThat(r.host()).as("the address exec-%s published", i).isEqualTo(hosts.address("exec" + i));
            }
            // A standby coordinator listens only once it leads: coord2 is checked after the takeover.
            checkListening(soft, "zk", "coord1", "exec1", "exec2", "exec3");

            // (1) The demo from the client host; the leader is killed while it runs.
            Proc demo = startQuiver(quiver, "client", "client-demo", 384, "submit", "--zk", url.toString(),
                    "--secret-file", s, "--class", MultiHostApp.class.getName(), appJar.toString(),
                    "demo", control.toString(), String.valueOf(TASKS), "1");
            mayExit.add("client-demo");
            int atKill = awaitValue("the demo to finish a fifth of its tasks", JOB_WAIT, () -> {
                checkRunning(demo);
                int p = progress(hosts.log("client-demo"));
                return p >= TASKS / 5 ? p : null;
            });
            String leader = leader(zk).id();
            mayExit.add(leader);
            long killAt = System.nanoTime();
            hosts.kill9(leader);
            LeaderRecord next = awaitValue("a leader other than " + leader, JOB_WAIT, () -> {
                LeaderRecord r = leader(zk);
                return r != null && !r.id().equals(leader) ? r : null;
            });
            long takeover = ms(System.nanoTime() - killAt);
            System.out.printf("MultiHostIT: kill -9 of leader %s after %d of %d tasks; %s (%s) leads with epoch %d "
                    + "after %d ms%n", leader, atKill, TASKS, next.id(), next.host(), next.epoch(), takeover);

            // (2) A late executor host, once the demo's tasks are done and its broadcast waits for it.
            awaitTrue("the demo to finish its tasks and wait for a new executor", JOB_WAIT, () -> {
                checkRunning(demo);
                return Files.exists(control.resolve("demo-waits-for-joiners"));
            });
            long joinAt = System.nanoTime();
            startExecutor(quiver, url, s, dir, 4);
            awaitTrue("exec-4 to register", START_WAIT, () -> children(zk, ZkPaths.EXECUTORS).contains("exec-4"));
            System.out.printf("MultiHostIT: exec-4 registered %d ms after it was started%n", ms(System.nanoTime() - joinAt));
            ExecutorRecord fourth = ExecutorRecord.parse(zk.getData().forPath(ZkPaths.EXECUTORS + "/exec-4"));
            soft.assertThat(fourth.host()).as("the address exec-4 published").isEqualTo(hosts.address("exec4"));
            checkListening(soft, "coord2", "exec4");
            awaitExit(demo, JOB_WAIT);
            String demoLog = hosts.log("client-demo");
            long demoDone = System.nanoTime();

            // (3) The word count, from the client host again.
            Proc wc = startQuiver(quiver, "client", "client-wordcount", 384, "submit", "--zk", url.toString(),
                    "--secret-file", s, "--class", MultiHostApp.class.getName(), appJar.toString(),
                    "wordcount", corpus.toString(), "6");
            mayExit.add("client-wordcount");
            awaitExit(wc, JOB_WAIT);
            String wcLog = hosts.log("client-wordcount");
            long wcDone = System.nanoTime();

            report(demoLog, takeover, appJar, t0, clusterUp, demoDone, wcDone);

            soft.assertThat(demo.process().exitValue()).as("exit code of the demo's quiver submit; see %s", demo.log())
                    .isZero();
            soft.assertThat(atKill).as("tasks done when the leader was killed (the kill must come mid-job)")
                    .isLessThan(TASKS);
            soft.assertThat(line(demoLog, "DEMO")).as("DEMO <tasks> <wrong values>").isEqualTo(TASKS + " 0");
            Map<String, Integer> demoRan = ran(demoLog, "DEMO-RAN");
            soft.assertThat(demoRan.values().stream().mapToInt(Integer::intValue).sum()).as("demo results, by executor")
                    .isEqualTo(TASKS);
            soft.assertThat(demoRan.keySet()).as("executors that ran demo tasks").contains("exec-1", "exec-2", "exec-3");
            soft.assertThat(next.id()).as("the new leader").isEqualTo("coord-2");
            soft.assertThat(next.host()).as("the address coord-2 published").isEqualTo(hosts.address("coord2"));
            soft.assertThat(lines(demoLog, "LEADER")).as("the leader the demo saw, first and last").first()
                    .isEqualTo("coord-1 " + first.epoch());
            soft.assertThat(lines(demoLog, "LEADER")).last().isEqualTo("coord-2 " + next.epoch());
            soft.assertThat(line(demoLog, "BROADCAST-REACHED")).as("the broadcast's locations once exec-4 joined")
                    .contains("exec-4");
            soft.assertThat(ran(demoLog, "LATER-RAN")).as("tasks after exec-4 joined, by executor")
                    .containsKey("exec-4");
            soft.assertThat(line(demoLog, "LATER")).as("LATER <tasks> <wrong values>").endsWith(" 0");
            for (String e : lines(demoLog, "EXECUTOR")) {
                String[] f = e.split(" ");
                soft.assertThat(f[1]).as("the address the client saw for %s", f[0])
                        .isEqualTo(hosts.address("exec" + f[0].substring("exec-".length())));
            }
            soft.assertThat(wc.process().exitValue()).as("exit code of the word count's quiver submit; see %s", wc.log())
                    .isZero();
            soft.assertThat(wordCounts(wcLog)).as("the word count").isEqualTo(expectedCounts);
            soft.assertAll();
        } finally {
            zk.close();
        }
    }

    /** With namespaces: each host listens, and only on its own address (not 0.0.0.0, not loopback). */
    private void checkListening(SoftAssertions soft, String... names) {
        if (hosts.mode() != TestingHosts.Mode.NAMESPACES) {
            return; // on loopback every address is this machine's: ss cannot tell the hosts apart
        }
        for (String host : names) {
            String address = hosts.address(host);
            soft.assertThat(hosts.listeningAddresses(host)).as("sockets listening on host %s (ss -ltn)", host)
                    .isNotEmpty().allMatch(a -> a.startsWith(address + ":") || a.startsWith("[::ffff:" + address + "]:"));
        }
    }

    // ------------------------------------------------------------------ processes

    private String startZooKeeper(Path dir, Path quiver, Path secret, String address, int port) throws IOException {
        boolean forced = "quiver".equals(System.getProperty("quiver.multihost.zookeeper"));
        if (forced || !Files.isRegularFile(DEBIAN_ZOOKEEPER)) {
            startQuiver(quiver, "zk", "zookeeper", 256, "zookeeper", "--host", address, "--port", String.valueOf(port),
                    "--secret-file", secret.toString(), "--dir", dir.resolve("zookeeper-data").toString());
            return "quiver zookeeper, as " + (forced ? "quiver.multihost.zookeeper=quiver asks"
                    : DEBIAN_ZOOKEEPER + " (Debian's zookeeper package, which .ci/run installs) is missing");
        }
        Path cfg = dir.resolve("zoo.cfg");
        // tickTime 500 ms allows sessions of 1-10 s, so the cluster's 4 s ones; no admin server (it would
        // listen on 0.0.0.0:8080).
        Files.writeString(cfg, String.join("\n",
                "tickTime=500",
                "dataDir=" + dir.resolve("zookeeper-data"),
                "clientPort=" + port,
                "clientPortAddress=" + address,
                "admin.enableServer=false",
                "") );
        String cp = DEBIAN_ZOOKEEPER + (Files.isRegularFile(DEBIAN_SLF4J_SIMPLE) ? ":" + DEBIAN_SLF4J_SIMPLE : "");
        hosts.start("zk", "zookeeper", List.of(java(), "-Xmx128m", "-XX:+UseSerialGC", "-cp", cp,
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg.toString()), Map.of());
        return "Debian's zookeeper package, " + DEBIAN_ZOOKEEPER.toRealPath().getFileName();
    }

    private void startExecutor(Path quiver, ClusterUrl url, String secret, Path dir, int n) {
        startQuiver(quiver, "exec" + n, "exec-" + n, 256, "executor", "--zk", url.toString(), "--id", "exec-" + n,
                "--host", hosts.address("exec" + n), "--slots", "2", "--memory", "64m",
                "--work-dir", dir.resolve("exec-" + n + "-work").toString(), "--secret-file", secret);
    }

    /** {@code bin/quiver ARGS} on the host, as a user would start it; JVM options through QUIVER_OPTS. */
    private Proc startQuiver(Path quiver, String host, String id, int heapMiB, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(quiver.toString());
        cmd.addAll(List.of(args));
        Map<String, String> env = new LinkedHashMap<>();
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("QUIVER_OPTS", "-Xmx" + heapMiB + "m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
                + " -Dquiver.zk.sessionTimeoutMs=" + SESSION_MILLIS + " -Dquiver.executorGraceMs=2000");
        return hosts.start(host, id, cmd, env);
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The repository: the first directory up from here with bin/quiver. */
    private static Path repository() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isExecutable(p.resolve("bin/quiver"))) {
                return p;
            }
        }
        throw new AssertionError("no bin/quiver in " + Path.of("").toAbsolutePath() + " or above");
    }

    private static int freePort(String address) throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(address), 0));
            return s.getLocalPort();
        }
    }

    private void checkRunning(Proc p) {
        if (!p.process().isAlive()) {
            throw new AssertionError(p.id() + " exited with " + p.process().exitValue() + " too early; its log:\n"
                    + hosts.log(p.id()));
        }
    }

    private void awaitExit(Proc p, Duration atMost) {
        awaitTrue(p.id() + " to exit", atMost, () -> !p.process().isAlive());
    }

    // ------------------------------------------------------------------ waiting

    private void awaitTrue(String what, Duration atMost, Callable<Boolean> condition) {
        awaitValue(what, atMost, () -> condition.call() ? Boolean.TRUE : null);
    }

    /** Polls {@code value} until it is non-null; fails at once when a process dies that should not. */
    private <T> T awaitValue(String what, Duration atMost, Callable<T> value) {
        Object[] seen = new Object[1];
        try {
            Awaitility.await(what).atMost(atMost).pollInterval(Duration.ofMillis(10)).ignoreExceptions()
                    .until(() -> {
                        for (Proc p : hosts.processes()) {
                            if (!p.process().isAlive() && !mayExit.contains(p.id())) {
                                throw new AssertionError(p.id() + " on " + p.host() + " exited with "
                                        + p.process().exitValue() + " while waiting for " + what + "; see " + p.log());
                            }
                        }
                        seen[0] = value.call();
                        return seen[0] != null;
                    });
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("waited " + atMost.toMillis() + " ms for " + what + "; logs in "
                    + hosts.processes().stream().map(p -> p.log().getParent()).findFirst().orElse(null), e);
        }
        @SuppressWarnings("unchecked")
        T t = (T) seen[0];
        return t;
    }

    private static LeaderRecord leader(CuratorFramework zk) throws Exception {
        try {
            return LeaderRecord.parse(zk.getData().forPath(ZkPaths.LEADER));
        } catch (KeeperException.NoNodeException e) {
            return null;
        }
    }

    private static List<String> children(CuratorFramework zk, String path) throws Exception {
        try {
            return zk.getChildren().forPath(path);
        } catch (KeeperException.NoNodeException e) {
            return List.of();
        }
    }

    // ------------------------------------------------------------------ the app's input and output

    /** The app jar: the classes of {@link MultiHostApp}'s package only, which no executor has. */
    private static Path appJar(Path dir) throws Exception {
        Path classes = Path.of(MultiHostApp.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        String pkg = MultiHostApp.class.getPackageName().replace('.', '/');
        Path jar = dir.resolve("multihost-app.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
             Stream<Path> files = Files.walk(classes.resolve(pkg))) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                out.write(Files.readAllBytes(f));
                out.closeEntry();
            }
        }
        return jar;
    }

    /** A corpus of 4,000 lines drawn from 40 words and the stop words; returns the counts it should give. */
    private static Map<String, Long> writeCorpus(Path file) throws IOException {
        List<String> words = new ArrayList<>(List.of("the", "a", "of"));
        for (int i = 0; i < 40; i++) {
            words.add("w" + Integer.toString(i * 7919, 36));
        }
        Random random = new Random(7);
        Map<String, Long> counts = new TreeMap<>();
        StringBuilder text = new StringBuilder();
        for (int line = 0; line < 4000; line++) {
            int n = 1 + random.nextInt(12);
            for (int i = 0; i < n; i++) {
                String w = words.get(random.nextInt(words.size()));
                text.append(i == 0 ? "" : " ").append(w);
                if (!MultiHostApp.STOP_WORDS.contains(w)) {
                    counts.merge(w, 1L, Long::sum);
                }
            }
            text.append('\n');
        }
        Files.writeString(file, text);
        return counts;
    }

    private static int progress(String log) {
        Matcher m = PROGRESS.matcher(log);
        int last = -1;
        while (m.find()) {
            last = Integer.parseInt(m.group(1));
        }
        return last;
    }

    /** The values of the lines that start with {@code word + " "}, in order. */
    private static List<String> lines(String log, String word) {
        List<String> out = new ArrayList<>();
        for (String l : log.split("\n")) {
            if (l.startsWith(word + " ")) {
                out.add(l.substring(word.length() + 1).strip());
            }
        }
        return out;
    }

    private static String line(String log, String word) {
        List<String> all = lines(log, word);
        return all.isEmpty() ? "(no " + word + " line)" : all.get(all.size() - 1);
    }

    private static Map<String, Integer> ran(String log, String word) {
        Map<String, Integer> ran = new TreeMap<>();
        for (String l : lines(log, word)) {
            String[] f = l.split(" ");
            ran.put(f[0], Integer.parseInt(f[1]));
        }
        return ran;
    }

    private static Map<String, Long> wordCounts(String log) {
        Map<String, Long> counts = new TreeMap<>();
        for (String l : lines(log, "WC")) {
            String[] f = l.split(" ");
            counts.put(f[0], Long.parseLong(f[1]));
        }
        return counts;
    }

    // ------------------------------------------------------------------ the report

    private void report(String demoLog, long takeover, Path appJar, long t0, long clusterUp, long demoDone, long wcDone)
            throws IOException {
        Map<String, Integer> demo = ran(demoLog, "DEMO-RAN");
        Map<String, Integer> later = ran(demoLog, "LATER-RAN");
        StringBuilder r = new StringBuilder();
        r.append(String.format(Locale.ROOT, "MultiHostIT locality report (%s; app jar %,d bytes shipped by the client):%n",
                hosts.mode(), Files.size(appJar)));
        r.append(String.format(Locale.ROOT, "  %-8s %-14s %-9s %12s %12s %14s %14s%n", "host", "address", "process",
                "demo tasks", "after join", "rx bytes", "tx bytes"));
        for (Proc p : hosts.processes()) {
            if (p.id().startsWith("client-wordcount")) {
                continue; // same host as client-demo
            }
            long[] bytes = hosts.interfaceBytes(p.host());
            String rx = bytes == null ? "n/a" : String.format(Locale.ROOT, "%,d", bytes[0]);
            String tx = bytes == null ? "n/a" : String.format(Locale.ROOT, "%,d", bytes[1]);
            boolean exec = p.id().startsWith("exec-");
            r.append(String.format(Locale.ROOT, "  %-8s %-14s %-9s %12s %12s %14s %14s%n", p.host(),
                    p.id().startsWith("client") && hosts.mode() == TestingHosts.Mode.LOOPBACK ? "127.0.0.1"
                            : hosts.address(p.host()), p.id().startsWith("client") ? "client" : p.id(),
                    exec ? String.valueOf(demo.getOrDefault(p.id(), 0)) : "",
                    exec ? String.valueOf(later.getOrDefault(p.id(), 0)) : "", rx, tx));
        }
        r.append(String.format(Locale.ROOT, "  broadcast 4 MiB to 3 executors, then to exec-4 from a peer: %s%n",
                line(demoLog, "BROADCAST-REACHED")));
        r.append(String.format(Locale.ROOT, "  leader takeover %d ms after kill -9; phases: cluster up %d ms, demo + join "
                        + "%d ms, word count %d ms, total %d ms%n", takeover, ms(clusterUp - t0), ms(demoDone - clusterUp),
                ms(wcDone - demoDone), ms(System.nanoTime() - t0)));
        System.out.print(r);
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}
