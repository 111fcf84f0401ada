package io.cairn.server.proxy;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.LeaseTimeToLiveResponse;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class NamespaceTest {
    private static final ByteString EDGE = ByteString.copyFrom(new byte[] {0});

    private static ByteString b(final String text) {
        return ByteString.copyFromUtf8(text);
    }

    @Test
    void shouldPrefixKeysAndEndRangesToTheEdgeAtTheEndOfThePrefix() {
        final Namespace tenant = new Namespace("/t/");
        final RangeRequest all = tenant.range(RangeRequest.newBuilder().setKey(b("a")).setRangeEnd(EDGE).build());
        assertEquals(b("/t/a"), all.getKey());
        assertEquals(b("/t0"), all.getRangeEnd(), "'/' + 1 ends the prefix");
        final RangeRequest some = tenant.range(RangeRequest.newBuilder().setKey(b("a")).setRangeEnd(b("b")).build());
        assertEquals(b("/t/b"), some.getRangeEnd());
        assertEquals(ByteString.EMPTY, tenant.range(RangeRequest.newBuilder().setKey(b("a")).build()).getRangeEnd());
        assertThrows(StatusRuntimeException.class, () -> tenant.put(PutRequest.newBuilder().setValue(b("v")).build()),
            "an empty key is refused, not the prefix itself");
    }

    @Test
    void shouldMapTxnsAllTheWayDownAndStripAnswers() {
        final Namespace tenant = new Namespace("ns/");
        final TxnRequest inner = TxnRequest.newBuilder().addSuccess(RequestOp.newBuilder().setRequestPut(
            PutRequest.newBuilder().setKey(b("deep")))).build();
        final TxnRequest txn = tenant.txn(TxnRequest.newBuilder()
            .addCompare(Compare.newBuilder().setKey(b("c")).setRangeEnd(EDGE))
            .addSuccess(RequestOp.newBuilder().setRequestTxn(inner))
            .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(b("r")))).build());
        assertEquals(b("ns/c"), txn.getCompare(0).getKey());
        assertEquals(b("ns0"), txn.getCompare(0).getRangeEnd());
        assertEquals(b("ns/deep"), txn.getSuccess(0).getRequestTxn().getSuccess(0).getRequestPut().getKey());
        assertEquals(b("ns/r"), txn.getFailure(0).getRequestRange().getKey());
        final Event event = tenant.strip(Event.newBuilder().setKv(KeyValue.newBuilder().setKey(b("ns/k")))
            .setPrevKv(KeyValue.newBuilder().setKey(b("ns/k"))).build());
        assertEquals(b("k"), event.getKv().getKey());
        assertEquals(b("k"), event.getPrevKv().getKey());
        final LeaseTimeToLiveResponse keys = tenant.strip(LeaseTimeToLiveResponse.newBuilder()
            .addKeys(b("ns/mine")).addKeys(b("other")).build());
        assertEquals(1, keys.getKeysCount(), "a key outside the namespace is not shown");
        assertEquals(b("mine"), keys.getKeys(0));
    }

    @Test
    void shouldLeaveEverythingAloneWithoutANamespace() {
        final Namespace none = new Namespace("");
        final RangeRequest request = RangeRequest.newBuilder().setKey(b("a")).setRangeEnd(EDGE).build();
        assertSame(request, none.range(request));
    }
}
