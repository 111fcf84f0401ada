package io.cairn.server.auth;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Permission;
import io.etcd.jetcd.api.Role;
import io.etcd.jetcd.api.User;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: a user's permissions cover exactly what etcd's range permission cache covers. Method: roles with single keys,
 * ranges, prefixes and open ends of each type, merged across two roles; point and range checks at and beside every
 * boundary, root's everything, a user that does not exist.
 */
class AuthStateTest {
    private static byte[] b(final String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static Permission permission(final Permission.Type type, final String key, final String end) {
        return Permission.newBuilder().setPermType(type).setKey(ByteString.copyFromUtf8(key))
            .setRangeEnd(ByteString.copyFromUtf8(end)).build();
    }

    private static AuthState state() {
        final Map<byte[], byte[]> entries = new LinkedHashMap<>();
        entries.put(b("authEnabled"), new byte[] {1});
        entries.put(b("roles/a"), Role.newBuilder().setName(ByteString.copyFromUtf8("a"))
            .addKeyPermission(permission(Permission.Type.READ, "k", ""))
            .addKeyPermission(permission(Permission.Type.READWRITE, "m", "p"))
            .addKeyPermission(permission(Permission.Type.WRITE, "x", "\0")).build().toByteArray());
        entries.put(b("roles/b"), Role.newBuilder().setName(ByteString.copyFromUtf8("b"))
            .addKeyPermission(permission(Permission.Type.READ, "p", "r")).build().toByteArray());
        entries.put(b("users/ann"), User.newBuilder().setName(ByteString.copyFromUtf8("ann")).addRoles("a")
            .addRoles("b").build().toByteArray());
        entries.put(b("users/root"), User.newBuilder().setName(ByteString.copyFromUtf8("root")).addRoles("root")
            .build().toByteArray());
        return AuthState.of(entries);
    }

    @Test
    void shouldCoverWhatEtcdsRangePermissionCacheCovers() {
        final AuthState state = state();
        final byte[] none = new byte[0];
        final byte[] open = {0};
        // A single key: that key only.
        assertTrue(state.permitted("ann", b("k"), none, false));
        assertFalse(state.permitted("ann", b("k"), none, true));
        assertFalse(state.permitted("ann", b("k0"), none, false));
        assertFalse(state.permitted("ann", b("k"), b("k1"), false), "a range beyond the key");
        assertTrue(state.permitted("ann", b("k"), b("k\0"), false), "the range of the key alone");
        // [m, p) read and write, [p, r) read: reads of [m, r) are covered by the two merged, writes are not.
        assertTrue(state.permitted("ann", b("m"), b("r"), false));
        assertTrue(state.permitted("ann", b("n"), b("q"), false));
        assertFalse(state.permitted("ann", b("m"), b("r\0"), false), "one key past the end");
        assertFalse(state.permitted("ann", b("l"), b("n"), false), "starts before");
        assertTrue(state.permitted("ann", b("m"), b("p"), true));
        assertFalse(state.permitted("ann", b("m"), b("q"), true));
        assertFalse(state.permitted("ann", b("p"), none, true));
        // Open-ended write from x: everything from x, nothing before.
        assertTrue(state.permitted("ann", b("zzz"), none, true));
        assertTrue(state.permitted("ann", b("x"), open, true));
        assertFalse(state.permitted("ann", b("w"), open, true));
        assertFalse(state.permitted("ann", b("x"), open, false));
        // Root may do anything; a user that does not exist nothing.
        assertTrue(state.permitted("root", open, open, true));
        assertFalse(state.permitted("bob", b("k"), none, false));
        assertTrue(state.isRoot("root"));
        assertFalse(state.isRoot("ann"));
    }
}
