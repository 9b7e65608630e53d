package io.quiver.executor;

import io.quiver.core.protocol.Message.BlockFailure;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.TaskResult;

/** What the executor tells its leader. Callable from any thread; never blocks. */
interface Reports {
    /** Queues a task result; results queued while a report is pending go in the same message. */
    void taskResult(TaskResult result);

    /** A block arrived (put or fetched) and was verified. */
    void stored(BlockInfo block);

    /** A block failed to arrive (checksum mismatch, broken stream). */
    void blockFailed(BlockFailure failure);

    /** Memory use and queue length, now. */
    void status();
}
