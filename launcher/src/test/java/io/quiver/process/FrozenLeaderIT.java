package io.quiver.process;

import static org.awaitility.Awaitility.await;

import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.core.zk.Records.LeaderRecord;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 6: SIGSTOP the leader past its session, let the standby lead, then SIGCONT the old one. The
 * existing client moves to the new leader as soon as it is published: its pending refs complete
 * within a few seconds of the new leader, while the old one is still frozen. After SIGCONT, every
 * command the old leader sends is refused by the executors (their refusal lines are counted), it
 * logs that it stopped leading, {@code /leader} stays with the new one, and no task ran twice. The
 * new leader's event line shows the old leader's end with its epoch, and at least as many refused
 * stale commands as the executors logged (it reads their counters from their {@code /metrics}).
 */
class FrozenLeaderIT {
    static final int TASKS = 60;
    static final long TASK_MILLIS = 300;
    /** How soon after the new leader is published the client's pending refs must be done. */
    static final Duration CLIENT_MOVES_WITHIN = Duration.ofSeconds(5);
    /** How long the old leader stays frozen after the new one leads, at most, while the refs are awaited. */
    static final Duration FROZEN_AFTER_TAKEOVER = Duration.ofSeconds(15);
    static final String REFUSAL = "refusing a (Launch|Drop)";

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void aFrozenLeaderIsReplacedAndFencedAndTheClientMovesAtOnce() throws Exception {
        try (TestingProcessCluster cluster = TestingProcessCluster.builder("FrozenLeaderIT").coordinators(2)
                .executors(2).slotsPerExecutor(2).start();
             Quiver q = cluster.connect()) {
            String markers = cluster.markers().dir();
            List<Integer> items = IntStream.range(0, TASKS).boxed().toList();
            List<Ref<Long>> refs = q.map(i -> TestingTasks.square(markers, "f", i, TASK_MILLIS), items);
            await("some tasks through").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5))
                    .until(() -> cluster.markers().count("f-") >= 8 || refs.stream().allMatch(Ref::isDone));
            long epochBefore = cluster.epoch();
            String old = cluster.leaderId();
            List<String> executors = cluster.executorIds();
            long refusalsBefore = cluster.logLines(executors, REFUSAL);

            long frozenAt = System.nanoTime();
            cluster.sigstop(old);
            LeaderRecord next = cluster.awaitLeaderOtherThan(old, Duration.ofMillis(cluster.sessionTimeoutMillis() + 20_000));
            long takeover = (System.nanoTime() - frozenAt) / 1_000_000;

            // The old leader is still frozen while the client's refs are awaited.
            TestingRefs.Outcome<Long> whileFrozen = TestingRefs.await(refs, FROZEN_AFTER_TAKEOVER);
            long frozenFor = (System.nanoTime() - frozenAt) / 1_000_000;
            long contAt = System.nanoTime();
            cluster.sigcont(old);
            boolean steppedDown = true;
            try {
                await("the old leader to log that it stopped leading").atMost(Duration.ofSeconds(30))
                        .until(() -> cluster.logLines(old, "stops leading epoch " + epochBefore) > 0);
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                steppedDown = false;
            }
            long stepDown = (System.nanoTime() - contAt) / 1_000_000;
            TestingRefs.Outcome<Long> afterCont = TestingRefs.await(refs, Duration.ofSeconds(30));
            long refusals = cluster.logLines(executors, REFUSAL) - refusalsBefore;
            // The new leader's event line: the old leader's end as ZooKeeper showed it, and the
            // refusals the executors count in their /metrics, which its status server reads.
            String statusUrl = q.cluster().statusUrl();
            long refusedOnPage = -1;
            try {
                refusedOnPage = await("the refusals on the new leader's event line").atMost(Duration.ofSeconds(15))
                        .pollInterval(Duration.ofMillis(250)).until(() -> refusedOnPage(statusUrl), n -> n >= refusals);
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                refusedOnPage = refusedOnPage(statusUrl);
            }
            List<String> leaderEvents = events(statusUrl, "leader");
            long closedByNewerEpoch = cluster.logLines(old, "newer than ours");
            LeaderRecord leaderAfter = cluster.leader();
            TestingRefs.Outcome<Long> more = TestingRefs.await(
                    q.map(i -> TestingTasks.square(markers, "g", i, 0), List.of(1, 2, 3)), Duration.ofSeconds(30));

            int wrong = 0;
            for (int i = 0; i < TASKS; i++) {
                Long v = afterCont.values().get(i);
                if (v != null && v != (long) i * i) {
                    wrong++;
                }
            }
            var dup = cluster.markers().duplicates();
            List<String> lost = cluster.markers().lost(items.stream().map(i -> "f-" + i).toList());
            System.out.printf("FrozenLeaderIT: froze %s (epoch %d) after %d tasks; %s leads (epoch %d) %d ms later; "
                            + "while %s stayed frozen (%d ms in all), from the new leader: %s; SIGCONT: stepped down "
                            + "%s after %d ms, %d "
                            + "refusals in executor logs, %d connections it closed for a newer epoch; /leader after: %s; "
                            + "refs after SIGCONT: %s; %d wrong; dup %s; lost %d; new work: %s; %d refusals on the new leader's"
                            + " page; its leader events: %s%n",
                    old, epochBefore, cluster.markers().count("f-"), next.id(), next.epoch(), takeover, old, frozenFor,
                    whileFrozen, steppedDown ? "yes" : "NO", stepDown, refusals, closedByNewerEpoch, leaderAfter,
                    afterCont, wrong, dup, lost.size(), more, refusedOnPage, leaderEvents);

            long takeoverToDone = whileFrozen.millis(); // awaited from the moment the new leader was seen
            SoftAssertions soft = new SoftAssertions();
            soft.assertThat(whileFrozen.allOk()).as("pending refs done while the old leader was frozen: %s", whileFrozen)
                    .isTrue();
            soft.assertThat(takeoverToDone).as("ms from the new leader to the last pending ref done (old one frozen)")
                    .isLessThanOrEqualTo(CLIENT_MOVES_WITHIN.toMillis());
            soft.assertThat(takeover).as("takeover ms").isLessThanOrEqualTo(cluster.sessionTimeoutMillis() + 2_000L);
            soft.assertThat(steppedDown).as("%s logged 'stops leading epoch %s' after SIGCONT", old, epochBefore).isTrue();
            soft.assertThat(leaderAfter).as("/leader after SIGCONT").isNotNull();
            if (leaderAfter != null) {
                soft.assertThat(leaderAfter.id()).as("/leader after SIGCONT").isEqualTo(next.id());
                soft.assertThat(leaderAfter.epoch()).as("epoch after SIGCONT").isEqualTo(next.epoch());
            }
            soft.assertThat(afterCont.allOk()).as("every ref done: %s", afterCont).isTrue();
            soft.assertThat(wrong).as("wrong values").isZero();
            soft.assertThat(dup).as("tasks that ran more than once (a refused command would have run one again)").isEmpty();
            soft.assertThat(lost.size()).as("tasks that never ran (first: %s)", LeaderKillIT.first(lost)).isZero();
            soft.assertThat(more.allOk()).as("new work after the change: %s", more).isTrue();
            soft.assertThat(refusedOnPage).as("refusals on the new leader's event line (%s in executor logs)", refusals)
                    .isGreaterThanOrEqualTo(refusals);
            soft.assertThat(leaderEvents).as("the new leader's leader events")
                    .anyMatch(t -> t.contains("leader " + old + " (epoch " + epochBefore + ") ended"))
                    .anyMatch(t -> t.contains("leader " + next.id() + " took over with epoch " + next.epoch()));
            soft.assertAll();
        }
    }

    private static final java.util.regex.Pattern REFUSED_EVENT = java.util.regex.Pattern.compile("refused (\\d+) commands");

    /** Stale commands the executors refused, as the leader's event line adds them up. */
    static long refusedOnPage(String statusUrl) throws Exception {
        long n = 0;
        for (String text : events(statusUrl, "stale")) {
            java.util.regex.Matcher m = REFUSED_EVENT.matcher(text);
            if (m.find()) {
                n += Long.parseLong(m.group(1));
            }
        }
        return n;
    }

    /** The texts of the events of one kind in the leader's {@code /api/cluster}. */
    @SuppressWarnings("unchecked")
    static List<String> events(String statusUrl, String kind) throws Exception {
        java.net.http.HttpResponse<String> r = HTTP.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(statusUrl + "api/cluster")).timeout(Duration.ofSeconds(5)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            return List.of();
        }
        Map<String, Object> doc = (Map<String, Object>) io.quiver.core.json.Json.parse(r.body());
        return ((List<Map<String, Object>>) doc.get("events")).stream().filter(e -> kind.equals(e.get("kind")))
                .map(e -> String.valueOf(e.get("text"))).toList();
    }

    private static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5)).build();
}
