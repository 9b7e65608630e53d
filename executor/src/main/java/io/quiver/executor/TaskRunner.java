package io.quiver.executor;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.quiver.RefId;
import io.quiver.core.codec.DefaultCodec;
import io.quiver.core.codec.ShuffleBlocks;
import io.quiver.core.loop.EventLoop;
import io.quiver.core.plan.ShuffleOutput;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.TaskLaunch;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.task.TaskContext;
import io.quiver.core.task.TaskFunction;
import io.quiver.executor.block.BlockStore;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker threads, exactly one per slot. A worker takes a task the executor loop handed out,
 * resolves its arguments (block values decoded once and shared), runs it, stores each output as a
 * block with its live value as the decoded cache, and then tells the leader (its result) and the
 * loop (its completion). Workers touch no bookkeeping state.
 *
 * <p>Finished tasks are told in batches, as Dask's workers batch what they send: a worker that
 * has another task waiting keeps up to {@link #BATCH} short tasks' ends and tells them together,
 * so a map of tiny tasks wakes the loop and the leader connection once per batch, not once per
 * task. A worker tells what it holds before it waits for work, after a task that ran longer than
 * {@link #SHORT_TASK_NANOS} or failed, and at most {@link #FLUSH_DELAY_MICROS} after the oldest end
 * it holds (a timer on the loop), so a long task never holds back the ends of the short ones
 * before it.
 *
 * <p>A chain's links run back to back on one worker: the loop attaches the next link to the task
 * that produces its one missing input ({@link Task#next}), and the worker runs it as soon as that
 * task succeeded, with its output already in the store, so no link waits for the loop, and their
 * ends are told in batches like any others.
 */
final class TaskRunner {
    private static final Logger log = LoggerFactory.getLogger(TaskRunner.class);
    /** A single output up to this size rides inline on the result. */
    static final int INLINE_LIMIT = 64 << 10;

    private final String executorId;
    private final BlockStore store;
    private final ClassLoader loader;
    private final BlockingQueue<Task> handoff;
    private final Reports reports;
    private final EventLoop loop;
    private final TaskSlots slots;
    private final LongAdder tasksRun;
    private final LongAdder tasksFailed = new LongAdder();
    private final LongAdder functionsDeserialized;
    private final Thread[] workers;
    private volatile boolean stopped;

    /** Most task ends a worker holds before it tells them. */
    static final int BATCH = 32;
    /** A task that ran longer is told at once, with the ends held before it. */
    static final long SHORT_TASK_NANOS = 200_000;
    /** The longest a held end waits (Dask batches its workers' messages over 2 ms). */
    static final long FLUSH_DELAY_MICROS = 1_000;

    /** A task that ran, with its result: not yet told to the leader and the loop. */
    private record Finished(Task task, TaskResult result) {}

    private final ConcurrentLinkedQueue<Finished> finished = new ConcurrentLinkedQueue<>();
    private final AtomicInteger held = new AtomicInteger();
    private final AtomicBoolean flushArmed = new AtomicBoolean();
    private final Object flushing = new Object();

    TaskRunner(String executorId, int slots, BlockStore store, ClassLoader loader, BlockingQueue<Task> handoff,
               Reports reports, EventLoop loop, TaskSlots taskSlots, LongAdder tasksRun,
               LongAdder functionsDeserialized) {
        this.executorId = executorId;
        this.store = store;
        this.loader = loader;
        this.handoff = handoff;
        this.reports = reports;
        this.loop = loop;
        this.slots = taskSlots;
        this.tasksRun = tasksRun;
        this.functionsDeserialized = functionsDeserialized;
        this.workers = new Thread[slots];
        for (int i = 0; i < slots; i++) {
            workers[i] = new Thread(this::work, "quiver-" + executorId + "-worker-" + i);
            workers[i].setDaemon(true);
        }
    }

    void start() {
        for (Thread t : workers) {
            t.start();
        }
    }

    /**
     * True when every worker waits (for a task, or inside one that waits) rather than runs: read from
     * any thread, by thread states alone, so the task path pays nothing for it.
     */
    boolean workersWaiting() {
        for (Thread t : workers) {
            Thread.State s = t.getState();
            if (s == Thread.State.RUNNABLE || s == Thread.State.BLOCKED) {
                return false;
            }
        }
        return true;
    }

    /** Interrupts the workers and waits up to {@code millis} for them to end (user code may ignore it). */
    void stop(long millis) {
        stopped = true;
        for (Thread t : workers) {
            t.interrupt();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (Thread t : workers) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                try {
                    t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            if (t.isAlive()) {
                log.warn("worker {} still runs user code after close; it is a daemon thread and is abandoned", t.getName());
            }
        }
        flush();
    }

    private void work() {
        while (!stopped) {
            Task task = handoff.poll();
            if (task == null) {
                flush(); // about to wait: nothing held may wait with it
                try {
                    task = handoff.take();
                } catch (InterruptedException e) {
                    flush();
                    return;
                }
            }
            while (task != null) {
                TaskResult result = run(task);
                // The next link of a chain, if the loop attached one in time; after a failure the
                // loop gives it back to wait (and fail) as any dependant does. On stop it is dropped
                // with everything else here: the executor is closing.
                Task next = task.next.getAndSet(Task.CLOSED);
                if (result.failure() != null || stopped) {
                    next = null;
                }
                finished.add(new Finished(task, result));
                if (stopped || held.incrementAndGet() >= BATCH || result.nanos() > SHORT_TASK_NANOS
                        || result.failure() != null || (next == null && handoff.isEmpty())) {
                    // With nothing to run next there is nothing to batch with, so no timer either.
                    flush();
                } else {
                    armFlush();
                }
                task = next;
            }
        }
    }

    /**
     * Tells the leader and the loop every end held; any thread. One flush at a time, so that ends
     * go out in the order they were held: a chain's link, run right after its producer, must not
     * be told before it.
     */
    private void flush() {
        synchronized (flushing) {
            flushHeld();
        }
    }

    private void flushHeld() {
        List<Finished> batch = new ArrayList<>();
        Finished f;
        while ((f = finished.poll()) != null) {
            batch.add(f);
        }
        if (batch.isEmpty()) {
            return;
        }
        held.addAndGet(-batch.size());
        for (Finished x : batch) {
            x.task.reported = true; // before the leader can hear of it, so a launch again finds it ended
            reports.taskResult(x.result); // one frame for all of them (LeaderLink drains its queue at once)
        }
        loop.execute(() -> {
            for (Finished x : batch) {
                slots.taskDone(x.task, x.result.failure());
            }
        });
    }

    /** Makes sure something tells the ends held within {@link #FLUSH_DELAY_MICROS}. */
    private void armFlush() {
        if (flushArmed.compareAndSet(false, true)) {
            ScheduledFuture<?> timer = loop.schedule(() -> {
                flushArmed.set(false);
                flush();
            }, FLUSH_DELAY_MICROS, TimeUnit.MICROSECONDS);
            if (timer == null) {
                flushArmed.set(false);
                flush(); // the loop has stopped: tell the leader now
            }
        }
    }

    /** Runs one task; returns its result (a failure is a result too), not yet told. */
    private TaskResult run(Task task) {
        TaskLaunch launch = task.launch;
        List<RefId> outs = launch.outs();
        long start = System.nanoTime();
        TaskResult result;
        int stored = 0;
        // The client's loader: its submits, dataset stages (which resolve through the context loader)
        // and values all load through it.
        ClassLoader loader = task.code != null ? task.code.loader : this.loader;
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(loader);
        task.running(thread);
        try {
            if (task.cancelled) {
                throw new java.util.concurrent.CancellationException("task " + task.id() + " was cancelled");
            }
            TaskFunction fn = task.function.get(store, loader, functionsDeserialized);
            List<Arg> argList = launch.args();
            Object[] args = new Object[argList.size()];
            Function<ByteBuf, Object> decoder = buf -> DefaultCodec.INSTANCE.decode(buf, loader);
            for (int i = 0; i < args.length; i++) {
                Arg a = argList.get(i);
                if (a.isSlice()) {
                    args[i] = slice(task, i, a, loader);
                } else {
                    args[i] = a.isRef() ? store.value(a.ref(), decoder) : DefaultCodec.INSTANCE.fromBytes(a.value(), loader);
                }
            }
            Object[] values = fn.run(args, new Context(executorId, outs.size()));
            if (values == null || values.length != outs.size()) {
                throw new IllegalStateException("the task function returned " + (values == null ? "null" : values.length
                        + " outputs") + " but the task has " + outs.size() + " outputs");
            }
            List<BlockInfo> infos = new ArrayList<>(values.length);
            byte[] inline = null;
            for (int i = 0; i < values.length; i++) {
                ByteBuf encoded = DefaultCodec.INSTANCE.encode(values[i], ByteBufAllocator.DEFAULT, loader);
                int size = encoded.readableBytes();
                // A shuffle map output goes to no client: its summary, not its bytes, goes to the leader.
                int[] bucketRows = values[i] instanceof ShuffleOutput so ? so.rows() : null;
                if (values.length == 1 && size <= INLINE_LIMIT && bucketRows == null) {
                    inline = ByteBufUtil.getBytes(encoded);
                }
                // A map output's reduce tasks cut their buckets from its bytes, never use its objects:
                // keeping them (every row boxed) would only weigh on the collector.
                boolean keep = bucketRows == null;
                store.put(outs.get(i), encoded, keep ? values[i] : null, keep, bucketRows);
                stored++;
                infos.add(new BlockInfo(outs.get(i), size, bucketRows));
            }
            result = new TaskResult(outs.get(0), System.nanoTime() - start, infos, inline, null);
        } catch (Throwable t) {
            for (int i = 0; i < stored; i++) {
                store.drop(outs.get(i));
            }
            result = new TaskResult(outs.get(0), System.nanoTime() - start, List.of(), null,
                    failure(t, executorId, task.code));
        } finally {
            task.releaseSlices();
            task.running(null);
            thread.setContextClassLoader(previous);
        }
        tasksRun.increment();
        if (result.failure() != null) {
            tasksFailed.increment();
        }
        return result;
    }

    /**
     * Argument {@code i}, one bucket of a map output: decoded from its fetched slice, or cut from
     * the local block (its live value when the map task ran here, else its bytes by the bucket
     * index), never decoding the other buckets.
     */
    private Object slice(Task task, int i, Arg a, ClassLoader loader) {
        ByteBuf fetched = task.slices == null ? null : task.slices[i];
        if (fetched != null) {
            return ShuffleBlocks.decodeEntry(fetched.duplicate(), loader);
        }
        if (store.decodedValue(a.ref()) instanceof ShuffleOutput so) {
            return so.sliceOf(a.bucket());
        }
        ByteBuf data = store.retainedData(a.ref());
        if (data == null) {
            throw new BlockStore.MissingBlockException(a.ref());
        }
        try {
            return ShuffleBlocks.slice(data, a.bucket(), loader);
        } finally {
            data.release();
        }
    }

    /** What user code (or resolving its inputs) threw, as the leader and client see it. */
    static Failure failure(Throwable t, String executorId, ClientCode code) {
        StringWriter stack = new StringWriter();
        t.printStackTrace(new PrintWriter(stack));
        if (t instanceof BlockStore.MissingBlockException m) {
            // Not the task's own failure: the leader forgets this copy and runs it again.
            return new Failure(Failure.MISSING, "io.quiver.DataLostException", "input " + m.ref() + " was not in the"
                    + " store of executor " + executorId + " when the task ran", stack.toString(), executorId, 1, m.ref());
        }
        String kind = Failure.TASK;
        String missing = missingClass(t);
        if (missing != null) {
            String client = code == null ? "its client" : "client " + code.clientId;
            return new Failure(kind, t.getClass().getName(), "class " + missing + " cannot be found on executor "
                    + executorId + " for " + client + ": ship it (ConnectOptions.jars(...), or"
                    + " ConnectOptions.shipClassPath(true), the default, with the class on the client's class path),"
                    + " or start executors with --classpath <jars holding it>", stack.toString(), executorId, 1);
        }
        return new Failure(kind, t.getClass().getName(), t.getMessage(), stack.toString(), executorId, 1);
    }

    /** The class a failure comes down to not finding, if that is what it is. */
    static String missingClass(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof io.quiver.core.codec.JavaSerialization.MissingClassException m) {
                return m.className();
            } else if (c instanceof ClassNotFoundException && c.getMessage() != null) {
                return c.getMessage();
            } else if (c instanceof NoClassDefFoundError && c.getMessage() != null && !c.getMessage().contains(" ")) {
                return c.getMessage().replace('/', '.');
            }
        }
        return null;
    }

    private record Context(String executorId, int outputs) implements TaskContext {}

    /** Tasks that ran here and threw (or could not load their code). */
    long tasksFailed() {
        return tasksFailed.sum();
    }
}
