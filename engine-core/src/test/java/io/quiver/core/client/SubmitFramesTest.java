package io.quiver.core.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.quiver.RefId;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.Submit;
import io.quiver.core.protocol.Message.TaskSpec;
import io.quiver.core.protocol.MessageCodec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How a client's batch of submits is cut into frames (no threads, no I/O): encoded with the real codec. */
class SubmitFramesTest {
    static TaskSpec task(long seq, long fn, int inlineBytes) {
        return new TaskSpec(new RefId(7, seq), fn, List.of(Arg.value(new byte[inlineBytes]), Arg.ref(new RefId(7, -seq))));
    }

    static int encoded(Submit s) {
        ByteBuf buf = Unpooled.buffer();
        try {
            s.write(buf);
            return buf.readableBytes();
        } finally {
            buf.release();
        }
    }

    /** Every frame fits, the tasks come in order and whole, and each task's function came first. */
    static void checkFrames(List<Submit> frames, List<FnDef> fns, List<TaskSpec> tasks) {
        List<FnDef> sentFns = new ArrayList<>();
        List<TaskSpec> sentTasks = new ArrayList<>();
        Set<Long> defined = new HashSet<>();
        for (Submit s : frames) {
            int size = encoded(s);
            assertThat(size).as("a frame the leader accepts").isLessThan(MessageCodec.DEFAULT_MAX_FRAME);
            assertThat(s.tasks().size()).isLessThanOrEqualTo(LeaderSession.SUBMIT_TASKS);
            if (s.fns().size() + s.tasks().size() > 1) {
                assertThat((long) size).as("only a single item may exceed the budget").isLessThanOrEqualTo(LeaderSession.SUBMIT_BYTES);
            }
            s.fns().forEach(f -> defined.add(f.fnId()));
            List<RefId> undefined = s.tasks().stream().filter(t -> !defined.contains(t.fnId())).map(TaskSpec::out).toList();
            assertThat(undefined).as("tasks whose function was not defined before them").isEmpty();
            sentFns.addAll(s.fns());
            sentTasks.addAll(s.tasks());
        }
        assertThat(sentFns).isEqualTo(fns);
        assertThat(sentTasks.equals(tasks)).as("the tasks sent, in order").isTrue();
    }

    @Test
    void aSmallBatchIsOneFrame() {
        List<FnDef> fns = List.of(new FnDef(1, new byte[300], null));
        List<TaskSpec> tasks = List.of(task(1, 1, 5), task(2, 1, 5));
        List<Submit> frames = LeaderSession.submits(fns, tasks);
        assertThat(frames).hasSize(1);
        checkFrames(frames, fns, tasks);
    }

    @Test
    void aMapOfManyTinyTasksGoesInFramesOfAFewThousand() {
        List<FnDef> fns = List.of(new FnDef(1, new byte[300], null));
        List<TaskSpec> tasks = new ArrayList<>();
        for (int i = 1; i <= 100_000; i++) {
            tasks.add(task(i, 1, 5));
        }
        List<Submit> frames = LeaderSession.submits(fns, tasks);
        assertThat(frames).hasSize((100_000 + LeaderSession.SUBMIT_TASKS - 1) / LeaderSession.SUBMIT_TASKS);
        checkFrames(frames, fns, tasks);
    }

    @Test
    void itemsThatAddUpToMoreThanAFrameAreSplitByBytes() {
        // 100 items of 800 KB: each may travel inline, together they are 80 MB (the frame limit is 64 MiB).
        List<FnDef> fns = List.of(new FnDef(1, new byte[300], null));
        List<TaskSpec> tasks = new ArrayList<>();
        for (int i = 1; i <= 100; i++) {
            tasks.add(task(i, 1, 800_000));
        }
        List<Submit> frames = LeaderSession.submits(fns, tasks);
        assertThat(frames.size()).isGreaterThanOrEqualTo(10);
        checkFrames(frames, fns, tasks);
    }

    @Test
    void manyLargeFunctionsGoBeforeTheirTasksAndATaskLargerThanTheBudgetGoesAlone() {
        // A submit loop of lambdas that each capture 900 KB, coalesced in one loop turn.
        List<FnDef> fns = new ArrayList<>();
        List<TaskSpec> tasks = new ArrayList<>();
        for (int i = 1; i <= 40; i++) {
            fns.add(new FnDef(i, new byte[900_000], null));
            tasks.add(task(i, i, i == 20 ? (int) LeaderSession.SUBMIT_BYTES + 1 : 10));
        }
        List<Submit> frames = LeaderSession.submits(fns, tasks);
        checkFrames(frames, fns, tasks);
        assertThat(frames).anySatisfy(s -> assertThat(s.tasks()).extracting(TaskSpec::out).containsExactly(new RefId(7, 20)));
    }

    @Test
    void sizeBoundsAreNotBelowWhatIsWritten() {
        TaskSpec t = new TaskSpec(new RefId(7, 1), 3, List.of(Arg.value(new byte[1234]), Arg.ref(new RefId(7, 2))),
                new io.quiver.core.protocol.Message.TaskOptions(2, 1, List.of("exec-1", "exec-2"), true));
        FnDef f = new FnDef(3, new byte[777], null);
        assertThat((long) encoded(new Submit(List.of(), List.of(t)))).isLessThanOrEqualTo(t.sizeBound() + 16);
        assertThat(encoded(new Submit(List.of(f), List.of()))).isLessThanOrEqualTo(f.sizeBound() + 16);
    }
}
