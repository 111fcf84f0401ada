package io.cairn.server.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.cairn.engine.mvcc.MvccConfig;
import io.cairn.engine.mvcc.MvccError;
import io.cairn.engine.mvcc.MvccResponse;
import io.cairn.engine.mvcc.MvccStore;
import io.cairn.server.node.EtcdStatus;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.ResponseHeader;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.grpc.Status;
import org.agrona.ExpandableDirectByteBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: etcd's protobuf requests become keyspace commands with every field honoured, and keyspace responses become
 * etcd's protobuf responses with etcd's header; refusals become etcd's gRPC status and message. Method: requests
 * built with jetcd's generated classes, applied to a real store, answers compared field by field.
 */
class EtcdCodecTest {
    private static final ResponseHeader BASE =
        ResponseHeader.newBuilder().setClusterId(11).setMemberId(22).setRaftTerm(3).build();

    @TempDir
    Path dir;
    MvccStore store;
    final EtcdCommands commands = new EtcdCommands();
    final EtcdAnswers answers = new EtcdAnswers();
    final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(4096);
    long index;

    @BeforeEach
    void open() throws IOException {
        store = MvccStore.open(MvccConfig.defaults(dir).withSizes(64L << 20, 32L << 20));
    }

    @AfterEach
    void close() {
        store.close();
    }

    private int apply() {
        store.beginBatch();
        store.apply(commands.buffer(), 0, commands.length(), response, 0);
        store.commit(++index, 3);
        return MvccResponse.status(response, 0);
    }

    private static ByteString bytes(final String text) {
        return ByteString.copyFromUtf8(text);
    }

    @Test
    void shouldCarryPutAndRangeFieldsBothWays() {
        commands.put(PutRequest.newBuilder().setKey(bytes("a")).setValue(bytes("1")).build());
        assertEquals(MvccError.OK, apply());
        commands.put(PutRequest.newBuilder().setKey(bytes("a")).setValue(bytes("2")).setPrevKv(true).build());
        apply();
        final var put = answers.put(BASE, response, 0);
        assertEquals(3, put.getHeader().getRevision());
        assertEquals(11, put.getHeader().getClusterId());
        assertEquals(22, put.getHeader().getMemberId());
        assertEquals(3, put.getHeader().getRaftTerm());
        assertEquals("1", put.getPrevKv().getValue().toStringUtf8());
        assertEquals(2, put.getPrevKv().getModRevision());

        commands.put(PutRequest.newBuilder().setKey(bytes("b")).setValue(bytes("x")).build());
        apply();
        commands.range(RangeRequest.newBuilder().setKey(bytes("a")).setRangeEnd(bytes("c")).setLimit(1)
            .setSortOrder(RangeRequest.SortOrder.DESCEND).setSortTarget(RangeRequest.SortTarget.MOD).build());
        assertEquals(MvccError.OK, apply());
        final var range = answers.range(BASE, response, 0);
        assertEquals(2, range.getCount());
        assertTrue(range.getMore());
        assertEquals("b", range.getKvs(0).getKey().toStringUtf8());
        assertEquals(1, range.getKvs(0).getVersion());
        assertEquals(4, range.getKvs(0).getCreateRevision());

        commands.deleteRange(DeleteRangeRequest.newBuilder().setKey(bytes("\0")).setRangeEnd(bytes("\0"))
            .setPrevKv(true).build());
        apply();
        final var deleted = answers.deleteRange(BASE, response, 0);
        assertEquals(2, deleted.getDeleted());
        assertEquals("a", deleted.getPrevKvs(0).getKey().toStringUtf8());
        assertEquals(5, deleted.getHeader().getRevision());
    }

    @Test
    void shouldCarryNestedTxnAndLeaseCompareThatJetcdProtoLacks() {
        commands.leaseGrant(77, 60);
        apply();
        commands.put(PutRequest.newBuilder().setKey(bytes("k")).setValue(bytes("v")).setLease(77).build());
        apply();
        final Compare leaseIs77 = Compare.newBuilder().setKey(bytes("k")).setResultValue(0).setTargetValue(4)
            .setUnknownFields(UnknownFieldSet.newBuilder()
                .addField(8, UnknownFieldSet.Field.newBuilder().addVarint(77).build()).build())
            .build();
        final TxnRequest nested = TxnRequest.newBuilder()
            .addCompare(Compare.newBuilder().setKey(bytes("k")).setTarget(Compare.CompareTarget.VALUE)
                .setResult(Compare.CompareResult.EQUAL).setValue(bytes("nope")))
            .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(bytes("k"))))
            .build();
        commands.txn(TxnRequest.newBuilder().addCompare(leaseIs77)
            .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bytes("n"))
                .setValue(bytes("1"))))
            .addSuccess(RequestOp.newBuilder().setRequestTxn(nested))
            .build());
        assertEquals(MvccError.OK, apply());
        final TxnResponse txn = answers.txn(BASE, response, 0);
        assertTrue(txn.getSucceeded());
        assertEquals(3, txn.getHeader().getRevision());
        assertFalse(txn.getResponses(1).getResponseTxn().getSucceeded());
        assertEquals("v", txn.getResponses(1).getResponseTxn().getResponses(0).getResponseRange().getKvs(0)
            .getValue().toStringUtf8());
        assertEquals(77, txn.getResponses(1).getResponseTxn().getResponses(0).getResponseRange().getKvs(0)
            .getLease());
    }

    @Test
    void shouldAnswerRefusalsWithEtcdsStatus() {
        assertEquals(MvccError.KEY_NOT_FOUND, commands.txn(TxnRequest.newBuilder()
            .addSuccess(RequestOp.newBuilder()).build()));
        commands.put(PutRequest.newBuilder().setValue(bytes("v")).build());
        final int empty = apply();
        assertEquals(Status.Code.INVALID_ARGUMENT, EtcdStatus.of(empty).getCode());
        assertEquals("etcdserver: key is not provided", EtcdStatus.of(empty).getDescription());
        commands.range(RangeRequest.newBuilder().setKey(bytes("k")).setRevision(99).build());
        final int future = apply();
        assertEquals(Status.Code.OUT_OF_RANGE, EtcdStatus.of(future).getCode());
        assertEquals("etcdserver: mvcc: required revision is a future revision", EtcdStatus.of(future)
            .getDescription());
        commands.leaseRevoke(5);
        assertEquals(Status.Code.NOT_FOUND, EtcdStatus.of(apply()).getCode());
        commands.alarm(1, 1, 22);
        apply();
        commands.put(PutRequest.newBuilder().setKey(bytes("k")).build());
        final int noSpace = apply();
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, EtcdStatus.of(noSpace).getCode());
        assertEquals("etcdserver: mvcc: database space exceeded", EtcdStatus.of(noSpace).getDescription());
    }
}
