package io.quiver.core.zk;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** Znode contents: small {@code key=value} lines, readable with {@code zkCli get}. */
public final class Records {
    private Records() {}

    /** What {@code /leader} holds. */
    public record LeaderRecord(String id, String host, int port, int httpPort, long epoch) {
        public byte[] toBytes() {
            return encode(Map.of("id", id, "host", host, "port", String.valueOf(port), "httpPort",
                    String.valueOf(httpPort), "epoch", String.valueOf(epoch)));
        }

        public static LeaderRecord parse(byte[] data) {
            Map<String, String> m = decode(data);
            return new LeaderRecord(m.get("id"), m.get("host"), Integer.parseInt(m.get("port")),
                    Integer.parseInt(m.getOrDefault("httpPort", "0")), Long.parseLong(m.get("epoch")));
        }
    }

    /**
     * What {@code /executors/<id>} holds. {@code metricsPort} is the executor's Prometheus
     * {@code /metrics} port (0: none); {@code leaving} is set just before a graceful close, so the
     * leader logs the departure as intended rather than as a loss. Both are absent in records
     * written by older executors and parse as 0 and false.
     */
    public record ExecutorRecord(String id, String host, int port, int slots, long memoryLimit, int metricsPort,
                                 boolean leaving) {
        public ExecutorRecord(String id, String host, int port, int slots, long memoryLimit) {
            this(id, host, port, slots, memoryLimit, 0, false);
        }

        /** The same record, marked as leaving on purpose. */
        public ExecutorRecord leavingNow() {
            return new ExecutorRecord(id, host, port, slots, memoryLimit, metricsPort, true);
        }

        public byte[] toBytes() {
            Map<String, String> m = new java.util.HashMap<>(Map.of("id", id, "host", host, "port", String.valueOf(port),
                    "slots", String.valueOf(slots), "memoryLimit", String.valueOf(memoryLimit)));
            if (metricsPort > 0) {
                m.put("metricsPort", String.valueOf(metricsPort));
            }
            if (leaving) {
                m.put("leaving", "true");
            }
            return encode(m);
        }

        public static ExecutorRecord parse(byte[] data) {
            Map<String, String> m = decode(data);
            return new ExecutorRecord(m.get("id"), m.get("host"), Integer.parseInt(m.get("port")),
                    Integer.parseInt(m.get("slots")), Long.parseLong(m.get("memoryLimit")),
                    Integer.parseInt(m.getOrDefault("metricsPort", "0")), Boolean.parseBoolean(m.get("leaving")));
        }
    }

    static byte[] encode(Map<String, String> fields) {
        StringBuilder sb = new StringBuilder();
        new java.util.TreeMap<>(fields).forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static Map<String, String> decode(byte[] data) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : new String(data, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return m;
    }
}
