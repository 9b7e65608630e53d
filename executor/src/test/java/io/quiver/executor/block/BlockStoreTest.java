package io.quiver.executor.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.quiver.RefId;
import io.quiver.core.codec.DefaultCodec;
import io.quiver.executor.block.BlockStore.Residency;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockStoreTest {
    private static final Function<ByteBuf, Object> DECODE =
            b -> DefaultCodec.INSTANCE.decode(b, BlockStoreTest.class.getClassLoader());

    @TempDir
    Path tmp;
    private BlockStore store;

    @AfterEach
    void close() {
        if (store != null) {
            store.close();
        }
    }

    /** Spills synchronously on the calling thread, so tests need not wait. */
    private BlockStore store(long limit) {
        store = new BlockStore(tmp.resolve("spill"), limit, Runnable::run, ByteBufAllocator.DEFAULT);
        return store;
    }

    private static ByteBuf encoded(Object value) {
        return DefaultCodec.INSTANCE.encode(value, ByteBufAllocator.DEFAULT);
    }

    private static double[] doubles(int n, double v) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    @Test
    void countsEncodedBytesInMemoryAndDecodesOnce() {
        BlockStore s = store(10 << 20);
        RefId ref = new RefId(1, 1);
        ByteBuf data = encoded(doubles(1000, 2.0));
        int size = data.readableBytes();
        s.put(ref, data, null, false);
        assertThat(s.memoryUsed()).isEqualTo(size);
        assertThat(s.size(ref)).isEqualTo(size);
        assertThat(s.residency(ref)).isEqualTo(Residency.MEMORY);

        Object first = s.value(ref, DECODE);
        Object second = s.value(ref, DECODE);
        assertThat(first).isSameAs(second);
        assertThat((double[]) first).hasSize(1000).containsOnly(2.0);
        assertThat(s.decodes(ref)).isEqualTo(1);
    }

    @Test
    void aLiveValuePutWithTheBlockIsNeverDecoded() {
        BlockStore s = store(1 << 20);
        RefId ref = new RefId(1, 2);
        String live = "hello";
        s.put(ref, encoded(live), live, true);
        assertThat(s.value(ref, DECODE)).isSameAs(live);
        assertThat(s.decodes(ref)).isZero();
    }

    @Test
    void concurrentReadersDecodeOnce() throws Exception {
        BlockStore s = store(64 << 20);
        RefId ref = new RefId(1, 3);
        s.put(ref, encoded(doubles(1 << 20, 1.0)), null, false);
        AtomicInteger decodes = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Object>> got = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                got.add(pool.submit(() -> {
                    go.await();
                    return s.value(ref, b -> {
                        decodes.incrementAndGet();
                        return DECODE.apply(b);
                    });
                }));
            }
            go.countDown();
            Object first = got.get(0).get(10, TimeUnit.SECONDS);
            for (Future<Object> f : got) {
                assertThat(f.get(10, TimeUnit.SECONDS)).isSameAs(first);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(decodes).hasValue(1);
        assertThat(s.decodes(ref)).isEqualTo(1);
    }

    @Test
    void overTheLimitSpillsLeastRecentlyUsedAndReadsBackOnDemand() throws Exception {
        BlockStore s = store(2_500_000);
        RefId a = new RefId(2, 1);
        RefId b = new RefId(2, 2);
        RefId c = new RefId(2, 3);
        s.put(a, encoded(doubles(125_000, 1.0)), null, false); // 1,000,005 bytes each
        s.put(b, encoded(doubles(125_000, 2.0)), null, false);
        s.value(a, DECODE); // a is now more recently used than b
        s.put(c, encoded(doubles(125_000, 3.0)), null, false);

        assertThat(s.residency(b)).isEqualTo(Residency.DISK);
        assertThat(s.residency(a)).isEqualTo(Residency.MEMORY);
        assertThat(s.residency(c)).isEqualTo(Residency.MEMORY);
        assertThat(s.memoryUsed()).isEqualTo(2_000_010).isLessThanOrEqualTo(s.memoryLimit());
        assertThat(s.spills()).isEqualTo(1);
        try (var files = Files.list(tmp.resolve("spill"))) {
            assertThat(files.count()).isEqualTo(1);
        }

        // Reading b back brings it into memory and pushes out the least recently used (a).
        assertThat((double[]) s.value(b, DECODE)).containsOnly(2.0);
        assertThat(s.residency(b)).isEqualTo(Residency.MEMORY);
        assertThat(s.residency(a)).isEqualTo(Residency.DISK);
        assertThat(s.memoryUsed()).isLessThanOrEqualTo(s.memoryLimit());
        assertThat(s.readBacks()).isEqualTo(1);

        ByteBuf raw = s.retainedData(a);
        try {
            assertThat((double[]) DECODE.apply(raw.duplicate())).containsOnly(1.0);
        } finally {
            raw.release();
        }
        assertThat(s.inventory()).hasSize(3);
    }

    @Test
    void retainedDataIfInMemoryNeverTouchesTheDisk() {
        BlockStore s = store(100);
        RefId ref = new RefId(3, 1);
        s.put(ref, encoded(new byte[500]), null, false);
        assertThat(s.residency(ref)).isEqualTo(Residency.DISK);
        assertThat(s.retainedDataIfInMemory(ref)).isNull();
        ByteBuf data = s.retainedData(ref);
        try {
            assertThat(data.readableBytes()).isEqualTo(505);
        } finally {
            data.release();
        }
    }

    @Test
    void aMapOutputsRowSummaryGoesWithItIntoTheInventoryEvenOnceSpilled() {
        BlockStore s = store(1_500_000);
        RefId map = new RefId(6, 1);
        RefId other = new RefId(6, 2);
        s.put(map, encoded(doubles(125_000, 1.0)), null, false, new int[] {0, 4, 0});
        s.put(other, encoded(doubles(125_000, 2.0)), null, false); // spills the map output
        assertThat(s.residency(map)).isEqualTo(Residency.DISK);
        assertThat(s.inventory()).anySatisfy(b -> {
            assertThat(b.ref()).isEqualTo(map);
            assertThat(b.bucketRows()).containsExactly(0, 4, 0);
        }).anySatisfy(b -> {
            assertThat(b.ref()).isEqualTo(other);
            assertThat(b.bucketRows()).isNull();
        });
    }

    @Test
    void blocksBeingReceivedCountAsMemoryUsedAndPushStoredBlocksToDisk() {
        BlockStore s = store(1_500_000);
        RefId a = new RefId(5, 1);
        s.put(a, encoded(doubles(125_000, 1.0)), null, false); // ~1 MB, fits
        assertThat(s.residency(a)).isEqualTo(Residency.MEMORY);

        s.receiving(800_000); // a block arriving: together over the limit, so the stored one spills
        assertThat(s.receivingBytes()).isEqualTo(800_000);
        assertThat(s.residency(a)).isEqualTo(Residency.DISK);
        assertThat(s.memoryUsed()).isEqualTo(800_000);

        s.receiving(-800_000); // stored or dropped: no longer counted
        assertThat(s.receivingBytes()).isZero();
        assertThat(s.memoryUsed()).isZero();
        assertThat((double[]) s.value(a, DECODE)).containsExactly(doubles(125_000, 1.0)); // read back from disk
    }

    @Test
    void dropReleasesTheBufferAndTheFile() throws Exception {
        BlockStore s = store(1_500_000);
        RefId a = new RefId(4, 1);
        RefId b = new RefId(4, 2);
        ByteBuf aData = encoded(doubles(125_000, 1.0));
        s.put(a, aData, null, false);
        s.put(b, encoded(doubles(125_000, 2.0)), null, false); // spills a
        assertThat(s.residency(a)).isEqualTo(Residency.DISK);
        assertThat(aData.refCnt()).isZero();

        ByteBuf bData = s.retainedDataIfInMemory(b);
        assertThat(bData.refCnt()).isEqualTo(2);
        assertThat(s.drop(b)).isTrue();
        assertThat(bData.refCnt()).isEqualTo(1); // only the reader's reference is left
        bData.release();
        assertThat(s.memoryUsed()).isZero();

        assertThat(s.drop(a)).isTrue();
        try (var files = Files.list(tmp.resolve("spill"))) {
            assertThat(files.count()).isZero();
        }
        assertThat(s.drop(a)).isFalse();
        assertThat(s.contains(a)).isFalse();
        assertThatThrownBy(() -> s.value(a, DECODE)).isInstanceOf(BlockStore.MissingBlockException.class)
                .hasMessageContaining(a.toString());
        assertThat(s.retainedData(a)).isNull();
    }

    @Test
    void replacingABlockReleasesTheOldOne() {
        BlockStore s = store(1 << 20);
        RefId ref = new RefId(5, 1);
        ByteBuf first = encoded("one");
        s.put(ref, first, null, false);
        s.put(ref, encoded("two!"), null, false);
        assertThat(first.refCnt()).isZero();
        assertThat(s.value(ref, DECODE)).isEqualTo("two!");
        assertThat(s.memoryUsed()).isEqualTo(s.size(ref));

        ByteBuf third = encoded("three");
        assertThat(s.putIfAbsent(ref, third)).isFalse();
        assertThat(third.refCnt()).isZero();
    }

    @Test
    void closeReleasesEverythingAndRemovesTheSpillDirectory() {
        BlockStore s = store(1000);
        ByteBuf kept = encoded(new byte[600]);
        s.put(new RefId(6, 1), kept, null, false);
        s.put(new RefId(6, 2), encoded(new byte[700]), null, false);
        ByteBuf second = s.retainedDataIfInMemory(new RefId(6, 2));
        assertThat(Files.exists(tmp.resolve("spill"))).isTrue();
        s.close();
        s.close();
        assertThat(kept.refCnt()).isZero();
        assertThat(second.refCnt()).isEqualTo(1);
        second.release();
        assertThat(Files.exists(tmp.resolve("spill"))).isFalse();
        assertThat(s.memoryUsed()).isZero();

        ByteBuf late = encoded("late");
        s.put(new RefId(6, 3), late, null, false);
        assertThat(late.refCnt()).isZero();
    }

    @Test
    void largeBlocksLiveInDirectMemory() {
        BlockStore s = store(1 << 20);
        ByteBuf small = s.allocate(100);
        ByteBuf large = s.allocate(BlockStore.DIRECT_THRESHOLD);
        try {
            assertThat(small.isDirect()).isFalse();
            assertThat(large.isDirect()).isTrue();
            assertThat(large.capacity()).isEqualTo(BlockStore.DIRECT_THRESHOLD);
        } finally {
            small.release();
            large.release();
        }
        assertThatThrownBy(() -> s.allocate(3L << 30)).hasMessageContaining("too large");
        assertThat(ByteBufUtil.hexDump(new byte[0])).isEmpty();
    }
}
