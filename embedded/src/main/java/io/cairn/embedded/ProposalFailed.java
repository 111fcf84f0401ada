package io.cairn.embedded;

import io.cairn.consensus.RaftResult;
import io.cairn.consensus.loop.RaftListener;

/**
 * Why a request the loop took was not carried out: the loop's code, a {@link RaftResult} refusal or a
 * {@link RaftListener} outcome (LOST, UNKNOWN), kept beside etcd's reason ({@link #error()}).
 */
public final class ProposalFailed extends CairnException {
    private static final long serialVersionUID = 1L;
    private final long code;

    /**
     * @param code the loop's code.
     */
    public ProposalFailed(final long code) {
        super(CairnError.ofLoop(code));
        this.code = code;
    }

    /**
     * @return the loop's code ({@link RaftResult} or {@link RaftListener}).
     */
    public long code() {
        return code;
    }
}
