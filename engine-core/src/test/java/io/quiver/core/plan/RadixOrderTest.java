package io.quiver.core.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** sortByKey's radix order of long keys agrees with a stable comparison sort. */
class RadixOrderTest {
    @Test
    void ordersLikeAStableSortOfSignedKeysBothWays() {
        Random r = new Random(7);
        long[] keys = new long[5000];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = switch (i % 4) {
                case 0 -> r.nextLong();
                case 1 -> r.nextInt(50) - 25; // many duplicates, both signs
                case 2 -> i % 8 == 2 ? Long.MIN_VALUE : Long.MAX_VALUE;
                default -> r.nextInt();
            };
        }
        for (boolean ascending : new boolean[] {true, false}) {
            long[] bits = new long[keys.length];
            for (int i = 0; i < keys.length; i++) {
                long b = keys[i] ^ Long.MIN_VALUE;
                bits[i] = ascending ? b : ~b;
            }
            int[] got = KeyedOps.radixOrder(bits);
            Comparator<Integer> byKey = Comparator.comparingLong(i -> keys[i]);
            Integer[] want = IntStream.range(0, keys.length).boxed().toArray(Integer[]::new);
            Arrays.sort(want, ascending ? byKey : byKey.reversed()); // stable
            assertThat(got).containsExactly(Arrays.stream(want).mapToInt(Integer::intValue).toArray());
        }
    }

    @Test
    void sameKeysKeepTheirOrder() {
        assertThat(KeyedOps.radixOrder(new long[] {5, 5, 5})).containsExactly(0, 1, 2);
        assertThat(KeyedOps.radixOrder(new long[0])).isEmpty();
    }
}
