package io.cairn.server.auth;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.cairn.embedded.CairnError;
import io.cairn.embedded.CairnException;
import io.cairn.engine.mvcc.AuthCommands;
import io.cairn.engine.mvcc.MvccCommand;
import io.cairn.server.node.EtcdStatus;
import io.cairn.server.node.Node;
import io.etcd.jetcd.api.Permission;
import io.etcd.jetcd.api.Role;
import io.etcd.jetcd.api.User;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.agrona.concurrent.UnsafeBuffer;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * etcd's authentication and roles over the keyspace's auth table: the state as of the last applied change (cached,
 * reloaded when an AUTH command commits), its sixteen management calls as AUTH commands proposed through Raft, tokens,
 * and the permission checks every service makes of its caller.
 *
 * <p>A change is planned from the state this member holds and proposed with that state's auth revision; the keyspace
 * applies it only if the revision is still the same, so two members changing users at once cannot both act on what
 * the other changed (the loser plans again from the new state). Passwords are hashed once, before planning, with
 * bcrypt as etcd does ({@code $2a$}, {@code --bcrypt-cost}). The admin check of a call comes first, as in etcd's
 * apply.
 */
public final class AuthStore {
    /** The caller's token, set per call from the {@code token} (or {@code authorization}) metadata. */
    public static final Context.Key<String> TOKEN = Context.key("cairn-auth-token");
    /** The common name of the caller's verified client certificate, when the port asks for one. */
    public static final Context.Key<String> COMMON_NAME = Context.key("cairn-auth-cn");
    private static final int ATTEMPTS_MAX = 8;
    private static final int SECRET_BYTES = 32;
    private static final Comparator<String> BYTE_ORDER = (a, b) -> Arrays.compareUnsigned(
        a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    /**
     * Who is calling, as etcd's {@code AuthInfo}.
     *
     * @param user     the user name ("" when the call carries no credentials).
     * @param revision the auth revision the name was resolved at.
     */
    public record Caller(String user, long revision) {
    }

    /** Plans a change from the current state: the ops, or none for a no-op; throws etcd's error to refuse. */
    private interface Plan {
        AuthCommands plan(AuthState state);
    }

    private final Node node;
    private final AuthConfig config;
    private final SimpleTokens simple;
    private final JwtTokens jwt;
    private final SecureRandom random = new SecureRandom();
    private volatile Cached cached;

    private record Cached(long changes, AuthState state) {
    }

    /**
     * @param node   the member.
     * @param config the {@code --auth-token}, {@code --bcrypt-cost} and {@code --auth-token-ttl} flags.
     */
    public AuthStore(final Node node, final AuthConfig config) {
        this.node = node;
        this.config = config;
        this.simple = new SimpleTokens(config.tokenTtlSeconds(), System::currentTimeMillis);
        this.jwt = config.jwt() == null ? null : new JwtTokens(config.jwt());
    }

    /**
     * @return the state as of the last change this member applied.
     */
    public AuthState state() {
        final long changes = node.authChanges();
        final Cached current = cached;
        if (current != null && current.changes() == changes) {
            return current.state();
        }
        final Map<byte[], byte[]> entries = new LinkedHashMap<>();
        node.read(reader -> reader.authEntries(entries::put));
        final AuthState state = AuthState.of(entries);
        cached = new Cached(changes, state);
        return state;
    }

    /**
     * @return true while authentication is enabled (one cached read).
     */
    public boolean enabled() {
        return state().enabled();
    }

    // ------------------------------------------------------------------------------------------------ callers

    /**
     * The caller of the current gRPC call, as etcd resolves it: null when authentication is disabled (everything is
     * allowed); a token wins over a client certificate; an invalid token is an error; no credentials is the empty
     * user.
     *
     * @return the caller, or null.
     * @throws StatusRuntimeException "invalid auth token".
     */
    public Caller caller() {
        final AuthState state = state();
        if (!state.enabled()) {
            return null;
        }
        final String token = TOKEN.get();
        if (token != null) {
            if (jwt != null) {
                final Caller caller = jwt.verify(token);
                if (caller == null) {
                    throw AuthErrors.invalidToken();
                }
                return caller;
            }
            final String user = simple.verify(state, token);
            if (user == null) {
                throw AuthErrors.invalidToken();
            }
            return new Caller(user, state.revision());
        }
        final String commonName = COMMON_NAME.get();
        if (commonName != null && !commonName.isEmpty()) {
            return new Caller(commonName, state.revision());
        }
        return new Caller("", 0);
    }

    /**
     * Read permission on a key or range (etcd's range, a txn's compares and ranges, a watch).
     *
     * @param caller from {@link #caller()} (null: authentication disabled).
     * @param key    the key.
     * @param end    the range end (empty: the key alone; "\0": every key from it).
     * @throws StatusRuntimeException etcd's refusal.
     */
    public void checkRead(final Caller caller, final byte[] key, final byte[] end) {
        checkOp(caller, key, end, false);
    }

    /**
     * Write permission on a key or range.
     *
     * @param caller from {@link #caller()}.
     * @param key    the key.
     * @param end    the range end.
     * @throws StatusRuntimeException etcd's refusal.
     */
    public void checkWrite(final Caller caller, final byte[] key, final byte[] end) {
        checkOp(caller, key, end, true);
    }

    private void checkOp(final Caller caller, final byte[] key, final byte[] end, final boolean write) {
        if (caller == null) {
            return;
        }
        final AuthState state = state();
        if (!state.enabled()) {
            return;
        }
        if (caller.user().isEmpty() || caller.revision() == 0) {
            throw AuthErrors.userEmpty();
        }
        if (caller.revision() < state.revision()) {
            throw oldRevision();
        }
        if (!state.permitted(caller.user(), key, end, write)) {
            throw AuthErrors.permissionDenied();
        }
    }

    /**
     * @param caller from {@link #caller()}.
     * @throws StatusRuntimeException "user name is empty" when the call carries no credentials.
     */
    public void requireUser(final Caller caller) {
        if (caller != null && state().enabled() && caller.user().isEmpty()) {
            throw AuthErrors.userEmpty();
        }
    }

    /**
     * etcd's {@code IsAdminPermitted}: the root role (maintenance, membership, compaction, auth management).
     *
     * @param caller from {@link #caller()}.
     * @throws StatusRuntimeException etcd's refusal.
     */
    public void checkAdmin(final Caller caller) {
        checkAdmin(state(), caller);
    }

    /**
     * @param caller from {@link #caller()}.
     * @return true when the caller may do what only root may (auth disabled included).
     */
    public boolean isAdmin(final Caller caller) {
        final AuthState state = state();
        return caller == null || !state.enabled() || state.isRoot(caller.user());
    }

    private static void checkAdmin(final AuthState state, final Caller caller) {
        if (!state.enabled()) {
            return;
        }
        if (caller == null || caller.user().isEmpty()) {
            throw AuthErrors.userEmpty();
        }
        if (!state.users().containsKey(caller.user())) {
            throw AuthErrors.userNotFound();
        }
        if (!state.isRoot(caller.user())) {
            throw AuthErrors.permissionDenied();
        }
    }

    private static StatusRuntimeException oldRevision() {
        return EtcdStatus.of(CairnError.AUTH_OLD_REVISION).asRuntimeException();
    }

    /**
     * @param caller from {@link #caller()}.
     * @return the auth revision a write checked for this caller must still find (0: no envelope needed).
     */
    public long writeRevision(final Caller caller) {
        return caller == null ? 0 : state().revision();
    }

    // ----------------------------------------------------------------------------------------- management

    /**
     * @param caller the caller.
     * @return completes when enabled (a no-op when it was).
     */
    public CompletableFuture<AuthState> enable(final Caller caller) {
        return change(caller, true, state -> {
            if (state.enabled()) {
                return null;
            }
            final User root = state.users().get(AuthState.ROOT);
            if (root == null) {
                throw AuthErrors.rootUserNotExist();
            }
            if (!root.getRolesList().contains(AuthState.ROOT)) {
                throw AuthErrors.rootRoleNotExist();
            }
            final byte[] secret = new byte[SECRET_BYTES];
            random.nextBytes(secret);
            return new AuthCommands().put(ascii(AuthState.ENABLED_KEY), new byte[] {1})
                .put(ascii(AuthState.SECRET_KEY), secret);
        }, MvccCommand.FLAG_KEEP_AUTH_REVISION);
    }

    /**
     * @param caller the caller.
     * @return completes when disabled (every simple token void).
     */
    public CompletableFuture<AuthState> disable(final Caller caller) {
        return change(caller, true, state -> !state.enabled() ? null
            : new AuthCommands().put(ascii(AuthState.ENABLED_KEY), new byte[] {0})
                .delete(ascii(AuthState.SECRET_KEY)), 0);
    }

    /**
     * Checks a user's password (bcrypt) on a linearizable view and issues a token.
     *
     * @param name     the user.
     * @param password its password.
     * @return the token.
     */
    public CompletableFuture<String> authenticate(final String name, final String password) {
        return node.readBarrier().thenApplyAsync(index -> {
            final AuthState state = state();
            if (!state.enabled()) {
                throw AuthErrors.authNotEnabled();
            }
            final User user = state.users().get(name);
            if (user == null) {
                throw AuthErrors.authFailed();
            }
            if (noPassword(user)) {
                throw AuthErrors.noPasswordUser();
            }
            if (!checkPassword(user.getPassword().toStringUtf8(), password)) {
                throw AuthErrors.authFailed();
            }
            return jwt != null ? jwt.issue(state, name) : simple.issue(state, name);
        }, node.executor());
    }

    /**
     * @param caller     the caller.
     * @param name       the new user.
     * @param password   its password (ignored with {@code noPassword}).
     * @param noPassword a user that never authenticates by password (a client certificate's CN).
     * @return completes when added.
     */
    public CompletableFuture<AuthState> userAdd(final Caller caller, final String name, final String password,
        final boolean noPassword) {
        final byte[] hash;
        try {
            hash = noPassword ? new byte[0] : hash(password);
        } catch (final StatusRuntimeException ex) {
            return CompletableFuture.failedFuture(ex);
        }
        return change(caller, true, state -> {
            if (name.isEmpty()) {
                throw AuthErrors.userEmpty();
            }
            if (state.users().containsKey(name)) {
                throw AuthErrors.userAlreadyExist();
            }
            return putUser(User.newBuilder().setName(utf8(name)).setPassword(ByteString.copyFrom(hash)).build(),
                noPassword);
        }, 0);
    }

    /**
     * @param caller the caller (admin, or the user itself).
     * @param name   a user.
     * @return its record.
     */
    public CompletableFuture<User> userGet(final Caller caller, final String name) {
        return read(state -> {
            if (!(caller != null && name.equals(caller.user()) && state.enabled())) {
                checkAdmin(state, caller);
            }
            final User user = state.users().get(name);
            if (user == null) {
                throw AuthErrors.userNotFound();
            }
            return user;
        });
    }

    /**
     * @param caller the caller (admin).
     * @return every user's name, in byte order.
     */
    public CompletableFuture<List<String>> userList(final Caller caller) {
        return read(state -> {
            checkAdmin(state, caller);
            return List.copyOf(state.users().keySet());
        });
    }

    /**
     * @param caller the caller.
     * @param name   the user to delete.
     * @return completes when deleted.
     */
    public CompletableFuture<AuthState> userDelete(final Caller caller, final String name) {
        return change(caller, true, state -> {
            if (state.enabled() && AuthState.ROOT.equals(name)) {
                throw AuthErrors.invalidAuthManagement();
            }
            if (!state.users().containsKey(name)) {
                throw AuthErrors.userNotFound();
            }
            return new AuthCommands().delete(userKey(name));
        }, 0);
    }

    /**
     * @param caller   the caller (admin).
     * @param name     the user.
     * @param password its new password.
     * @return completes when changed (the user's tokens void).
     */
    public CompletableFuture<AuthState> userChangePassword(final Caller caller, final String name,
        final String password) {
        final byte[] hash;
        try {
            hash = hash(password);
        } catch (final StatusRuntimeException ex) {
            return CompletableFuture.failedFuture(ex);
        }
        return change(caller, true, state -> {
            final User user = state.users().get(name);
            if (user == null) {
                throw AuthErrors.userNotFound();
            }
            return putUser(user.toBuilder().setPassword(ByteString.copyFrom(hash)).build(), null);
        }, 0);
    }

    /**
     * @param caller the caller.
     * @param name   the user.
     * @param role   the role to grant.
     * @return completes when granted (a no-op when held).
     */
    public CompletableFuture<AuthState> userGrantRole(final Caller caller, final String name, final String role) {
        return change(caller, true, state -> {
            final User user = state.users().get(name);
            if (user == null) {
                throw AuthErrors.userNotFound();
            }
            if (!AuthState.ROOT.equals(role) && !state.roles().containsKey(role)) {
                throw AuthErrors.roleNotFound();
            }
            if (user.getRolesList().contains(role)) {
                return null;
            }
            final List<String> roles = new ArrayList<>(user.getRolesList());
            roles.add(role);
            roles.sort(BYTE_ORDER);
            return putUser(user.toBuilder().clearRoles().addAllRoles(roles).build(), null);
        }, 0);
    }

    /**
     * @param caller the caller.
     * @param name   the user.
     * @param role   the role to revoke.
     * @return completes when revoked.
     */
    public CompletableFuture<AuthState> userRevokeRole(final Caller caller, final String name, final String role) {
        return change(caller, true, state -> {
            if (state.enabled() && AuthState.ROOT.equals(name) && AuthState.ROOT.equals(role)) {
                throw AuthErrors.invalidAuthManagement();
            }
            final User user = state.users().get(name);
            if (user == null) {
                throw AuthErrors.userNotFound();
            }
            if (!user.getRolesList().contains(role)) {
                throw AuthErrors.roleNotGranted();
            }
            final List<String> roles = new ArrayList<>(user.getRolesList());
            roles.remove(role);
            return putUser(user.toBuilder().clearRoles().addAllRoles(roles).build(), null);
        }, 0);
    }

    /**
     * @param caller the caller.
     * @param name   the new role.
     * @return completes when added.
     */
    public CompletableFuture<AuthState> roleAdd(final Caller caller, final String name) {
        return change(caller, true, state -> {
            if (name.isEmpty()) {
                throw AuthErrors.roleEmpty();
            }
            if (state.roles().containsKey(name)) {
                throw AuthErrors.roleAlreadyExist();
            }
            return new AuthCommands().put(roleKey(name), Role.newBuilder().setName(utf8(name)).build().toByteArray());
        }, 0);
    }

    /**
     * @param caller the caller (admin, or a holder of the role).
     * @param name   a role.
     * @return its record.
     */
    public CompletableFuture<Role> roleGet(final Caller caller, final String name) {
        return read(state -> {
            final User user = caller == null ? null : state.users().get(caller.user());
            if (!(state.enabled() && user != null && user.getRolesList().contains(name))) {
                checkAdmin(state, caller);
            }
            final Role role = state.roles().get(name);
            if (role == null) {
                throw AuthErrors.roleNotFound();
            }
            return role;
        });
    }

    /**
     * @param caller the caller (admin).
     * @return every role's name, in byte order.
     */
    public CompletableFuture<List<String>> roleList(final Caller caller) {
        return read(state -> {
            checkAdmin(state, caller);
            return List.copyOf(state.roles().keySet());
        });
    }

    /**
     * @param caller the caller.
     * @param name   the role to delete (taken from every user that holds it).
     * @return completes when deleted.
     */
    public CompletableFuture<AuthState> roleDelete(final Caller caller, final String name) {
        return change(caller, true, state -> {
            if (state.enabled() && AuthState.ROOT.equals(name)) {
                throw AuthErrors.invalidAuthManagement();
            }
            if (!state.roles().containsKey(name)) {
                throw AuthErrors.roleNotFound();
            }
            final AuthCommands ops = new AuthCommands().delete(roleKey(name));
            for (final User user : state.users().values()) {
                if (user.getRolesList().contains(name)) {
                    final List<String> roles = new ArrayList<>(user.getRolesList());
                    roles.remove(name);
                    ops.put(userKey(user.getName().toStringUtf8()),
                        user.toBuilder().clearRoles().addAllRoles(roles).build().toByteArray());
                }
            }
            return ops;
        }, 0);
    }

    /**
     * @param caller     the caller.
     * @param name       the role.
     * @param permission the permission (null: none given).
     * @return completes when granted.
     */
    public CompletableFuture<AuthState> roleGrantPermission(final Caller caller, final String name,
        final Permission permission) {
        return change(caller, true, state -> {
            if (permission == null) {
                throw AuthErrors.permissionNotGiven();
            }
            if (!validRange(permission.getKey(), permission.getRangeEnd())) {
                throw AuthErrors.invalidAuthManagement();
            }
            final Role role = state.roles().get(name);
            if (role == null) {
                throw AuthErrors.roleNotFound();
            }
            final List<Permission> permissions = new ArrayList<>(role.getKeyPermissionList());
            final int at = firstAtOrAfter(permissions, permission.getKey());
            if (at < permissions.size() && permissions.get(at).getKey().equals(permission.getKey())
                && permissions.get(at).getRangeEnd().equals(permission.getRangeEnd())) {
                permissions.set(at, permissions.get(at).toBuilder().setPermType(permission.getPermType()).build());
            } else {
                permissions.add(permission);
                permissions.sort((a, b) -> compare(a.getKey(), b.getKey())); // stable: a new one after its equals
            }
            return new AuthCommands().put(roleKey(name), role.toBuilder().clearKeyPermission()
                .addAllKeyPermission(permissions).build().toByteArray());
        }, 0);
    }

    /**
     * @param caller the caller.
     * @param name   the role.
     * @param key    the permission's key.
     * @param end    its range end.
     * @return completes when revoked.
     */
    public CompletableFuture<AuthState> roleRevokePermission(final Caller caller, final String name,
        final ByteString key, final ByteString end) {
        return change(caller, true, state -> {
            final Role role = state.roles().get(name);
            if (role == null) {
                throw AuthErrors.roleNotFound();
            }
            final List<Permission> kept = new ArrayList<>();
            for (final Permission permission : role.getKeyPermissionList()) {
                if (!(permission.getKey().equals(key) && permission.getRangeEnd().equals(end))) {
                    kept.add(permission);
                }
            }
            if (kept.size() == role.getKeyPermissionCount()) {
                throw AuthErrors.permissionNotGranted();
            }
            return new AuthCommands().put(roleKey(name), role.toBuilder().clearKeyPermission()
                .addAllKeyPermission(kept).build().toByteArray());
        }, 0);
    }

    // ----------------------------------------------------------------------------------------------- helpers

    private <T> CompletableFuture<T> read(final java.util.function.Function<AuthState, T> work) {
        return node.readBarrier().thenApplyAsync(index -> work.apply(state()), node.executor());
    }

    private CompletableFuture<AuthState> change(final Caller caller, final boolean admin, final Plan plan,
        final int flags) {
        final CompletableFuture<AuthState> done = new CompletableFuture<>();
        attempt(caller, admin, plan, flags, done, 0);
        return done;
    }

    private void attempt(final Caller caller, final boolean admin, final Plan plan, final int flags,
        final CompletableFuture<AuthState> done, final int attempt) {
        final AuthState state;
        final AuthCommands ops;
        try {
            state = state();
            if (admin) {
                checkAdmin(state, caller);
            }
            ops = plan.plan(state);
        } catch (final RuntimeException ex) {
            done.completeExceptionally(ex);
            return;
        }
        if (ops == null || ops.isEmpty()) {
            done.complete(state);
            return;
        }
        final byte[] command = ops.encode(state.revision(), flags);
        node.propose(new UnsafeBuffer(command), command.length).whenComplete((response, error) -> {
            if (error == null) {
                done.complete(state());
                return;
            }
            final CairnException cause = CairnException.find(error);
            if (cause != null && cause.error() == CairnError.AUTH_OLD_REVISION && attempt < ATTEMPTS_MAX) {
                // Another change came first: plan again from the state it left.
                node.executor().execute(() -> attempt(caller, admin, plan, flags, done, attempt + 1));
                return;
            }
            done.completeExceptionally(EtcdStatus.of(error));
        });
    }

    private byte[] hash(final String password) {
        final byte[] salt = new byte[16];
        random.nextBytes(salt);
        try {
            return OpenBSDBCrypt.generate("2a", password.toCharArray(), salt, config.bcryptCost())
                .getBytes(StandardCharsets.US_ASCII);
        } catch (final IllegalArgumentException ex) {
            throw Status.UNKNOWN.withDescription("bcrypt: " + ex.getMessage()).asRuntimeException();
        }
    }

    private static boolean checkPassword(final String hash, final String password) {
        try {
            return !hash.isEmpty() && OpenBSDBCrypt.checkPassword(hash, password.toCharArray());
        } catch (final IllegalArgumentException ex) {
            return false;
        }
    }

    /**
     * etcd 3.4 keeps {@code UserAddOptions} (field 4 of {@code authpb.User}, {@code no_password} its field 1); the
     * client library's protos predate it, so it travels as an unknown field, kept byte for byte.
     */
    static boolean noPassword(final User user) {
        final UnknownFieldSet.Field options = user.getUnknownFields().getField(4);
        for (final ByteString message : options.getLengthDelimitedList()) {
            try {
                final UnknownFieldSet.Field flag = UnknownFieldSet.parseFrom(message).getField(1);
                if (!flag.getVarintList().isEmpty() && flag.getVarintList().get(0) != 0) {
                    return true;
                }
            } catch (final com.google.protobuf.InvalidProtocolBufferException ex) {
                return false;
            }
        }
        return false;
    }

    /** A new user's record with etcd's options ({@code noPassword} null: keep what the record has). */
    private static AuthCommands putUser(final User user, final Boolean noPassword) {
        User record = user;
        if (noPassword != null) {
            final ByteString options = noPassword ? ByteString.copyFrom(new byte[] {0x08, 0x01}) : ByteString.EMPTY;
            record = user.toBuilder().setUnknownFields(UnknownFieldSet.newBuilder().addField(4,
                UnknownFieldSet.Field.newBuilder().addLengthDelimited(options).build()).build()).build();
        }
        return new AuthCommands().put(userKey(record.getName().toStringUtf8()), record.toByteArray());
    }

    /** etcd's {@code isValidPermissionRange}: a key, and no end, an end above it, or "\0". */
    private static boolean validRange(final ByteString key, final ByteString end) {
        if (key.isEmpty()) {
            return false;
        }
        return end.isEmpty() || compare(key, end) < 0 || end.size() == 1 && end.byteAt(0) == 0;
    }

    private static int firstAtOrAfter(final List<Permission> permissions, final ByteString key) {
        int at = 0;
        while (at < permissions.size() && compare(permissions.get(at).getKey(), key) < 0) {
            at++;
        }
        return at;
    }

    private static int compare(final ByteString a, final ByteString b) {
        return ByteString.unsignedLexicographicalComparator().compare(a, b);
    }

    private static byte[] userKey(final String name) {
        return (AuthState.USERS + name).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] roleKey(final String name) {
        return (AuthState.ROLES + name).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] ascii(final String key) {
        return key.getBytes(StandardCharsets.US_ASCII);
    }

    private static ByteString utf8(final String text) {
        return ByteString.copyFromUtf8(text);
    }
}
