package io.quiver.bench.scheduler;

import io.quiver.RefId;
import io.quiver.coordinator.sched.Link;
import io.quiver.coordinator.sched.Scheduler;
import io.quiver.coordinator.sched.SchedulerEvent;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.Launch;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.TaskLaunch;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.protocol.Message.TaskResults;
import io.quiver.core.protocol.Message.TaskSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The leader's scheduler state machine alone: no threads, no sockets, no codec. Events go straight
 * to {@link Scheduler#handle}, what it sends to executors is collected from their links, and every
 * launched task is answered at once, so a score is the loop's own ceiling in tasks per second
 * (each task: its submit, its launch, its result and its release), the bound the cluster
 * benchmarks ({@code TinyTaskBenchmark}) approach. Two executors x 1 slot, as there.
 *
 * <pre>java -jar jmh-benchmarks/target/benchmarks.jar SchedulerLoopBenchmark</pre>
 */
@State(Scope.Thread)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class SchedulerLoopBenchmark {
    static final int TASKS = 10_000;
    static final int CHAIN = 2_000;

    /** An executor's link: keeps what the scheduler sends it. */
    static final class ExecutorLink implements Link {
        final List<Message> sent = new ArrayList<>();

        @Override
        public void send(Message m) {
            sent.add(m);
        }

        @Override
        public void close() {}
    }

    static final Link CLIENT = new Link() {
        @Override
        public void send(Message m) {}

        @Override
        public void close() {}
    };

    Scheduler s;
    ExecutorLink[] links;
    long nextRef;
    long nextFn;

    @Setup(Level.Iteration)
    public void start() {
        s = new Scheduler("leader", 1, System::nanoTime, (delay, e) -> { });
        s.handle(new SchedulerEvent.ClientConnected("c", CLIENT));
        links = new ExecutorLink[] {new ExecutorLink(), new ExecutorLink()};
        for (int i = 0; i < links.length; i++) {
            s.handle(new SchedulerEvent.ExecutorRegistered("e" + i, links[i],
                    new Register("127.0.0.1", 1 + i, 1, 1L << 40, 0, List.of(), List.of(), List.of())));
        }
        s.handle(new SchedulerEvent.TermStarted(List.of()));
        s.afterBatch();
    }

    RefId ref() {
        return new RefId(1, ++nextRef);
    }

    /** Answers every launch until {@code n} tasks are done; returns how many batches it took. */
    int runUntilDone(int n) {
        int done = 0;
        int batches = 0;
        while (done < n) {
            s.afterBatch();
            batches++;
            int answered = 0;
            for (int i = 0; i < links.length; i++) {
                List<TaskResult> results = new ArrayList<>();
                for (Message m : links[i].sent) {
                    if (m instanceof Launch l) {
                        for (TaskLaunch t : l.tasks()) {
                            RefId out = t.outs().get(0);
                            results.add(new TaskResult(out, 1_000, List.of(new BlockInfo(out, 8, null)), new byte[] {9},
                                    null));
                        }
                    }
                }
                links[i].sent.clear();
                if (!results.isEmpty()) {
                    answered += results.size();
                    s.handle(new SchedulerEvent.TasksFinished("e" + i, links[i], new TaskResults(results, 0)));
                }
            }
            if (answered == 0) {
                throw new IllegalStateException("the scheduler launched nothing with " + (n - done) + " tasks left");
            }
            done += answered;
        }
        return batches;
    }

    void release(List<RefId> refs) {
        s.handle(new SchedulerEvent.RefsReleased("c", refs));
        s.afterBatch();
        if (s.taskCount() != 0) {
            throw new IllegalStateException(s.taskCount() + " tasks left after every ref was released");
        }
    }

    /** A {@code map} of 10,000 tasks: one function, one submit event. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(TASKS)
    public int map() {
        return map(TASKS);
    }

    /** The same at a hundred times the size: per task, it should cost what the small one does. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(100 * TASKS)
    public int mapMillion() {
        return map(100 * TASKS);
    }

    int map(int n) {
        long fn = ++nextFn;
        List<TaskSpec> specs = new ArrayList<>(n);
        List<RefId> outs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            RefId out = ref();
            outs.add(out);
            specs.add(new TaskSpec(out, fn, List.of()));
        }
        s.handle(new SchedulerEvent.TasksSubmitted("c", List.of(new FnDef(fn, new byte[] {1}, null)), specs));
        int batches = runUntilDone(n);
        release(outs);
        return batches;
    }

    /** A loop of 10,000 single submits, each its own function and its own event (no client batching). */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(TASKS)
    public int submitLoop() {
        List<RefId> outs = new ArrayList<>(TASKS);
        for (int i = 0; i < TASKS; i++) {
            long fn = ++nextFn;
            RefId out = ref();
            outs.add(out);
            s.handle(new SchedulerEvent.TasksSubmitted("c", List.of(new FnDef(fn, new byte[] {1}, null)),
                    List.of(new TaskSpec(out, fn, List.of()))));
        }
        int batches = runUntilDone(TASKS);
        release(outs);
        return batches;
    }

    /** A chain of 2,000 dependent tasks, each reading the previous one's result. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(CHAIN)
    public int chain() {
        long fn = ++nextFn;
        List<TaskSpec> specs = new ArrayList<>(CHAIN);
        List<RefId> outs = new ArrayList<>(CHAIN);
        RefId prev = null;
        for (int i = 0; i < CHAIN; i++) {
            RefId out = ref();
            outs.add(out);
            specs.add(new TaskSpec(out, fn, prev == null ? List.of() : List.of(Arg.ref(prev))));
            prev = out;
        }
        s.handle(new SchedulerEvent.TasksSubmitted("c", List.of(new FnDef(fn, new byte[] {1}, null)), specs));
        int batches = runUntilDone(CHAIN);
        release(outs);
        return batches;
    }
}
