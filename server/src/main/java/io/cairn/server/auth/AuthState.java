package io.cairn.server.auth;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.etcd.jetcd.api.Permission;
import io.etcd.jetcd.api.Role;
import io.etcd.jetcd.api.User;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The authentication state at one auth revision, as the keyspace's auth table holds it: the enabled flag, users and
 * roles (etcd's {@code authpb.User} and {@code authpb.Role}, in name byte order), and the secret simple tokens are
 * signed with. Immutable; each user's permissions are merged into intervals once, on first use (etcd's range
 * permission cache).
 *
 * <p>Keys of the auth table: {@code authEnabled} (one byte), {@code authRevision} (the keyspace's own),
 * {@code users/NAME}, {@code roles/NAME}, {@code tokenSecret}.
 */
public final class AuthState {
    /** The superuser role, and its user. */
    public static final String ROOT = "root";
    static final String ENABLED_KEY = "authEnabled";
    static final String SECRET_KEY = "tokenSecret";
    static final String USERS = "users/";
    static final String ROLES = "roles/";

    /** Nothing recorded yet: auth disabled, revision 1. */
    static final AuthState EMPTY = new AuthState(false, 1, Map.of(), Map.of(), null);

    private final boolean enabled;
    private final long revision;
    private final Map<String, User> users;
    private final Map<String, Role> roles;
    private final byte[] tokenSecret;
    private final Map<String, Intervals[]> permissions = new ConcurrentHashMap<>();

    AuthState(final boolean enabled, final long revision, final Map<String, User> users, final Map<String, Role> roles,
        final byte[] tokenSecret) {
        this.enabled = enabled;
        this.revision = revision;
        this.users = users;
        this.roles = roles;
        this.tokenSecret = tokenSecret;
    }

    /**
     * Reads the auth table's entries.
     *
     * @param entries key → value, in key order.
     * @return the state they describe.
     */
    static AuthState of(final Map<byte[], byte[]> entries) {
        boolean enabled = false;
        long revision = 1;
        byte[] secret = null;
        final Map<String, User> users = new LinkedHashMap<>();
        final Map<String, Role> roles = new LinkedHashMap<>();
        try {
            for (final Map.Entry<byte[], byte[]> entry : entries.entrySet()) {
                final String key = new String(entry.getKey(), StandardCharsets.UTF_8);
                final byte[] value = entry.getValue();
                if (ENABLED_KEY.equals(key)) {
                    enabled = value.length == 1 && value[0] == 1;
                } else if ("authRevision".equals(key)) {
                    revision = java.nio.ByteBuffer.wrap(value).getLong();
                } else if (SECRET_KEY.equals(key)) {
                    secret = value;
                } else if (key.startsWith(USERS)) {
                    users.put(key.substring(USERS.length()), User.parseFrom(value));
                } else if (key.startsWith(ROLES)) {
                    roles.put(key.substring(ROLES.length()), Role.parseFrom(value));
                }
            }
        } catch (final InvalidProtocolBufferException ex) {
            throw new IllegalStateException("the auth table holds a record that does not decode: " + ex, ex);
        }
        return new AuthState(enabled, revision, Collections.unmodifiableMap(users), Collections.unmodifiableMap(roles),
            secret);
    }

    /**
     * @return true when authentication is enabled.
     */
    public boolean enabled() {
        return enabled;
    }

    /**
     * @return the auth revision.
     */
    public long revision() {
        return revision;
    }

    /**
     * @return users by name, in name byte order.
     */
    public Map<String, User> users() {
        return users;
    }

    /**
     * @return roles by name, in name byte order.
     */
    public Map<String, Role> roles() {
        return roles;
    }

    byte[] tokenSecret() {
        return tokenSecret;
    }

    /**
     * @param name a user.
     * @return true when it exists and holds the root role.
     */
    public boolean isRoot(final String name) {
        final User user = users.get(name);
        return user != null && user.getRolesList().contains(ROOT);
    }

    /**
     * etcd's {@code isOpPermitted} for an existing user: root may do anything; anyone else needs a permission of the
     * type that covers the key ({@code end} empty) or the whole range (the union of the user's intervals, merged
     * where they meet or overlap).
     *
     * @param name  the user.
     * @param key   the key, or a range's start.
     * @param end   empty for the key alone; a range's exclusive end; {@code "\0"} for every key from {@code key}.
     * @param write true for a write, false for a read.
     * @return true when permitted.
     */
    public boolean permitted(final String name, final byte[] key, final byte[] end, final boolean write) {
        if (!users.containsKey(name)) {
            return false;
        }
        if (isRoot(name)) {
            return true;
        }
        final Intervals intervals = permissions.computeIfAbsent(name, this::intervalsOf)[write ? 1 : 0];
        return end.length == 0 ? intervals.containsPoint(key) : intervals.covers(key, end.length == 1 && end[0] == 0
            ? null : end);
    }

    private Intervals[] intervalsOf(final String name) {
        final List<byte[][]> read = new ArrayList<>();
        final List<byte[][]> write = new ArrayList<>();
        for (final String roleName : users.get(name).getRolesList()) {
            final Role role = roles.get(roleName);
            if (role == null) {
                continue;
            }
            for (final Permission permission : role.getKeyPermissionList()) {
                final byte[][] interval = interval(permission.getKey(), permission.getRangeEnd());
                if (permission.getPermType() != Permission.Type.WRITE) {
                    read.add(interval);
                }
                if (permission.getPermType() != Permission.Type.READ) {
                    write.add(interval);
                }
            }
        }
        return new Intervals[] {new Intervals(read), new Intervals(write)};
    }

    /** [begin, end): a key alone is [k, k + "\0"); an end of "\0" is no end (null). */
    private static byte[][] interval(final ByteString key, final ByteString end) {
        final byte[] begin = key.toByteArray();
        if (end.isEmpty()) {
            final byte[] next = Arrays.copyOf(begin, begin.length + 1);
            return new byte[][] {begin, next};
        }
        return new byte[][] {begin, end.size() == 1 && end.byteAt(0) == 0 ? null : end.toByteArray()};
    }

    /** A user's intervals of one permission type, sorted by their start. */
    private static final class Intervals {
        private final List<byte[][]> sorted;

        Intervals(final List<byte[][]> intervals) {
            this.sorted = new ArrayList<>(intervals);
            sorted.sort((a, b) -> Arrays.compareUnsigned(a[0], b[0]));
        }

        boolean containsPoint(final byte[] key) {
            for (final byte[][] interval : sorted) {
                if (Arrays.compareUnsigned(interval[0], key) <= 0
                    && (interval[1] == null || Arrays.compareUnsigned(key, interval[1]) < 0)) {
                    return true;
                }
            }
            return false;
        }

        /** [key, end) (end null: unbounded) lies within the union of the intervals, without a gap. */
        boolean covers(final byte[] key, final byte[] end) {
            byte[] reached = key;
            for (final byte[][] interval : sorted) {
                if (Arrays.compareUnsigned(interval[0], reached) > 0) {
                    return false; // a gap before this interval starts
                }
                if (interval[1] == null) {
                    return true;
                }
                if (Arrays.compareUnsigned(interval[1], reached) > 0) {
                    reached = interval[1];
                }
                if (end != null && Arrays.compareUnsigned(reached, end) >= 0) {
                    return true;
                }
            }
            return false;
        }
    }
}
