package io.quiver.coordinator.sched;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.RefId;
import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Client;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class OwnedRefsTest {
    @Test
    void keepsTheMembersAndOrderOfALinkedHashSet() {
        Client c = new Client("c");
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            blocks.add(new Block(new RefId(1, i), null, c));
        }
        OwnedRefs owned = new OwnedRefs();
        Set<Block> expected = new LinkedHashSet<>();
        Random random = new Random(5);
        for (int i = 0; i < 20_000; i++) {
            Block b = blocks.get(random.nextInt(blocks.size()));
            switch (random.nextInt(5)) {
                case 0, 1 -> assertThat(owned.add(b)).isEqualTo(expected.add(b));
                case 2, 3 -> assertThat(owned.remove(b)).isEqualTo(expected.remove(b));
                default -> {
                    if (random.nextInt(10) == 0) {
                        owned.clear();
                        expected.clear();
                    }
                }
            }
            assertThat(owned).containsExactlyElementsOf(expected);
            assertThat(owned.size()).isEqualTo(expected.size());
            assertThat(owned.contains(b)).isEqualTo(expected.contains(b));
        }
        owned.clear();
        assertThat(blocks).allMatch(b -> b.prevOwned == null && b.nextOwned == null, "unlinked once cleared");
    }
}
