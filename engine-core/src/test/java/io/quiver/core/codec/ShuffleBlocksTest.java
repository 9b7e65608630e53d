package io.quiver.core.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.quiver.QuiverException;
import io.quiver.core.plan.KeyedBucket;
import io.quiver.core.plan.ShuffleOutput;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bucket index of a map-output block: whole round trips, slices cut alone, and bad requests. */
class ShuffleBlocksTest {
    private static final ClassLoader LOADER = ShuffleBlocksTest.class.getClassLoader();

    /** Buckets 0 and 3 hold pairs, 1 holds nothing, 2 a repartition-style array; side 1. */
    private static ShuffleOutput sample() {
        Object[] buckets = {
            new KeyedBucket(new Object[] {"a", "b"}, new Object[] {1, 2}),
            null,
            new Object[] {10L, 20L, 30L},
            new KeyedBucket(new Object[] {"z"}, new Object[] {26}),
        };
        return ShuffleOutput.of(1, buckets, new int[] {2, 0, 3, 1});
    }

    private static ByteBuf encode(ShuffleOutput so) {
        return DefaultCodec.INSTANCE.encode(so, ByteBufAllocator.DEFAULT);
    }

    @Test
    void aWholeMapOutputRoundTripsWithItsSummary() {
        ByteBuf block = encode(sample());
        try {
            ShuffleOutput back = (ShuffleOutput) DefaultCodec.INSTANCE.decode(block.duplicate(), LOADER);
            assertThat(back.isSlice()).isFalse();
            assertThat(back.side()).isEqualTo(1);
            assertThat(back.buckets()).isEqualTo(4);
            assertThat(back.rows()).containsExactly(2, 0, 3, 1);
            assertThat(back.bucket(1)).isNull();
            assertThat((Object[]) back.bucket(2)).containsExactly(10L, 20L, 30L);
            assertThat(((KeyedBucket) back.bucket(3)).keys()).containsExactly("z");
        } finally {
            block.release();
        }
    }

    @Test
    void eachBucketIsCutAndDecodedAlone() {
        ByteBuf block = encode(sample());
        try {
            int before = block.readerIndex();
            ShuffleBlocks.Slice s2 = ShuffleBlocks.locate(block, 2);
            ShuffleBlocks.Slice s1 = ShuffleBlocks.locate(block, 1);
            assertThat(block.readerIndex()).isEqualTo(before);
            assertThat(s1.length()).as("an empty bucket has no bytes").isZero();
            // The bucket's bytes alone are its value: nothing else in the block is read.
            ByteBuf alone = Unpooled.buffer();
            try {
                ShuffleBlocks.writeEntryHeader(alone, s2);
                alone.writeBytes(block, s2.offset(), s2.length());
                assertThat((Object[]) ShuffleBlocks.decodeEntry(alone, LOADER).bucket(2)).containsExactly(10L, 20L, 30L);
            } finally {
                alone.release();
            }

            ShuffleOutput slice = ShuffleBlocks.slice(block, 0, LOADER);
            assertThat(slice.isSlice()).isTrue();
            assertThat(slice.side()).isEqualTo(1);
            assertThat(slice.buckets()).isEqualTo(4);
            assertThat(((KeyedBucket) slice.bucket(0)).values()).containsExactly(1, 2);
            assertThat(slice.bucket(3)).as("other buckets are not in a slice").isNull();
            assertThat(ShuffleBlocks.slice(block, 1, LOADER).bucket(1)).isNull();
        } finally {
            block.release();
        }
    }

    @Test
    void aSliceEntryCarriesItsBucketAcrossTheWire() {
        ByteBuf block = encode(sample());
        ByteBuf entry = Unpooled.buffer();
        try {
            ShuffleBlocks.Slice s = ShuffleBlocks.locate(block, 3);
            ShuffleBlocks.writeEntryHeader(entry, s);
            entry.writeBytes(block, s.offset(), s.length());
            assertThat(ShuffleBlocks.entryLength(entry, 0)).isEqualTo(entry.readableBytes());
            ShuffleOutput read = ShuffleBlocks.decodeEntry(entry, LOADER);
            assertThat(read.side()).isEqualTo(1);
            assertThat(read.buckets()).isEqualTo(4);
            assertThat(((KeyedBucket) read.bucket(3)).keys()).containsExactly("z");
            assertThat(read.bucket(0)).isNull();

            ByteBuf truncated = entry.slice(0, entry.readableBytes() - 1);
            assertThatThrownBy(() -> ShuffleBlocks.decodeEntry(truncated, LOADER)).isInstanceOf(QuiverException.class)
                    .hasMessageContaining("corrupt slice");
        } finally {
            block.release();
            entry.release();
        }
    }

    @Test
    void aOneBucketOutputIsReadWholeForAnyBucket() {
        ShuffleOutput one = ShuffleOutput.of(0, new Object[] {new Object[] {"x"}}, new int[] {1});
        ByteBuf block = encode(one);
        try {
            ShuffleOutput s = ShuffleBlocks.slice(block, 17, LOADER);
            assertThat((Object[]) s.bucket(17)).containsExactly("x");
            assertThat((Object[]) one.sliceOf(5).bucket(5)).containsExactly("x");
        } finally {
            block.release();
        }
    }

    @Test
    void badSliceRequestsSayWhatIsWrong() {
        ByteBuf block = encode(sample());
        ByteBuf notShuffle = DefaultCodec.INSTANCE.encode("just a string", ByteBufAllocator.DEFAULT);
        try {
            assertThatThrownBy(() -> ShuffleBlocks.locate(block, 4)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("bucket 4 is out of range").hasMessageContaining("4 buckets");
            assertThatThrownBy(() -> ShuffleBlocks.locate(block, -1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("out of range");
            assertThatThrownBy(() -> ShuffleBlocks.locate(notShuffle, 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not a shuffle map output");
            assertThatThrownBy(() -> ShuffleBlocks.slice(notShuffle, 0, LOADER)).isInstanceOf(QuiverException.class)
                    .hasMessageContaining("not a shuffle map output");
            ByteBuf cut = block.slice(block.readerIndex(), 12);
            assertThatThrownBy(() -> ShuffleBlocks.locate(cut, 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("corrupt map output");
            ByteBuf corrupt = block.copy();
            try {
                corrupt.setInt(9 + 4 * 4, 1 << 30); // bucket 0 claims to end far past the block
                assertThatThrownBy(() -> ShuffleBlocks.locate(corrupt, 0)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("corrupt");
                assertThatThrownBy(() -> DefaultCodec.INSTANCE.decode(corrupt.duplicate(), LOADER))
                        .isInstanceOf(QuiverException.class);
            } finally {
                corrupt.release();
            }
        } finally {
            block.release();
            notShuffle.release();
        }
    }

    @Test
    void numericColumnsAndMixedOnesRoundTrip() {
        Object[][] columns = {
            {1L, -2L, Long.MIN_VALUE}, {1, 2, -3}, {0.5, -1.0, Double.NaN}, {1L, 2, "three"}, {1L, null, 3L},
            {"a", List.of(1, 2)}, {},
        };
        Object[] buckets = new Object[columns.length * 2];
        for (int i = 0; i < columns.length; i++) {
            buckets[2 * i] = new KeyedBucket(columns[i], columns[(i + 1) % columns.length].length == columns[i].length
                    ? columns[(i + 1) % columns.length] : columns[i]);
            buckets[2 * i + 1] = columns[i];
        }
        int[] rows = new int[buckets.length];
        Arrays.fill(rows, 1);
        ByteBuf block = encode(ShuffleOutput.of(0, buckets, rows));
        try {
            ShuffleOutput back = (ShuffleOutput) DefaultCodec.INSTANCE.decode(block.duplicate(), LOADER);
            for (int b = 0; b < buckets.length; b++) {
                Object want = buckets[b];
                Object got = ShuffleBlocks.slice(block, b, LOADER).bucket(b);
                for (Object g : new Object[] {got, back.bucket(b)}) {
                    if (want instanceof KeyedBucket k) {
                        assertThat(((KeyedBucket) g).keys()).containsExactly(k.keys());
                        assertThat(((KeyedBucket) g).values()).containsExactly(k.values());
                    } else {
                        assertThat((Object[]) g).containsExactly((Object[]) want);
                    }
                }
            }
            // Exact boxed types survive: an Integer column does not come back as Longs.
            assertThat(((Object[]) back.bucket(3))[0]).isInstanceOf(Integer.class);
        } finally {
            block.release();
        }
    }

    @Test
    void aSliceIsNeverStoredAndHasNoSummary() {
        ShuffleOutput slice = sample().sliceOf(2);
        assertThatThrownBy(slice::rows).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> encode(slice)).isInstanceOf(QuiverException.class).hasMessageContaining("slice");
        assertThatThrownBy(() -> slice.sliceOf(1)).isInstanceOf(IllegalArgumentException.class);
    }
}
