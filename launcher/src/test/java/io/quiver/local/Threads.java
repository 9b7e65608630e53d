package io.quiver.local;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** Threads a closed cluster may have left behind: those of ZooKeeper, Curator, Netty and Quiver itself. */
final class Threads {
    private static final List<String> OURS = List.of("quiver", "curator", "nioeventloop", "epolleventloop",
            "multithreadioeventloop", "nioservercxnfactory", "nioworkerthread", "sessiontracker", "syncthread",
            "processthread", "requestthrottler", "-eventthread", "-sendthread");

    private Threads() {}

    static List<String> leftOver() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .map(Thread::getName)
                .filter(name -> OURS.stream().anyMatch(name.toLowerCase(Locale.ROOT)::contains))
                .sorted()
                .collect(Collectors.toList());
    }
}
