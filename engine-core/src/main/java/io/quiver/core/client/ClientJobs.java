package io.quiver.core.client;

import io.quiver.Ref;
import io.quiver.core.client.dataset.JobResult;
import io.quiver.core.client.dataset.JobService;
import io.quiver.core.plan.LogicalPlan;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/** Stateless, any thread: the client's side of dataset jobs, what {@link io.quiver.core.client.dataset.DatasetImpl} runs on. */
final class ClientJobs implements JobService {
    private static final AtomicLong OWNERS = new AtomicLong();

    private final long ownerId = OWNERS.incrementAndGet();
    private final QuiverClient client;

    ClientJobs(QuiverClient client) {
        this.client = client;
    }

    @Override
    public long ownerId() {
        return ownerId;
    }

    @Override
    public RefState refState(Ref<?> ref) {
        if (!(ref instanceof RefImpl<?> r) || r.client != client) {
            return RefState.FOREIGN;
        }
        return r.closed.get() ? RefState.RELEASED : RefState.LIVE;
    }

    @Override
    public boolean isBroadcast(Ref<?> ref) {
        return client.isBroadcast(ref.id());
    }

    @Override
    public <R> Ref<R> submit(LogicalPlan plan, Function<JobResult, R> finish) {
        return client.submitJob(plan, finish);
    }

    @Override
    public String explain(LogicalPlan plan) {
        return client.explainJob(plan);
    }
}
