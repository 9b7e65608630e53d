package io.quiver.coordinator.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.RefId;
import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RefTableTest {
    private record Entry(RefId ref, int value) {}

    @Test
    void behavesAsAHashMapByKeyUnderRandomPutsAndRemoves() {
        RefTable<Entry> table = new RefTable<>(Entry::ref);
        Map<RefId, Entry> expected = new HashMap<>();
        Random random = new Random(11);
        for (int i = 0; i < 200_000; i++) {
            // Few owners and a narrow range of sequence numbers: long probe runs, many removals inside them.
            RefId key = new RefId(random.nextInt(3), random.nextInt(5_000));
            int op = random.nextInt(4);
            if (op == 0) {
                assertThat(table.remove(key)).isEqualTo(expected.remove(key));
            } else if (op == 1) {
                Entry e = new Entry(key, i);
                assertThat(table.putIfAbsent(e)).isEqualTo(expected.putIfAbsent(key, e));
            } else if (op == 2) {
                Entry e = new Entry(key, i);
                assertThat(table.put(e)).isEqualTo(expected.put(key, e));
            } else {
                assertThat(table.get(key)).isEqualTo(expected.get(key));
            }
            assertThat(table.size()).isEqualTo(expected.size());
        }
        assertThat(new ArrayList<>(table)).containsExactlyInAnyOrderElementsOf(expected.values());
        for (RefId key : List.copyOf(expected.keySet())) {
            assertThat(table.remove(key)).isEqualTo(expected.remove(key));
        }
        assertThat(table).isEmpty();
    }

    @Test
    void iteratesInTheSameOrderForTheSameKeysAndRefusesChangesMeanwhile() {
        RefTable<Entry> a = new RefTable<>(Entry::ref);
        RefTable<Entry> b = new RefTable<>(Entry::ref);
        for (int i = 0; i < 1_000; i++) {
            a.put(new Entry(new RefId(7, i), i));
            b.put(new Entry(new RefId(7, i), -i));
        }
        assertThat(a.stream().map(Entry::ref).toList()).isEqualTo(b.stream().map(Entry::ref).toList());

        assertThatThrownBy(() -> {
            for (Entry e : a) {
                a.remove(e.ref());
            }
        }).isInstanceOf(ConcurrentModificationException.class);
    }
}
