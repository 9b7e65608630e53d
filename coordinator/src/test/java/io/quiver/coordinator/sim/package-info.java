/**
 * A deterministic simulation of the leader's scheduler (issue 6), in the manner of Kafka's
 * {@code RaftEventSimulationTest}: single-threaded, a fake clock, one seeded {@code Random}.
 *
 * <pre>
 *  SimSchedulerPropertyTest   jqwik: one Simulation per seed, all faults; and the same without faults
 *  SimScenarioTest            scripted failures at chosen moments, fixed seeds
 *  SimReplayTest              -Dquiver.sim.seed=N replays a seed; -Dquiver.sim.survey=N tabulates seeds 1..N
 *
 *  Simulation      the world: event queue and clock, election and /epoch, faults, workload, trace
 *  SimCoordinator  one coordinator process and term: wire messages -> SchedulerEvents, afterBatch, timers
 *  SimLeader       the scheduler as the harness drives it; FacadeAdapter implements it
 *  SimLink         a connection: in order, random delays, closes seen by both sides
 *  SimExecutor     TaskSlots + BlockStore + LeaderLink: epoch fence, runs, results, Register(inventory, active, failed)
 *  SimClient       submits, scatters, jobs, releases; resumes on every new connection; checks what it gets
 *  SimInvariants   ground truth kept by the test, the invariants, checked after every event
 *  SimValues       the value every ref must have, and the dataset job used
 * </pre>
 */
package io.quiver.coordinator.sim;
