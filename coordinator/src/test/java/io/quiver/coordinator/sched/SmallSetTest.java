package io.quiver.coordinator.sched;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SmallSetTest {
    @Test
    void keepsTheMembersAndOrderOfALinkedHashSetAcrossOneTwoAndMoreMembers() {
        SmallSet<Integer> set = new SmallSet<>();
        Set<Integer> expected = new LinkedHashSet<>();
        Random random = new Random(3);
        for (int i = 0; i < 20_000; i++) {
            Integer x = random.nextInt(6);
            switch (random.nextInt(5)) {
                case 0, 1 -> assertThat(set.add(x)).isEqualTo(expected.add(x));
                case 2 -> assertThat(set.remove(x)).isEqualTo(expected.remove(x));
                case 3 -> {
                    for (Iterator<Integer> it = set.iterator(); it.hasNext(); ) {
                        if (it.next().equals(x)) {
                            it.remove();
                        }
                    }
                    expected.remove(x);
                }
                default -> {
                    if (random.nextInt(10) == 0) {
                        set.clear();
                        expected.clear();
                    }
                }
            }
            assertThat(set).containsExactlyElementsOf(expected);
            assertThat(set.contains(x)).isEqualTo(expected.contains(x));
        }
    }
}
