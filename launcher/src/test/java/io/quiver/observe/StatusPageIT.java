package io.quiver.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.KV;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.local.LocalCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The status page in a real browser: a headless Chromium, driven through WebDriver by the system's
 * chromedriver (Debian's {@code chromium} and {@code chromium-driver}, which {@code .ci/run}
 * installs), opens the leader's page of a running {@link LocalCluster} during a job and reads what
 * the page itself draws from {@code /api/cluster}: every executor id, the job's per-stage progress
 * rising, the broadcast with its replicas, the task stream, and, after {@code killLeader()}, the
 * leader change with its new epoch on the page the new leader serves. It saves screenshots as
 * {@code target/status-page.png} (during the job) and {@code target/status-page-failover.png}.
 *
 * <p>Without Chromium the test is skipped with the reason printed; under {@code CI=true} it fails
 * instead, since CI must run it.
 */
@Timeout(180)
class StatusPageIT {
    static final Path CHROMEDRIVER = Path.of(System.getProperty("quiver.test.chromedriver", "/usr/bin/chromedriver"));
    /** The real binary: Debian's /usr/bin/chromium is a shell wrapper that chromedriver need not go through. */
    static final Path CHROMIUM = Path.of(System.getProperty("quiver.test.chromium", "/usr/lib/chromium/chromium"));
    static final int PARTITIONS = 40;
    static final long TASK_MILLIS = 150;
    /** Held so that the level sticks: java.util.logging keeps loggers weakly. */
    static final java.util.logging.Logger SELENIUM_LOG = java.util.logging.Logger.getLogger("org.openqa.selenium");

    @Test
    void thePageShowsExecutorsProgressBroadcastsAndTheLeaderChange() throws Exception {
        WebDriver browser = browserOrSkip();
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2).coordinators(2)
                     .executorMemory(64L << 20));
             Quiver q = cluster.connect()) {
            List<String> ids = cluster.executorIds();
            long epoch = q.cluster().epoch();
            String url = q.cluster().statusUrl();
            Ref<long[]> pinned = q.scatter(new long[50_000], Scatter.broadcast());
            List<Integer> items = new ArrayList<>();
            for (int i = 0; i < PARTITIONS; i++) {
                items.add(i);
            }
            Ref<List<KV<Integer, Long>>> job = q.parallelize(items, PARTITIONS)
                    .map(pinned, (x, b) -> {
                        Thread.sleep(TASK_MILLIS);
                        return x + b.length * 0;
                    })
                    .mapToPair(x -> KV.of(x % 4, 1L)).reduceByKey(Long::sum).collectAsync();

            browser.get(url);
            // Every executor, as the page draws it.
            assertThat(texts(browser, "#executors tbody tr td:first-child")).containsAll(ids);
            assertThat(texts(browser, "#epoch")).containsExactly(Long.toString(epoch));

            // The job's first stage: its progress, read twice from the live page, rises.
            int first = await("the job's first stage under way on the page").atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(100)).until(() -> stageDone(browser, 0), d -> d >= 1);
            assertThat(first).as("first reading, before the stage is done").isLessThan(PARTITIONS);
            int second = await("the job's progress to rise on the page").atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(100)).until(() -> stageDone(browser, 0), d -> d > first);
            assertThat(second).isGreaterThan(first);
            assertThat(attrs(browser, "#jobs .job:first-child .stage .progress", "data-tasks"))
                    .as("both stages of the job, the first with one task per partition")
                    .hasSize(2).first().isEqualTo(Integer.toString(PARTITIONS));

            // The broadcast with its size and both replicas.
            String row = "#values tr[data-ref='" + pinned.id() + "']";
            assertThat(texts(browser, row)).singleElement().asString().contains("broadcast").contains("KiB");
            assertThat(texts(browser, row + " .replicas")).singleElement().asString().startsWith("2: ")
                    .contains(ids.get(0)).contains(ids.get(1));

            // The task stream of the last minute: a lane per executor, with the tasks that ended.
            await("tasks in the stream").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                    .until(() -> texts(browser, "#stream .lane i").size() >= 2);
            assertThat(texts(browser, "#stream .lane b")).containsAll(ids);
            assertThat(texts(browser, "#events li.ev-leader")).anyMatch(t -> t.contains("epoch " + epoch));
            assertThat(texts(browser, "#events li.ev-joined")).hasSizeGreaterThanOrEqualTo(ids.size());
            screenshot(browser, "status-page.png");

            // The leader goes; the page the new leader serves shows the change with the new epoch.
            String old = cluster.killLeader();
            // The old leader's page, still open, says it cannot reach its leader any more.
            await("the old page to say its leader is gone").atMost(Duration.ofSeconds(15))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> String.join("", texts(browser, "#stale")).contains("not reachable"));
            String next = await("a new leader").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> newLeaderUrl(q, url), u -> u != null);
            long newEpoch = q.cluster().epoch();
            assertThat(newEpoch).isGreaterThan(epoch);
            browser.get(next);
            String leader = cluster.leaderId();
            assertThat(leader).isNotEqualTo(old);
            assertThat(texts(browser, "#leader b:first-child")).containsExactly(leader);
            assertThat(texts(browser, "#epoch")).containsExactly(Long.toString(newEpoch));
            await("the leader change on the new leader's page").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> texts(browser, "#events li.ev-leader").stream()
                            .anyMatch(t -> t.contains(leader) && t.contains("epoch " + newEpoch)));
            // What the new leader learnt of the term before it: the old leader's id and epoch, from ZooKeeper.
            assertThat(texts(browser, "#events li.ev-leader"))
                    .anyMatch(t -> t.contains("leader " + old + " (epoch " + epoch + ") ended"));
            await("every executor on the new leader's page").atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> texts(browser, "#executors tbody tr td:first-child").containsAll(ids));
            Map<Integer, Long> counts = toMap(job.result(Duration.ofSeconds(60)));
            assertThat(counts).containsOnlyKeys(0, 1, 2, 3).containsValues(10L);
            // The job, re-sent by the client to the new leader, ends there, both stages complete.
            await("the job finished on the new leader's page").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> String.join("", texts(browser, "#jobs .job:first-child")).contains("finished"));
            assertThat(attrs(browser, "#jobs .job:first-child .stage .progress", "data-done"))
                    .containsExactly(Integer.toString(PARTITIONS), Integer.toString(PARTITIONS));
            screenshot(browser, "status-page-failover.png");
        } finally {
            browser.quit();
        }
    }

    private static Map<Integer, Long> toMap(List<KV<Integer, Long>> kvs) {
        Map<Integer, Long> m = new java.util.TreeMap<>();
        kvs.forEach(kv -> m.put(kv.key(), kv.value()));
        return m;
    }

    /** The new leader's page, once the client sees a leader other than the one at {@code oldUrl}. */
    private static String newLeaderUrl(Quiver q, String oldUrl) {
        String u = q.cluster().statusUrl();
        return u.isEmpty() || u.equals(oldUrl) ? null : u;
    }

    /** Tasks done in stage {@code index} of the newest job, as the page's progress bar says; -1 before it shows. */
    private static int stageDone(WebDriver browser, int index) {
        List<String> done = attrs(browser, "#jobs .job:first-child .stage .progress", "data-done");
        return done.size() <= index ? -1 : Integer.parseInt(done.get(index));
    }

    /**
     * The text of every element {@code css} matches, read in one script: the page redraws itself
     * every second, so elements found in one call may be gone by the next.
     */
    private static List<String> texts(WebDriver browser, String css) {
        return strings(((JavascriptExecutor) browser).executeScript(
                "return Array.from(document.querySelectorAll(arguments[0])).map(function(e){return e.textContent;});",
                css));
    }

    /** Attribute {@code name} of every element {@code css} matches, read in one script. */
    private static List<String> attrs(WebDriver browser, String css, String name) {
        return strings(((JavascriptExecutor) browser).executeScript(
                "var name=arguments[1];"
                        + "return Array.from(document.querySelectorAll(arguments[0])).map(function(e){return e.getAttribute(name);});",
                css, name));
    }

    private static List<String> strings(Object o) {
        return ((List<?>) o).stream().map(String::valueOf).toList();
    }

    private static void screenshot(WebDriver browser, String name) throws IOException {
        Path target = Path.of("target", name);
        Files.createDirectories(target.getParent());
        Path shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath();
        Files.copy(shot, target, StandardCopyOption.REPLACE_EXISTING);
        System.out.println("StatusPageIT: screenshot " + target.toAbsolutePath());
    }

    /**
     * A headless Chromium through the system chromedriver; the test is skipped (or fails under CI)
     * without them. Both paths are given, so Selenium Manager, which would look for a browser and a
     * driver on the network, never runs.
     */
    private static WebDriver browserOrSkip() throws IOException {
        String missing = !Files.isExecutable(CHROMEDRIVER) ? CHROMEDRIVER.toString()
                : !Files.isExecutable(CHROMIUM) ? CHROMIUM.toString() : null;
        if (missing != null) {
            String why = "StatusPageIT: " + missing + " not found; install Debian's chromium and chromium-driver"
                    + " (.ci/run does) or set -Dquiver.test.chromium / -Dquiver.test.chromedriver";
            System.out.println(why + (isCi() ? "" : "; skipped"));
            if (isCi()) {
                throw new AssertionError(why + "; CI must run the browser test");
            }
            Assumptions.abort(why);
        }
        SELENIUM_LOG.setLevel(Level.SEVERE); // e.g. no CDP bindings for this exact Chromium version: not used here
        Path driverLog = Path.of("target", "chromedriver.log");
        Files.createDirectories(driverLog.getParent());
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().withLogFile(driverLog.toFile()).build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // CI runs as root, where Chromium's sandbox cannot start; /dev/shm may be small in containers.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,880", "--no-first-run", "--disable-extensions");
        return new ChromeDriver(service, options);
    }

    private static boolean isCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }
}
