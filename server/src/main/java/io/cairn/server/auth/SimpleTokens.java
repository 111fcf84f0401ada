package io.cairn.server.auth;

import io.etcd.jetcd.api.User;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * etcd's simple tokens ({@code --auth-token simple}): opaque strings a client sends back in its {@code token}
 * metadata, valid on every member for {@code --auth-token-ttl} seconds after their last use there (etcd's sliding
 * expiry), and no longer once the user is deleted, its password changed or authentication disabled.
 *
 * <p>etcd makes a simple token valid cluster-wide by proposing it through Raft and keeping it in every member's
 * memory. Cairn's token carries what a member needs to check it without that round: {@code <16 random letters>.
 * <base64url(name, issued-at seconds, a fingerprint of the user's password hash, HMAC-SHA256 of all before it)>},
 * signed with a secret made when authentication is enabled and replicated in the auth table (so a token from one
 * member is good on another; a new secret, at the next enable, voids every earlier token). A member extends a token's
 * life on each use it sees, as etcd's members do each for themselves.
 */
final class SimpleTokens {
    /** etcd's default {@code --auth-token-ttl}. */
    static final long TTL_DEFAULT_SECONDS = 300;
    private static final int LETTERS = 16;
    private static final int MAC_BYTES = 16;
    private static final int FINGERPRINT_BYTES = 8;
    private static final int USED_MAX = 100_000;
    /** A token's last use is recorded to this precision (not on every request). */
    private static final long LAST_USED_GRANULARITY_MS = 100;

    private final long ttlMs;
    private final LongSupplier clockMs;
    private final SecureRandom random = new SecureRandom();
    /** Token → when this member last accepted it (ms), and whom for under which state (checked once per state). */
    private final Map<String, Seen> seen = new ConcurrentHashMap<>();

    /** A token this member accepted: its user, the state it was checked in, when it was last used. */
    private record Seen(String user, AuthState state, long lastUsedMs) {
    }

    SimpleTokens(final long ttlSeconds, final LongSupplier clockMs) {
        this.ttlMs = TimeUnit.SECONDS.toMillis(ttlSeconds > 0 ? ttlSeconds : TTL_DEFAULT_SECONDS);
        this.clockMs = clockMs;
    }

    /**
     * @param state the state the user was authenticated in (enabled: it has a secret).
     * @param name  the user.
     * @return a new token.
     */
    String issue(final AuthState state, final String name) {
        final StringBuilder letters = new StringBuilder(LETTERS);
        for (int i = 0; i < LETTERS; i++) {
            final int letter = random.nextInt(52);
            letters.append((char)(letter < 26 ? 'a' + letter : 'A' + letter - 26));
        }
        final byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        final ByteBuffer body = ByteBuffer.allocate(2 + nameBytes.length + Long.BYTES + FINGERPRINT_BYTES + MAC_BYTES);
        body.putShort((short)nameBytes.length).put(nameBytes).putLong(clockMs.getAsLong() / 1000)
            .put(fingerprint(state.users().get(name)));
        body.put(mac(state.tokenSecret(), letters.toString(), body.array(), body.position()));
        return letters + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(body.array());
    }

    /**
     * @param state the current state.
     * @param token what the client sent.
     * @return the user it names, or null when it is not valid now.
     */
    String verify(final AuthState state, final String token) {
        final long now = clockMs.getAsLong();
        final Seen known = seen.get(token);
        if (known != null && known.state() == state) {
            // Checked already in this very state (no user, password or secret changed since): only its age counts.
            if (now - known.lastUsedMs() >= ttlMs) {
                seen.remove(token);
                return null;
            }
            if (now - known.lastUsedMs() >= LAST_USED_GRANULARITY_MS) {
                seen.put(token, new Seen(known.user(), state, now));
            }
            return known.user();
        }
        final byte[] secret = state.tokenSecret();
        final int dot = token.indexOf('.');
        if (secret == null || dot != LETTERS) {
            return null;
        }
        final byte[] body;
        try {
            body = Base64.getUrlDecoder().decode(token.substring(dot + 1));
        } catch (final IllegalArgumentException ex) {
            return null;
        }
        if (body.length < 2 + Long.BYTES + FINGERPRINT_BYTES + MAC_BYTES) {
            return null;
        }
        final ByteBuffer in = ByteBuffer.wrap(body);
        final int nameLength = in.getShort() & 0xFFFF;
        final int signed = 2 + nameLength + Long.BYTES + FINGERPRINT_BYTES;
        if (body.length != signed + MAC_BYTES) {
            return null;
        }
        final byte[] expected = mac(secret, token.substring(0, dot), body, signed);
        if (!MessageDigest.isEqual(expected, java.util.Arrays.copyOfRange(body, signed, body.length))) {
            return null;
        }
        final byte[] nameBytes = new byte[nameLength];
        in.get(nameBytes);
        final String name = new String(nameBytes, StandardCharsets.UTF_8);
        final long issuedMs = TimeUnit.SECONDS.toMillis(in.getLong());
        final byte[] fingerprint = new byte[FINGERPRINT_BYTES];
        in.get(fingerprint);
        final User user = state.users().get(name);
        if (user == null || !MessageDigest.isEqual(fingerprint, fingerprint(user))) {
            return null; // deleted, or its password changed since
        }
        final long lastUsed = Math.max(issuedMs, known == null ? 0L : known.lastUsedMs());
        if (now - lastUsed >= ttlMs) {
            seen.remove(token);
            return null;
        }
        if (seen.size() >= USED_MAX) {
            seen.entrySet().removeIf(entry -> now - entry.getValue().lastUsedMs() >= ttlMs);
        }
        seen.put(token, new Seen(name, state, now));
        return name;
    }

    /** The first bytes of SHA-256 of the stored password hash: a password change voids the user's tokens. */
    private static byte[] fingerprint(final User user) {
        try {
            final byte[] digest = MessageDigest.getInstance("SHA-256").digest(user.getPassword().toByteArray());
            return java.util.Arrays.copyOf(digest, FINGERPRINT_BYTES);
        } catch (final GeneralSecurityException ex) {
            throw new IllegalStateException("this JDK has no SHA-256", ex);
        }
    }

    private static byte[] mac(final byte[] secret, final String letters, final byte[] body, final int length) {
        try {
            final Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(letters.getBytes(StandardCharsets.US_ASCII));
            mac.update(body, 0, length);
            return java.util.Arrays.copyOf(mac.doFinal(), MAC_BYTES);
        } catch (final GeneralSecurityException ex) {
            throw new IllegalStateException("this JDK has no HmacSHA256", ex);
        }
    }
}
