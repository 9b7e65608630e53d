package io.quiver.core.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.quiver.RefId;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.HeldRef;
import io.quiver.core.protocol.Message.Hold;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RefsDone;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Long lists cut into messages that fit a frame; the size bounds checked against the real encoder. */
class BatchesTest {
    static int encoded(Message m) {
        ByteBuf buf = Unpooled.buffer();
        try {
            m.write(buf);
            return buf.readableBytes();
        } finally {
            buf.release();
        }
    }

    @Test
    void anEmptyListHasNoPartsAndAListThatFitsIsItsOnlyPart() {
        assertThat(Batches.split(List.of(), x -> 1)).isEmpty();
        List<Integer> few = List.of(1, 2, 3);
        assertThat(Batches.split(few, x -> 1)).singleElement().isSameAs(few);
    }

    @Test
    void partsHoldAtMostMaxItemsAndKeepTheOrder() {
        List<Integer> many = new ArrayList<>();
        for (int i = 0; i < 3 * Batches.MAX_ITEMS + 5; i++) {
            many.add(i);
        }
        List<List<Integer>> parts = Batches.split(many, x -> 16);
        assertThat(parts).hasSize(4);
        assertThat(parts).allSatisfy(p -> assertThat(p.size()).isLessThanOrEqualTo(Batches.MAX_ITEMS));
        assertThat(parts.stream().flatMap(List::stream).toList()).isEqualTo(many);
    }

    @Test
    void partsStayUnderTheByteBoundAndAnItemLargerThanItGoesAlone() {
        List<Long> sizes = new ArrayList<>(Collections.nCopies(30, 1L << 20));
        sizes.add(10, Batches.MAX_BYTES + 1);
        List<List<Long>> parts = Batches.split(sizes, Long::longValue);
        assertThat(parts).allSatisfy(p -> assertThat(p.size() == 1
                || p.stream().mapToLong(Long::longValue).sum() <= Batches.MAX_BYTES).isTrue());
        assertThat(parts).anySatisfy(p -> assertThat(p).containsExactly(Batches.MAX_BYTES + 1));
        assertThat(parts.stream().flatMap(List::stream).toList()).isEqualTo(sizes);
    }

    @Test
    void theCompletionsOfOneAndAHalfMillionRefsGoInFramesThePeerAccepts() {
        // What a leader reports to a client that resumes holding 1.5 million finished refs (53 bytes each on the wire).
        List<RefDone> done = new ArrayList<>();
        for (int i = 0; i < 1_500_000; i++) {
            done.add(new RefDone(new RefId(3, i), 8, List.of("exec-1", "exec-2"), null, null));
        }
        List<List<RefDone>> parts = Batches.split(done, RefDone::sizeBound);
        assertThat(encoded(new RefsDone(done))).as("as one message it would be refused").isGreaterThan(MessageCodec.DEFAULT_MAX_FRAME);
        assertThat(parts).allSatisfy(p -> assertThat(encoded(new RefsDone(p))).isLessThan(MessageCodec.DEFAULT_MAX_FRAME));
    }

    @Test
    void sizeBoundsAreNotBelowWhatIsWritten() {
        Failure f = new Failure(Failure.TASK, "java.lang.IllegalStateException", "bo\u00f6m \u2603", "at a.b(C.java:1)\n".repeat(50),
                "exec-1", 2, new RefId(1, 2));
        RefDone d = new RefDone(new RefId(1, 1), 123, List.of("exec-1", "\u00e9x\u00e9c-2"), new byte[999], f);
        assertThat((long) encoded(new RefsDone(List.of(d)))).isLessThanOrEqualTo(d.sizeBound() + 4);
        HeldRef h = new HeldRef(new RefId(1, 1), HeldRef.BROADCAST, 1 << 20, List.of("exec-1", "exec-22"));
        assertThat((long) encoded(new Hold(List.of(h)))).isLessThanOrEqualTo(h.sizeBound() + 4);
    }
}
