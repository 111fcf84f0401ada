package io.cairn.server.node;

import io.cairn.consensus.RaftResult;
import io.cairn.consensus.loop.RaftListener;

/**
 * Why a request the loop took was not carried out: the loop's code, a {@link RaftResult} refusal or a
 * {@link RaftListener} outcome (LOST, UNKNOWN). {@link EtcdStatus#of(Throwable)} turns it into etcd's status.
 */
public final class ProposalFailed extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long code;

    /**
     * @param code the loop's code.
     */
    public ProposalFailed(final long code) {
        super("proposal failed: " + code, null, false, false);
        this.code = code;
    }

    /**
     * @return the loop's code ({@link RaftResult} or {@link RaftListener}).
     */
    public long code() {
        return code;
    }
}
