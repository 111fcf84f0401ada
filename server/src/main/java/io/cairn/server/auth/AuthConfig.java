package io.cairn.server.auth;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * etcd's authentication flags: {@code --auth-token simple} (the default) or
 * {@code --auth-token jwt,pub-key=PATH,priv-key=PATH,sign-method=ALG[,ttl=DURATION]}, {@code --bcrypt-cost} (4..31,
 * default 10) and {@code --auth-token-ttl} (seconds a simple token lives after its last use, default 300).
 *
 * @param jwt             the JWT options, or null for simple tokens.
 * @param bcryptCost      bcrypt's cost for new passwords.
 * @param tokenTtlSeconds a simple token's life after its last use.
 */
public record AuthConfig(Jwt jwt, int bcryptCost, long tokenTtlSeconds) {
    /** etcd's defaults: simple tokens, cost 10, 300 s. */
    public static final AuthConfig DEFAULT = new AuthConfig(null, 10, SimpleTokens.TTL_DEFAULT_SECONDS);

    /**
     * {@code --auth-token jwt,...}.
     *
     * @param publicKey  the PEM public key that verifies tokens (RS, PS, ES), or null to derive it from the private.
     * @param privateKey the PEM private key that signs them (RS, PS, ES), the secret for HS; null: verify only.
     * @param signMethod the JWS algorithm (RS256, ES256, HS256, ...).
     * @param ttl        a token's life.
     */
    public record Jwt(Path publicKey, Path privateKey, String signMethod, Duration ttl) {
    }

    /**
     * @param authToken  {@code --auth-token}.
     * @param bcryptCost {@code --bcrypt-cost}.
     * @param ttlSeconds {@code --auth-token-ttl}.
     * @param ttlParser  Go's durations ({@code 5m}) for the JWT {@code ttl} option, in milliseconds.
     * @return the config.
     * @throws IllegalArgumentException with etcd's message for a malformed flag.
     */
    public static AuthConfig parse(final String authToken, final int bcryptCost, final long ttlSeconds,
        final java.util.function.ToLongFunction<String> ttlParser) {
        final int cost = bcryptCost < 4 || bcryptCost > 31 ? 10 : bcryptCost; // etcd: out of range → default, warned
        if (cost != bcryptCost) {
            System.getLogger(AuthConfig.class.getName()).log(System.Logger.Level.WARNING, "--bcrypt-cost "
                + bcryptCost + " is out of range 4..31: using 10");
        }
        final String[] parts = authToken.split(",");
        if ("simple".equals(parts[0]) && parts.length == 1) {
            return new AuthConfig(null, cost, ttlSeconds);
        }
        if (!"jwt".equals(parts[0])) {
            throw new IllegalArgumentException("--auth-token: unknown token type " + parts[0]
                + " (simple, or jwt,pub-key=...,priv-key=...,sign-method=...)");
        }
        final Map<String, String> options = new HashMap<>();
        for (int i = 1; i < parts.length; i++) {
            final String[] pair = parts[i].split("=", -1);
            if (pair.length != 2 || options.put(pair[0], pair[1]) != null) {
                throw new IllegalArgumentException("auth: invalid auth options (" + parts[i] + ")");
            }
        }
        final String method = options.get("sign-method");
        if (method == null || !JwtTokens.known(method)) {
            throw new IllegalArgumentException("auth: invalid auth signature method");
        }
        final String pub = options.get("pub-key");
        final String priv = options.get("priv-key");
        if (pub == null && priv == null) {
            throw new IllegalArgumentException("auth: missing key data");
        }
        final Duration ttl = options.containsKey("ttl") ? Duration.ofMillis(ttlParser.applyAsLong(options.get("ttl")))
            : Duration.ofMinutes(5);
        return new AuthConfig(new Jwt(pub == null ? null : Path.of(pub), priv == null ? null : Path.of(priv), method,
            ttl), cost, ttlSeconds);
    }
}
