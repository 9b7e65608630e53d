package io.quiver.local;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Threads a closed cluster may have left behind: those of ZooKeeper, Curator, Netty and Quiver itself
 * that were not running before it started (other tests in the same JVM may leak their own).
 */
final class Threads {
    private static final List<String> OURS = List.of("quiver", "curator", "nioeventloop", "epolleventloop",
            "multithreadioeventloop", "nioservercxnfactory", "nioworkerthread", "sessiontracker", "syncthread",
            "processthread", "requestthrottler", "-eventthread", "-sendthread");

    private Threads() {}

    static Set<Thread> running() {
        return Set.copyOf(Thread.getAllStackTraces().keySet());
    }

    static List<String> startedSince(Set<Thread> before) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .filter(t -> !before.contains(t))
                .map(Thread::getName)
                .filter(name -> OURS.stream().anyMatch(name.toLowerCase(Locale.ROOT)::contains))
                .sorted()
                .collect(Collectors.toList());
    }
}
