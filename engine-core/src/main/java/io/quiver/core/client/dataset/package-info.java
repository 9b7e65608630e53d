/**
 * Internal: the client's {@link io.quiver.Dataset} implementation. Datasets build a graph of
 * client nodes; actions flatten it into a {@link io.quiver.core.plan.LogicalPlan} and run it
 * through a {@link io.quiver.core.client.dataset.JobService}, which the real client implements.
 */
package io.quiver.core.client.dataset;
