package io.cairn.engine.mvcc;

import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: the authentication state is kept as etcd keeps it — changed all or nothing, at an auth revision that starts at
 * 1 and moves with every change (not with the keyspace's), surviving a reopen and travelling in a snapshot — and a
 * write checked at an older auth
 * revision is refused ("revision of auth store is old") and changes nothing. Method: a real LMDB store; AUTH and
 * AUTHED commands built with {@link AuthCommands}; malformed AUTH commands are refused by the validator.
 */
class MvccAuthTest {
    @TempDir
    Path dir;
    MvccStore store;
    final ExpandableDirectByteBuffer response = new ExpandableDirectByteBuffer(256);
    long index;

    @BeforeEach
    void open() throws IOException {
        store = MvccTesting.open(dir.resolve("kv"));
    }

    @AfterEach
    void close() {
        store.close();
    }

    private int apply(final byte[] command) {
        store.beginBatch();
        store.apply(new UnsafeBuffer(command), 0, command.length, response, 0);
        store.commit(++index, 1);
        return MvccResponse.status(response, 0);
    }

    private Map<String, String> table() {
        final Map<String, String> entries = new TreeMap<>();
        try (MvccReader reader = store.newReader()) {
            reader.authEntries((key, value) -> entries.put(new String(key, StandardCharsets.UTF_8),
                new String(value, StandardCharsets.UTF_8)));
        }
        entries.remove("authRevision");
        return entries;
    }

    private static byte[] bytes(final String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void shouldChangeTheAuthStateAllOrNothingAtItsOwnRevision() throws IOException {
        assertEquals(1, store.authRevision());
        final long changes = store.authChanges();
        assertEquals(MvccError.OK, apply(new AuthCommands().put(bytes("users/root"), bytes("r"))
            .put(bytes("users/ann"), bytes("a")).encode(1, 0)));
        assertEquals(2, store.authRevision());
        assertEquals(2, MvccResponse.authRevision(response, 0));
        assertTrue(store.authChanges() != changes);
        assertEquals(1, store.revision(), "the keyspace revision does not move");
        // Prepared at an older revision: refused, nothing of it applied.
        assertEquals(MvccError.AUTH_OLD_REVISION, apply(new AuthCommands().delete(bytes("users/ann"))
            .put(bytes("users/bob"), bytes("b")).encode(1, 0)));
        assertEquals(Map.of("users/root", "r", "users/ann", "a"), table());
        // AUTH_REVISION_ANY applies; the KEEP flag leaves the revision where it is (etcd's AuthEnable).
        assertEquals(MvccError.OK, apply(new AuthCommands().delete(bytes("users/ann"))
            .encode(MvccCommand.AUTH_REVISION_ANY, 0)));
        assertEquals(MvccError.OK, apply(new AuthCommands().put(bytes("authEnabled"), new byte[] {1})
            .encode(3, MvccCommand.FLAG_KEEP_AUTH_REVISION)));
        assertEquals(3, store.authRevision());
        assertEquals(Map.of("users/root", "r", "authEnabled", "\u0001"), table());

        store.close();
        store = MvccTesting.open(dir.resolve("kv"));
        assertEquals(3, store.authRevision(), "the auth revision survives a reopen");
        assertEquals(Map.of("users/root", "r", "authEnabled", "\u0001"), table());
    }

    @Test
    void shouldCarryTheAuthStateInASnapshot() throws IOException {
        assertEquals(MvccError.OK, apply(new AuthCommands().put(bytes("users/root"), bytes("r"))
            .put(bytes("authEnabled"), new byte[] {1}).encode(1, 0)));
        final Path copy = store.copyTo(dir.resolve("copy"));
        try (MvccStore other = MvccTesting.open(dir.resolve("other"))) {
            final long changes = other.authChanges();
            other.replaceWith(copy, java.nio.file.Files.size(copy));
            assertEquals(2, other.authRevision());
            assertTrue(other.authChanges() != changes, "a cache of the old state sees it is stale");
            final Map<String, String> entries = new TreeMap<>();
            try (MvccReader reader = other.newReader()) {
                reader.authEntries((key, value) -> entries.put(new String(key, StandardCharsets.UTF_8),
                    new String(value, StandardCharsets.UTF_8)));
            }
            entries.remove("authRevision");
            assertEquals(Map.of("users/root", "r", "authEnabled", "\u0001"), entries);
        }
    }

    @Test
    void shouldRefuseAWriteCheckedAtAnOlderAuthRevision() {
        final CommandEncoder encoder = new CommandEncoder();
        encoder.reset().put(bytes("k"), bytes("v"), 0, 0);
        final UnsafeBuffer wrapped = new UnsafeBuffer(new byte[encoder.length() + AuthCommands.AUTHED_OVERHEAD]);
        AuthCommands.authed(wrapped, 1, encoder.buffer(), 0, encoder.length());
        assertEquals(MvccError.OK, apply(wrapped.byteArray()));
        assertEquals(2, store.revision(), "checked at the current auth revision: applied");
        assertEquals(MvccCommand.PUT, MvccResponse.type(response, 0));

        assertEquals(MvccError.OK, apply(new AuthCommands().put(bytes("roles/r"), bytes("x")).encode(1, 0)));
        assertEquals(MvccError.AUTH_OLD_REVISION, apply(wrapped.byteArray()));
        assertEquals(2, store.revision(), "checked before the auth change: refused, nothing written");
        AuthCommands.authed(wrapped, 2, encoder.buffer(), 0, encoder.length());
        assertEquals(MvccError.OK, apply(wrapped.byteArray()));
        assertEquals(3, store.revision());
    }

    @Test
    void shouldRefuseMalformedAuthCommands() {
        final MvccValidator validator = MvccValidator.of(store.config());
        final byte[] good = new AuthCommands().put(bytes("users/a"), bytes("1")).delete(bytes("users/b")).encode(1, 0);
        final UnsafeBuffer buffer = new UnsafeBuffer(good);
        assertEquals(MvccError.OK, validator.validate(buffer, 0, good.length));
        assertEquals(MvccError.MALFORMED, validator.validate(buffer, 0, good.length - 1), "truncated");
        buffer.putInt(MvccCommand.AUTH_COUNT_OFFSET, 3, MvccCommand.ORDER);
        assertEquals(MvccError.MALFORMED, validator.validate(buffer, 0, good.length), "more ops than bytes");
        buffer.putInt(MvccCommand.AUTH_COUNT_OFFSET, 2, MvccCommand.ORDER);
        buffer.putByte(MvccCommand.AUTH_HEADER, (byte)7);
        assertEquals(MvccError.MALFORMED, validator.validate(buffer, 0, good.length), "unknown op");
        buffer.putByte(MvccCommand.AUTH_HEADER, (byte)MvccCommand.AUTH_PUT);
        buffer.putInt(MvccCommand.AUTH_HEADER + 1, 0, MvccCommand.ORDER);
        assertEquals(MvccError.MALFORMED, validator.validate(buffer, 0, good.length), "empty key");
        // An envelope around a read, or around an AUTH, is not a write.
        final byte[] range = new byte[64];
        final UnsafeBuffer wrapped = new UnsafeBuffer(new byte[good.length + AuthCommands.AUTHED_OVERHEAD]);
        AuthCommands.authed(wrapped, 1, new UnsafeBuffer(good), 0, good.length);
        assertEquals(MvccError.MALFORMED, validator.validate(wrapped, 0, wrapped.capacity()));
        assertEquals(MvccError.MALFORMED, validator.validate(new UnsafeBuffer(range), 0, 8));
    }
}
