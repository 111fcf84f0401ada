package io.cairn.server.node;

import io.cairn.consensus.Role;
import io.cairn.consensus.keyspace.Defragmenter;
import io.cairn.consensus.keyspace.LeaseKeeper;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccReader;
import io.cairn.engine.mvcc.MvccStore;
import io.cairn.embedded.ClusterClient;
import io.cairn.embedded.LeaseClient;
import io.cairn.embedded.Watch;
import io.cairn.embedded.WatchSink;
import io.cairn.embedded.cluster.ClusterView;
import io.cairn.embedded.kv.WatchOptions;
import io.etcd.jetcd.api.ResponseHeader;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import org.agrona.DirectBuffer;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * This member as the client-facing services see it (etcd's v3rpc holds an {@code etcdserver.RaftKV}, not the server):
 * validate and write through Raft, read the local keyspace after a ReadIndex round or at once, ask the leader's lease
 * keeper, change the membership, move the leadership, and hand what only the leader serves to the leader. The gRPC
 * services, the watch hub and the JSON gateway depend on this interface alone; {@link GrpcNode} implements it over
 * the embedded {@code CairnNode}, whose calls these are, answered through gRPC.
 */
public interface Node {
    /** The etcd version this API matches (clients look at it). */
    String ETCD_VERSION = "3.4.23";
    /** etcd's minimum lease TTL with a 100 ms heartbeat and 1 s election timeout: ceil(1.5 × election). */
    long LEASE_TTL_MIN = LeaseClient.TTL_MIN_SECONDS;
    /** Deadline of a call one member makes to the leader's client port for what only the leader serves. */
    long LEADER_CALL_DEADLINE_MS = 10_000;

    /**
     * @return the options of a call to the leader's client port: its deadline starts now.
     */
    static CallOptions leaderCall() {
        return CallOptions.DEFAULT.withDeadlineAfter(LEADER_CALL_DEADLINE_MS, TimeUnit.MILLISECONDS);
    }

    /**
     * @param revision the revision to report.
     * @return etcd's header: cluster ID, member ID, revision, Raft term.
     */
    ResponseHeader header(long revision);

    /**
     * @param command a keyspace command.
     * @param length  its length.
     * @return {@link MvccError#OK} or etcd's reason to refuse it.
     */
    int validate(DirectBuffer command, int length);

    /**
     * Proposes a validated command and answers the caller from this member's own apply of it (a follower's loop
     * forwards it to the leader inside Raft); retried while leadership is moving.
     *
     * @param command  the encoded command (copied before this returns).
     * @param length   its length.
     * @param decode   the keyspace response → etcd's response.
     * @param observer the caller.
     * @param <R>      etcd's response type.
     */
    <R> void write(DirectBuffer command, int length, Function<DirectBuffer, R> decode, StreamObserver<R> observer);

    /**
     * Watches a key or a range on this member's keyspace (the embedded node's dispatcher).
     *
     * @param options what to watch.
     * @param sink    gets the changes as views, on the node's watch thread.
     * @return the watch, to cancel.
     */
    Watch watch(WatchOptions options, WatchSink sink);

    /**
     * @return completes once this member has applied everything committed when it was asked (ReadIndex).
     */
    CompletableFuture<Long> readBarrier();

    /**
     * Proposes a command (an AUTH change among them) and completes with this member's apply of it.
     *
     * @param command the encoded command (copied before this returns).
     * @param length  its length.
     * @return the keyspace's response; completes exceptionally with a {@code CairnException} for a refusal.
     */
    CompletableFuture<DirectBuffer> propose(DirectBuffer command, int length);

    /**
     * @return a number that changes whenever the authentication state may have (an AUTH command applied, the
     *     keyspace replaced by a snapshot): the auth cache reloads when it moves.
     */
    long authChanges();

    /**
     * Runs {@code work} with a refreshed reader of the local keyspace.
     *
     * @param work what to read.
     * @param <T>  its result.
     * @return the result.
     */
    <T> T read(Function<MvccReader, T> work);

    /**
     * Asks the leader's lease keeper (this member must lead).
     *
     * @param type    {@link LeaseKeeper#KEEP_ALIVE} or {@link LeaseKeeper#TIME_TO_LIVE}.
     * @param leaseId the lease.
     * @return completes with {code, ttl seconds}.
     */
    CompletableFuture<long[]> leaseRequest(byte type, long leaseId);

    /**
     * @return a new lease ID: this member's ID in the top bits, then time and a counter (etcd's shape), positive.
     */
    long newLeaseId();

    /**
     * @return etcd's Cluster calls; any member takes them (a follower relays them to the leader inside Raft).
     */
    ClusterClient cluster();

    /**
     * Asks this member's loop to hand leadership to {@code target}, and waits (bounded) until it has.
     *
     * @param target the member to lead.
     * @return completes when {@code target} leads; fails with {@link ProposalFailed} (NOT_LEADER, INVALID) or a
     *     timeout.
     */
    CompletableFuture<Void> transferLeadership(int target);

    /**
     * @return the cluster as this member's configuration says now.
     */
    ClusterView view();

    /**
     * @return this member's ID.
     */
    int selfId();

    /**
     * @return this member's etcd member ID: what clients know it by (response headers, member list).
     */
    default long memberId() {
        return view().etcdIdOf(selfId());
    }

    /**
     * @param raftId a member's Raft ID (0: none).
     * @return its etcd member ID (0 for none).
     */
    default long memberIdOf(final int raftId) {
        return raftId == 0 ? 0 : view().etcdIdOf(raftId);
    }

    /**
     * @return the leader's ID as last known, 0 if none.
     */
    int leaderId();

    /**
     * @return this member's role ({@link Role}).
     */
    int role();

    /**
     * @return the Raft term as last known.
     */
    long term();

    /**
     * Waits (a bounded while) for some member to lead.
     *
     * @return true when a leader is known.
     */
    boolean awaitLeader();

    /**
     * @param duty run once a second on the node's watchdog (with the node's other duties: one wake-up for all).
     */
    void everySecond(Runnable duty);

    /**
     * @return the leader's client channel when another member leads and its client URL is known, else null.
     */
    ManagedChannel leaderChannel();

    /**
     * Hands a request this member cannot serve to the leader (waiting a bounded while for one to be known); the
     * leader's answer reaches the caller with this member's ID in its header.
     *
     * @param forward  re-sends the request on the leader's channel.
     * @param observer the caller.
     * @param <R>      the response type.
     * @return false when no leader's client URL is known: the caller answers.
     */
    <R> boolean forwardToLeader(Forward<R> forward, StreamObserver<R> observer);

    /**
     * @return where work that may wait runs (never the loop's or Netty's threads).
     */
    Executor executor();

    /**
     * @return this member's keyspace defragmented (etcd's Defragment: local to the member), or why not.
     */
    CompletableFuture<Defragmenter.Report> defragment();

    /**
     * @return the local keyspace (its size, client snapshots).
     */
    MvccStore store();

    /**
     * @return this member's data directory.
     */
    Path dataDir();

    /**
     * Re-sends a request to the leader.
     *
     * @param <R> the response type.
     */
    @FunctionalInterface
    interface Forward<R> {
        /**
         * @param leader   the leader's client channel.
         * @param observer the original caller.
         */
        void send(ManagedChannel leader, StreamObserver<R> observer);
    }
}
