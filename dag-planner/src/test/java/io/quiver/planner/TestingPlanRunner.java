package io.quiver.planner;

import io.quiver.QuiverException;
import io.quiver.RefId;
import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.plan.ShuffleOutput;
import io.quiver.core.plan.LogicalPlan;
import io.quiver.core.task.TaskContext;
import io.quiver.core.task.TaskFunction;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs a job in this JVM the way the cluster would, minus the network: ships the logical plan
 * through its byte form, plans it, and runs each stage's tasks by calling the stage function
 * directly. Everything that would cross a process boundary does here too: the stage function is
 * Java-serialized and deserialized once per simulated executor, and every inline input, pinned
 * value and task output goes through {@link JavaSerialization}. Tasks of a stage run concurrently
 * on a small pool, sharing one function instance per executor, as on an executor with slots.
 *
 * <p>Placement: a task runs on its first preferred executor, else on executor {@code partition %
 * n}. Pinned non-broadcast bytes read on an executor that does not hold them are counted in
 * {@link #pinnedBytesFetched()}.
 */
public final class TestingPlanRunner implements AutoCloseable {

    /** Where pinned values come from: the testing block store. */
    public interface PinnedValues {
        Object value(RefId ref);
    }

    /** A finished job: the final stage's outputs, and each persisted node's partitions with their executors. */
    public record Run(PhysicalPlan plan, List<Object> outputs, Map<Integer, List<Object>> persistedValues,
            Map<Integer, List<String>> persistedExecutors) {}

    private final ExecutorService pool = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "testing-task");
        t.setDaemon(true);
        return t;
    });
    private final AtomicLong pinnedBytesFetched = new AtomicLong();
    private final AtomicLong tasksRun = new AtomicLong();

    public long pinnedBytesFetched() {
        return pinnedBytesFetched.get();
    }

    public long tasksRun() {
        return tasksRun.get();
    }

    public Run run(LogicalPlan logical, ClusterView view, PinnedValues pinned) {
        LogicalPlan shipped = LogicalPlan.fromBytes(logical.toBytes());
        PhysicalPlan plan = Planner.plan(shipped, view);
        Map<Long, byte[]> outputs = new ConcurrentHashMap<>();
        Map<Integer, String> ranOn = new HashMap<>(); // for PERSIST stages: task -> executor, key stage<<20|partition
        List<String> executors = view.executors();
        for (Stage stage : plan.stages()) {
            checkParentsDone(plan, stage, outputs);
            byte[] functionBytes = JavaSerialization.serialize(stage.function(), "stage " + stage.id());
            Map<String, TaskFunction> perExecutor = new ConcurrentHashMap<>();
            List<Future<?>> futures = new ArrayList<>();
            for (TaskSpec task : stage.tasks()) {
                String executor = task.preferredExecutors().isEmpty()
                        ? executors.get(task.partition() % executors.size()) : task.preferredExecutors().get(0);
                if (stage.kind() == Stage.Kind.PERSIST) {
                    ranOn.put(stage.id() << 20 | task.partition(), executor);
                }
                futures.add(pool.submit(() -> {
                    TaskFunction fn = perExecutor.computeIfAbsent(executor, e -> (TaskFunction)
                            JavaSerialization.deserialize(functionBytes, getClass().getClassLoader()));
                    List<Object> argList = new ArrayList<>(task.inputs().size());
                    for (TaskInput input : task.inputs()) {
                        Object value = resolve(input, executor, view, pinned, outputs);
                        // As the leader does: a map output with no rows for this bucket is left out.
                        if (!(input instanceof TaskInput.ShuffleRead sr)
                                || ((ShuffleOutput) value).rows()[sr.bucket()] > 0) {
                            argList.add(value);
                        }
                    }
                    Object[] args = argList.toArray();
                    int n = stage.outputsPerTask();
                    Object[] out = fn.run(args, new Context(executor, n));
                    if (out.length != n) {
                        throw new AssertionError("stage " + stage.id() + " returned " + out.length + " outputs, not "
                                + n);
                    }
                    for (int o = 0; o < n; o++) {
                        outputs.put(key(stage.id(), task.partition(), o), JavaSerialization.serialize(out[o],
                                "output " + o + " of stage " + stage.id()));
                    }
                    tasksRun.incrementAndGet();
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                await(f);
            }
        }
        Stage last = plan.finalStage();
        List<Object> results = new ArrayList<>(last.partitions());
        for (TaskSpec t : last.tasks()) { // a take job's result stage runs only some partitions
            results.add(decode(outputs.get(key(last.id(), t.partition(), 0))));
        }
        Map<Integer, List<Object>> persistedValues = new HashMap<>();
        Map<Integer, List<String>> persistedExecutors = new HashMap<>();
        for (PersistedOutput po : plan.persistedOutputs()) {
            List<Object> values = new ArrayList<>();
            List<String> where = new ArrayList<>();
            for (int p = 0; p < po.partitions(); p++) {
                values.add(decode(outputs.get(key(po.stageId(), p, 0))));
                where.add(ranOn.get(po.stageId() << 20 | p));
            }
            persistedValues.put(po.node(), values);
            persistedExecutors.put(po.node(), where);
        }
        return new Run(plan, results, persistedValues, persistedExecutors);
    }

    private static void checkParentsDone(PhysicalPlan plan, Stage stage, Map<Long, byte[]> outputs) {
        for (int parent : stage.parents()) {
            if (parent >= stage.id() || !outputs.containsKey(key(parent, 0, 0))) {
                throw new AssertionError("stage " + stage.id() + " runs before its parent " + parent);
            }
        }
    }

    private Object resolve(TaskInput input, String executor, ClusterView view, PinnedValues pinned,
            Map<Long, byte[]> outputs) {
        if (input instanceof TaskInput.Inline in) {
            return decode(JavaSerialization.serialize(in.value(), "an inline input"));
        } else if (input instanceof TaskInput.Pinned p) {
            byte[] bytes = JavaSerialization.serialize(pinned.value(p.ref()), "pinned " + p.ref());
            ClusterView.RefLocation loc = view.location(p.ref());
            if (loc == null || !loc.broadcast() && !loc.holders().contains(executor)) {
                pinnedBytesFetched.addAndGet(bytes.length);
            }
            return decode(bytes);
        } else if (input instanceof TaskInput.ShuffleRead sr) {
            byte[] bytes = outputs.get(key(sr.stageId(), sr.mapTask(), 0));
            if (bytes == null) {
                throw new AssertionError("no output " + sr);
            }
            return decode(bytes);
        } else {
            TaskInput.StageOutput so = (TaskInput.StageOutput) input;
            byte[] bytes = outputs.get(key(so.stageId(), so.partition(), so.output()));
            if (bytes == null) {
                throw new AssertionError("no output " + so);
            }
            return decode(bytes);
        }
    }

    private Object decode(byte[] bytes) {
        return JavaSerialization.deserialize(bytes, getClass().getClassLoader());
    }

    private static long key(int stage, int partition, int output) {
        return ((long) stage << 42) | ((long) partition << 21) | output;
    }

    private static void await(Future<?> f) {
        try {
            f.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new QuiverException("task failed: " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuiverException("interrupted", e);
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }

    private record Context(String executorId, int outputs) implements TaskContext {}

    /** Shorthand for tests that need no pinned values. */
    public static PinnedValues noPinned() {
        return ref -> {
            throw new AssertionError("unexpected pinned ref " + ref);
        };
    }
}
