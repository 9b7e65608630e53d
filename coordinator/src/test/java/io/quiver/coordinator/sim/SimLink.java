package io.quiver.coordinator.sim;

import io.quiver.coordinator.sched.Link;
import io.quiver.core.protocol.Message;

/**
 * One simulated connection between a peer (executor or client) and a coordinator; the scheduler
 * holds it as its {@link Link}. Confined to the simulation thread. Each direction delivers in order
 * after random delays. Closing (by either side, or a process dying) stops new sends at once; each
 * side learns of it after what was already in flight towards it, unless that side closed it
 * itself, which discards what it had not read. A network cut loses what is in flight both ways.
 */
final class SimLink implements Link {
    /** A peer of the coordinators: a simulated executor or client. */
    interface Peer {
        String id();

        void onMessage(SimLink link, Message message);

        /** The link closed, or never opened (the coordinator was gone). */
        void onClosed(SimLink link);
    }

    private final Simulation sim;
    final long id;
    final SimCoordinator leader;
    final Peer peer;
    /** Neither side closed it, and the network did not break it: sends go out. */
    private boolean open = true;
    /** The coordinator accepted it. */
    private boolean opened;
    /** Cut by the network: nothing in flight arrives. */
    private boolean severed;
    /** Each side has seen it close (it reads nothing more) and has been told (once). */
    private boolean leaderSawClose;
    private boolean peerSawClose;
    private boolean leaderNotified;
    private boolean peerNotified;
    /** When the last message each way arrives: a link delivers in order. */
    private long lastToLeader;
    private long lastToPeer;
    /** While a message to the peer is being delivered: when the leader sent it. */
    long deliveringSentAt;

    private SimLink(Simulation sim, long id, SimCoordinator leader, Peer peer) {
        this.sim = sim;
        this.id = id;
        this.leader = leader;
        this.peer = peer;
    }

    /** Connects {@code peer} to {@code leader}; the coordinator sees the link open after a delay. */
    static SimLink connect(Simulation sim, SimCoordinator leader, Peer peer) {
        SimLink link = new SimLink(sim, sim.nextLinkId(), leader, peer);
        long at = link.lastToLeader = sim.now() + sim.netDelay();
        sim.at(at, () -> {
            if (link.leaderSawClose) {
                return;
            }
            if (!leader.acceptsConnections()) {
                link.breakLink("connect refused: " + leader.name() + " is gone");
                return;
            }
            link.opened = true;
            leader.onOpen(link);
        });
        return link;
    }

    boolean isOpen() {
        return open;
    }

    /** The leader's side: a message to the peer. */
    @Override
    public void send(Message message) {
        if (!open) {
            return;
        }
        sim.invariants.leaderSent(leader, peer, message);
        long sentAt = sim.now();
        long at = lastToPeer = Math.max(lastToPeer, sim.now() + sim.netDelay());
        sim.at(at, () -> {
            if (!peerSawClose && !severed) {
                sim.trace(() -> leader.name() + " -> " + peer.id() + ": " + Simulation.describe(message));
                deliveringSentAt = sentAt;
                peer.onMessage(this, message);
            }
        });
    }

    /** The peer's side: a message to the leader. */
    void sendToLeader(Message message) {
        if (!open) {
            return;
        }
        long at = lastToLeader = Math.max(lastToLeader, sim.now() + sim.netDelay());
        sim.at(at, () -> {
            if (!leaderSawClose && opened && !severed) {
                sim.invariants.leaderHeard(leader, peer, message);
                leader.onMessage(this, message); // the coordinator traces the event it becomes
            }
        });
    }

    /** The leader's side closes it (today's scheduler does, when an executor registers again). */
    @Override
    public void close() {
        closeBy(true, "closed by " + leader.name());
    }

    /** The peer's side closes it. */
    void closeByPeer(String why) {
        closeBy(false, why);
    }

    private void closeBy(boolean leaderSide, String why) {
        if (!open) {
            return;
        }
        open = false;
        sim.trace(() -> "link " + id + " " + peer.id() + "<->" + leader.name() + " closed: " + why);
        if (leaderSide) {
            leaderSawClose = true;
            sim.at(sim.now(), this::leaderSeesClose);
            sim.at(Math.max(lastToPeer, sim.now() + sim.netDelay()), this::peerSeesClose);
        } else {
            peerSawClose = true;
            sim.at(sim.now(), this::peerSeesCloseNotified);
            sim.at(Math.max(lastToLeader, sim.now() + sim.netDelay()), this::leaderSeesClose);
        }
    }

    /**
     * A process at one end died: both sides see the link close, after what was already sent
     * towards them (it had left the dead process).
     */
    void breakLink(String why) {
        if (!open) {
            return;
        }
        open = false;
        sim.trace(() -> "link " + id + " " + peer.id() + "<->" + leader.name() + " broke: " + why);
        sim.at(Math.max(lastToPeer, sim.now() + sim.netDelay()), this::peerSeesClose);
        sim.at(Math.max(lastToLeader, sim.now() + sim.netDelay()), this::leaderSeesClose);
    }

    /** The network cuts it: what is in flight either way is lost, and both sides see it close. */
    void cut(String why) {
        if (!open) {
            return;
        }
        open = false;
        severed = true;
        sim.trace(() -> "link " + id + " " + peer.id() + "<->" + leader.name() + " cut: " + why);
        sim.at(sim.now() + sim.netDelay(), this::peerSeesClose);
        sim.at(sim.now() + sim.netDelay(), this::leaderSeesClose);
    }

    private void leaderSeesClose() {
        boolean wasOpened = opened;
        leaderSawClose = true;
        if (wasOpened && !leaderNotified) {
            leaderNotified = true;
            leader.onLinkClosed(this);
        }
    }

    private void peerSeesClose() {
        peerSawClose = true;
        peerSeesCloseNotified();
    }

    private void peerSeesCloseNotified() {
        if (!peerNotified) {
            peerNotified = true;
            peer.onClosed(this);
        }
    }

    /**
     * By id, not by identity: the scheduler keys maps by its links, and iteration order must not
     * depend on identity hash codes, or a seed would not replay.
     */
    @Override
    public int hashCode() {
        return Long.hashCode(id);
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public String toString() {
        return "link-" + id + "(" + peer.id() + "<->" + leader.name() + ")";
    }
}
