package io.quiver.core.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ArrayChunkerTest {

    /** Concatenates every chunk, checking each ends on an element boundary after the header. */
    static byte[] streamed(Object value, int chunk, int width) {
        ArrayChunker chunker = ArrayChunker.of(value);
        assertThat(chunker).isNotNull();
        ByteBuf all = Unpooled.buffer();
        List<Integer> sizes = new ArrayList<>();
        while (chunker.hasNext()) {
            ByteBuf c = chunker.next(ByteBufAllocator.DEFAULT, chunk);
            assertThat(c.isDirect()).isTrue();
            sizes.add(c.readableBytes());
            all.writeBytes(c);
            c.release();
        }
        assertThat((long) all.readableBytes()).isEqualTo(chunker.encodedSize());
        assertThat(sizes.get(0) - 5).isNotNegative().matches(n -> n % width == 0);
        sizes.subList(1, sizes.size()).forEach(n -> assertThat(n % width).isZero());
        byte[] out = new byte[all.readableBytes()];
        all.readBytes(out);
        return out;
    }

    @Test
    void chunksConcatenateToExactlyWhatTheCodecWrites() {
        double[] d = new double[(3 << 20) / 8 + 3];
        for (int i = 0; i < d.length; i++) {
            d[i] = i * 0.5 - 7;
        }
        assertThat(streamed(d, 1 << 20, 8)).isEqualTo(DefaultCodec.INSTANCE.toBytes(d));
        int[] ints = new int[(1 << 20) / 4 + 1];
        ints[ints.length - 1] = 42;
        assertThat(streamed(ints, 100_003, 4)).isEqualTo(DefaultCodec.INSTANCE.toBytes(ints));
        byte[] bytes = new byte[(1 << 20) + 17];
        bytes[5] = 9;
        assertThat(streamed(bytes, 1 << 20, 1)).isEqualTo(DefaultCodec.INSTANCE.toBytes(bytes));
    }

    @Test
    void smallArraysAndOtherValuesAreNotChunked() {
        assertThat(ArrayChunker.of(new double[10])).isNull();
        assertThat(ArrayChunker.of("text")).isNull();
        assertThat(ArrayChunker.of(null)).isNull();
    }
}
