package io.cairn.engine.mvcc;

import io.cairn.engine.mvcc.MvccTesting.Kv;
import io.cairn.engine.mvcc.MvccTesting.Response;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The naive reference: etcd's MVCC semantics written the obvious way, on heap, keeping every version forever
 * (compaction only moves the floor below which reads fail). Strings hold bytes as ISO-8859-1 characters, whose
 * natural order is unsigned byte order. Deliberately shares no code with the store.
 */
final class MvccModel {
    record Version(long main, boolean tombstone, long create, long version, long lease, String value) {
    }

    /** A model op, described plainly. */
    sealed interface Op permits Put, Delete, Range, Txn, Compact, Grant, Revoke {
    }

    record Put(String key, String value, long lease, int flags) implements Op {
    }

    record Delete(String key, String end, boolean prevKv) implements Op {
    }

    record Range(String key, String end, long revision, long limit, int flags, int sortOrder, int sortTarget,
        long minMod, long maxMod, long minCreate, long maxCreate) implements Op {
    }

    record Compare(int result, int target, String key, String end, long number, String value) {
    }

    record Txn(List<Compare> compares, List<Op> success, List<Op> failure) implements Op {
    }

    record Compact(long revision) implements Op {
    }

    record Grant(long lease, long ttl) implements Op {
    }

    record Revoke(long lease) implements Op {
    }

    TreeMap<String, List<Version>> history = new TreeMap<>();
    TreeMap<Long, Long> leases = new TreeMap<>();
    long revision = 1;
    long compact;
    boolean compactedEver;
    private long pending;
    private int changes;

    MvccModel copy() {
        final MvccModel copy = new MvccModel();
        for (final Map.Entry<String, List<Version>> entry : history.entrySet()) {
            copy.history.put(entry.getKey(), new ArrayList<>(entry.getValue()));
        }
        copy.leases.putAll(leases);
        copy.revision = revision;
        copy.compact = compact;
        copy.compactedEver = compactedEver;
        return copy;
    }

    Response apply(final Op op) {
        pending = revision + 1;
        changes = 0;
        final Response response;
        if (op instanceof Put put) {
            final int status = checkPut(put);
            response = status != MvccError.OK ? refused(status, MvccCommand.PUT) : put(put);
        } else if (op instanceof Txn txn) {
            response = txn(txn);
        } else if (op instanceof Compact c) {
            response = compact(c);
        } else if (op instanceof Grant grant) {
            response = grant(grant);
        } else if (op instanceof Revoke revoke) {
            response = revoke(revoke);
        } else {
            response = readOrDelete(op);
        }
        if (changes > 0) {
            revision = pending;
        }
        return withRevision(response, revision);
    }

    private Response readOrDelete(final Op op) {
        if (op instanceof Delete delete) {
            return delete(delete);
        }
        return range((Range)op);
    }

    private long current() {
        return changes > 0 ? pending : revision;
    }

    private static Response withRevision(final Response r, final long revision) {
        return new Response(r.status(), r.type(), revision, r.prevKv(), r.deleted(), r.kvs(), r.count(), r.more(),
            r.succeeded(), r.responses(), r.leaseId(), r.ttl(), r.alarms());
    }

    private static Response refused(final int status, final byte type) {
        return new Response(status, type, 0, null, 0, List.of(), 0, false, false, List.of(), 0, 0, 0);
    }

    private static Response ok(final byte type) {
        return refused(MvccError.OK, type);
    }

    private Version latest(final String key, final long at) {
        final List<Version> versions = history.get(key);
        Version found = null;
        if (versions != null) {
            for (final Version v : versions) {
                if (v.main() <= at) {
                    found = v;
                }
            }
        }
        return found;
    }

    private Version live(final String key, final long at) {
        final Version v = latest(key, at);
        return v == null || v.tombstone() ? null : v;
    }

    private static Kv kv(final String key, final Version v) {
        return new Kv(key, v.value(), v.create(), v.main(), v.version(), v.lease());
    }

    private List<String> keysIn(final String key, final String end) {
        if (end.isEmpty()) {
            return List.of(key);
        }
        final boolean all = end.equals("\0");
        final List<String> keys = new ArrayList<>();
        for (final String k : history.keySet()) {
            if (k.compareTo(key) >= 0 && (all || k.compareTo(end) < 0)) {
                keys.add(k);
            }
        }
        return keys;
    }

    private void write(final String key, final Version v) {
        history.computeIfAbsent(key, k -> new ArrayList<>()).add(v);
        changes++;
    }

    private int checkPut(final Put put) {
        final boolean ignore = (put.flags() & (MvccCommand.FLAG_IGNORE_VALUE | MvccCommand.FLAG_IGNORE_LEASE)) != 0;
        if (ignore && live(put.key(), revision) == null) {
            return MvccError.KEY_NOT_FOUND;
        }
        return put.lease() != 0 && !leases.containsKey(put.lease()) ? MvccError.LEASE_NOT_FOUND : MvccError.OK;
    }

    private Response put(final Put put) {
        final Version prev = live(put.key(), current());
        final String value = (put.flags() & MvccCommand.FLAG_IGNORE_VALUE) != 0 ? prev.value() : put.value();
        final long lease = (put.flags() & MvccCommand.FLAG_IGNORE_LEASE) != 0 ? prev.lease() : put.lease();
        write(put.key(), new Version(pending, false, prev == null ? pending : prev.create(),
            prev == null ? 1 : prev.version() + 1, lease, value));
        final Kv prevKv = (put.flags() & MvccCommand.FLAG_PREV_KV) != 0 && prev != null ? kv(put.key(), prev) : null;
        return new Response(0, MvccCommand.PUT, 0, prevKv, 0, List.of(), 0, false, false, List.of(), 0, 0, 0);
    }

    private Response delete(final Delete delete) {
        final List<Kv> prevs = new ArrayList<>();
        final long at = current();
        for (final String key : keysIn(delete.key(), delete.end())) {
            final Version v = live(key, at);
            if (v != null) {
                prevs.add(kv(key, v));
            }
        }
        for (final Kv p : prevs) {
            write(p.key(), new Version(pending, true, 0, 0, 0, ""));
        }
        return new Response(0, MvccCommand.DELETE_RANGE, 0, null, prevs.size(),
            delete.prevKv() ? prevs : List.of(), 0, false, false, List.of(), 0, 0, 0);
    }

    private Response range(final Range range) {
        final long now = current();
        if (range.revision() > now) {
            return refused(MvccError.FUTURE_REVISION, MvccCommand.RANGE);
        }
        final long at = range.revision() <= 0 ? now : range.revision();
        if (at < compact) {
            return refused(MvccError.COMPACTED, MvccCommand.RANGE);
        }
        List<Kv> kvs = new ArrayList<>();
        for (final String key : keysIn(range.key(), range.end())) {
            final Version v = live(key, at);
            if (v != null) {
                kvs.add(kv(key, v));
            }
        }
        final long count = kvs.size();
        if ((range.flags() & MvccCommand.FLAG_COUNT_ONLY) != 0) {
            return new Response(0, MvccCommand.RANGE, 0, null, 0, List.of(), count, false, false, List.of(), 0, 0, 0);
        }
        kvs = new ArrayList<>(kvs.stream().filter(k -> (range.minMod() == 0 || k.mod() >= range.minMod())
            && (range.maxMod() == 0 || k.mod() <= range.maxMod())
            && (range.minCreate() == 0 || k.create() >= range.minCreate())
            && (range.maxCreate() == 0 || k.create() <= range.maxCreate())).toList());
        int order = range.sortOrder();
        if (range.sortTarget() != MvccCommand.TARGET_KEY && order == MvccCommand.SORT_NONE) {
            order = MvccCommand.SORT_ASCEND;
        }
        if (order != MvccCommand.SORT_NONE) {
            Comparator<Kv> by = switch (range.sortTarget()) {
                case MvccCommand.TARGET_VERSION -> Comparator.comparingLong(Kv::version);
                case MvccCommand.TARGET_CREATE -> Comparator.comparingLong(Kv::create);
                case MvccCommand.TARGET_MOD -> Comparator.comparingLong(Kv::mod);
                case MvccCommand.TARGET_VALUE -> Comparator.comparing(Kv::value);
                default -> Comparator.comparing(Kv::key);
            };
            if (order == MvccCommand.SORT_DESCEND) {
                by = by.reversed();
            }
            kvs.sort(by); // stable: ties stay in key order, as the store keeps them
        }
        boolean more = false;
        if (range.limit() > 0 && kvs.size() > range.limit()) {
            kvs = new ArrayList<>(kvs.subList(0, (int)range.limit()));
            more = true;
        }
        if ((range.flags() & MvccCommand.FLAG_KEYS_ONLY) != 0) {
            kvs = kvs.stream().map(k -> new Kv(k.key(), "", k.create(), k.mod(), k.version(), k.lease())).toList();
        }
        return new Response(0, MvccCommand.RANGE, 0, null, 0, kvs, count, more, false, List.of(), 0, 0, 0);
    }

    private boolean holds(final Compare c) {
        final List<Version> found = new ArrayList<>();
        for (final String key : keysIn(c.key(), c.end() == null ? "" : c.end())) {
            final Version v = live(key, revision);
            if (v != null) {
                found.add(v);
            }
        }
        if (found.isEmpty()) {
            return c.target() != MvccCommand.COMPARE_VALUE && outcome(c.result(), Long.compare(0, c.number()));
        }
        for (final Version v : found) {
            final int cmp = switch (c.target()) {
                case MvccCommand.COMPARE_VALUE -> Integer.signum(v.value().compareTo(c.value()));
                case MvccCommand.COMPARE_CREATE -> Long.compare(v.create(), c.number());
                case MvccCommand.COMPARE_MOD -> Long.compare(v.main(), c.number());
                case MvccCommand.COMPARE_LEASE -> Long.compare(v.lease(), c.number());
                default -> Long.compare(v.version(), c.number());
            };
            if (!outcome(c.result(), cmp)) {
                return false;
            }
        }
        return true;
    }

    private static boolean outcome(final int result, final int cmp) {
        return switch (result) {
            case MvccCommand.COMPARE_EQUAL -> cmp == 0;
            case MvccCommand.COMPARE_GREATER -> cmp > 0;
            case MvccCommand.COMPARE_LESS -> cmp < 0;
            default -> cmp != 0;
        };
    }

    private void path(final Txn txn, final List<Boolean> path) {
        final boolean ok = txn.compares().stream().allMatch(this::holds);
        path.add(ok);
        for (final Op op : ok ? txn.success() : txn.failure()) {
            if (op instanceof Txn nested) {
                path(nested, path);
            }
        }
    }

    private int check(final Txn txn, final List<Boolean> path, final int[] at) {
        final boolean ok = path.get(at[0]++);
        for (final Op op : ok ? txn.success() : txn.failure()) {
            int status = MvccError.OK;
            if (op instanceof Put put) {
                status = checkPut(put);
            } else if (op instanceof Range range) {
                if (range.revision() > revision) {
                    status = MvccError.FUTURE_REVISION;
                } else if (range.revision() > 0 && range.revision() < compact) {
                    status = MvccError.COMPACTED;
                }
            } else if (op instanceof Txn nested) {
                status = check(nested, path, at);
            }
            if (status != MvccError.OK) {
                return status;
            }
        }
        return MvccError.OK;
    }

    private Response txn(final Txn txn) {
        final List<Boolean> path = new ArrayList<>();
        path(txn, path);
        final int status = check(txn, path, new int[1]);
        if (status != MvccError.OK) {
            return refused(status, MvccCommand.TXN);
        }
        return execute(txn, path, new int[1]);
    }

    private Response execute(final Txn txn, final List<Boolean> path, final int[] at) {
        final boolean ok = path.get(at[0]++);
        final List<Response> responses = new ArrayList<>();
        for (final Op op : ok ? txn.success() : txn.failure()) {
            final Response r;
            if (op instanceof Put put) {
                r = put(put);
            } else if (op instanceof Txn nested) {
                r = execute(nested, path, at);
            } else {
                r = readOrDelete(op);
            }
            responses.add(withRevision(r, current()));
        }
        return new Response(0, MvccCommand.TXN, 0, null, 0, List.of(), 0, false, ok, responses, 0, 0, 0);
    }

    private Response compact(final Compact c) {
        if (c.revision() > revision) {
            return refused(MvccError.FUTURE_REVISION, MvccCommand.COMPACT);
        }
        // etcd's: no compaction yet is revision -1, so a first compaction to 0 is taken (and changes nothing).
        if (c.revision() <= (compactedEver ? compact : -1)) {
            return refused(MvccError.COMPACTED, MvccCommand.COMPACT);
        }
        compactedEver = true;
        compact = c.revision();
        return ok(MvccCommand.COMPACT);
    }

    private Response grant(final Grant grant) {
        if (leases.containsKey(grant.lease())) {
            return refused(MvccError.LEASE_EXISTS, MvccCommand.LEASE_GRANT);
        }
        leases.put(grant.lease(), grant.ttl());
        return new Response(0, MvccCommand.LEASE_GRANT, 0, null, 0, List.of(), 0, false, false, List.of(),
            grant.lease(), grant.ttl(), 0);
    }

    private Response revoke(final Revoke revoke) {
        if (leases.remove(revoke.lease()) == null) {
            return refused(MvccError.LEASE_NOT_FOUND, MvccCommand.LEASE_REVOKE);
        }
        for (final String key : new ArrayList<>(history.keySet())) {
            final Version v = live(key, revision);
            if (v != null && v.lease() == revoke.lease()) {
                write(key, new Version(pending, true, 0, 0, 0, ""));
            }
        }
        return ok(MvccCommand.LEASE_REVOKE);
    }
}
