package io.quiver.executor;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.RefId;
import io.quiver.executor.block.BlockStore;
import io.quiver.core.protocol.Message.Failure;
import org.junit.jupiter.api.Test;

/** How a task's throwable is reported to the leader: its own failure, or an input that was not here. */
class TaskFailureKindTest {
    @Test
    void anInputMissingFromTheStoreIsReportedAsMissingAndNamesTheBlock() {
        RefId input = new RefId(7, 3);
        Failure f = TaskRunner.failure(new BlockStore.MissingBlockException(input), "exec-1", null);
        assertThat(f.kind()).isEqualTo(Failure.MISSING);
        assertThat(f.inputAbsent()).isTrue();
        assertThat(f.missing()).isEqualTo(input);
        assertThat(f.message()).contains(input.toString()).contains("exec-1");
    }

    @Test
    void whatUserCodeThrowsIsTheTasksOwnFailure() {
        Failure f = TaskRunner.failure(new IllegalStateException("boom"), "exec-1", null);
        assertThat(f.kind()).isEqualTo(Failure.TASK);
        assertThat(f.inputAbsent()).isFalse();
        assertThat(f.missing()).isNull();
        assertThat(f.message()).isEqualTo("boom");
    }
}
