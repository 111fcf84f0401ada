package io.cairn.server;

import com.google.protobuf.ByteString;
import io.cairn.server.tls.Certificates;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthRoleGrantPermissionRequest;
import io.etcd.jetcd.api.AuthUserChangePasswordRequest;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.Permission;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.stub.MetadataUtils;
import io.netty.handler.ssl.SslContext;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goal: etcd's authentication works the way its clients use it, across members, and refuses what it must. Method:
 * three {@code cairn member} processes each time, users and roles made with Debian's {@code etcdctl}.
 * <ul>
 *   <li>JWT ({@code --auth-token jwt,pub-key=...,priv-key=...,sign-method=RS256}, keys made with openssl): jetcd with a
 *   user and password writes and reads through followers and is refused outside its permissions; a token issued by
 *   one member is good on the others; a token signed with another key, and one past its {@code ttl}, are "invalid
 *   auth token"; after an auth change, writes under a token issued before it are "revision of auth store is old"
 *   (etcd's JWT rule) and a fresh token works.</li>
 *   <li>Simple tokens with {@code --auth-token-ttl=2} and client TLS with {@code --client-cert-auth}: a token from one
 *   member works on another, expires 2 s after its last use, and a changed password voids it; a forged token is
 *   refused; a client certificate whose CN names a user created with {@code --no-password} acts as that user (its
 *   permissions, nothing more) without any token; curl reaches the JSON gateway's {@code /v3/auth/authenticate} and
 *   then a range with the token in the {@code Authorization} header, and is refused without it.</li>
 * </ul>
 */
class AuthIT {
    @TempDir
    Path dir;

    @AutoClose
    private ProcessCluster cairn;

    private static String etcdctl(final String endpoint, final String... args) throws Exception {
        return EtcdctlCompatibilityIT.etcdctl(endpoint, null, args).trim();
    }

    /** root, ann with readwrite on app/ and read on shared, and the role grants, then auth enable. */
    private static void users(final String endpoint, final List<String> tls) throws Exception {
        final List<String[]> script = List.of(
            new String[] {"user", "add", "root", "--new-user-password=rootpw", "--interactive=false"},
            new String[] {"role", "add", "root"},
            new String[] {"user", "grant-role", "root", "root"},
            new String[] {"user", "add", "ann", "--new-user-password=annpw", "--interactive=false"},
            new String[] {"role", "add", "app"},
            new String[] {"role", "grant-permission", "--prefix", "app", "readwrite", "app/"},
            new String[] {"role", "grant-permission", "app", "read", "shared"},
            new String[] {"user", "grant-role", "ann", "app"},
            new String[] {"put", "shared", "s"},
            new String[] {"auth", "enable"});
        for (final String[] step : script) {
            final List<String> args = new ArrayList<>(tls);
            args.addAll(List.of(step));
            final String out = etcdctl(endpoint, args.toArray(String[]::new));
            assertTrue(!out.startsWith("Error"), String.join(" ", step) + ": " + out);
        }
    }

    private static KVGrpc.KVBlockingStub kv(final ProcessCluster cluster, final int i, final String token) {
        final Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), token);
        return KVGrpc.newBlockingStub(cluster.channel(i)).withInterceptors(
            MetadataUtils.newAttachHeadersInterceptor(headers)).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    private static AuthGrpc.AuthBlockingStub auth(final ProcessCluster cluster, final int i, final String token) {
        final Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), token);
        return AuthGrpc.newBlockingStub(cluster.channel(i)).withInterceptors(
            MetadataUtils.newAttachHeadersInterceptor(headers)).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    private static String token(final ProcessCluster cluster, final int i, final String user, final String password) {
        return AuthGrpc.newBlockingStub(cluster.channel(i)).withDeadlineAfter(10, TimeUnit.SECONDS).authenticate(
            AuthenticateRequest.newBuilder().setName(user).setPassword(password).build()).getToken();
    }

    private static PutRequest put(final String key, final String value) {
        return PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(key)).setValue(ByteString.copyFromUtf8(value))
            .build();
    }

    private static RangeRequest get(final String key) {
        return RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(key)).build();
    }

    private static String refusal(final org.junit.jupiter.api.function.Executable call) {
        return assertThrows(StatusRuntimeException.class, call).getStatus().getDescription();
    }

    private static void openssl(final Path workDir, final String... args) throws Exception {
        final List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        final Process process = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
            .start();
        final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.waitFor(), out);
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void shouldAuthenticateWithJwtOnEveryMemberAndRefuseForgedExpiredAndOldTokens() throws Exception {
        final Path keys = Files.createDirectories(dir.resolve("jwt"));
        openssl(keys, "genrsa", "-out", "jwt.key", "2048");
        openssl(keys, "rsa", "-in", "jwt.key", "-pubout", "-out", "jwt.pub");
        openssl(keys, "genrsa", "-out", "other.key", "2048");
        cairn = ProcessCluster.prepareCairn(dir, "AuthIT-jwt", 3).withFlags("--auth-token",
            "jwt,pub-key=" + keys.resolve("jwt.pub") + ",priv-key=" + keys.resolve("jwt.key")
                + ",sign-method=RS256,ttl=8s");
        cairn.startAll();
        Await.until("a leader", 30, () -> cairn.leader() >= 0);
        users(cairn.endpoint(0), List.of());

        // jetcd with a user and a password, through every member.
        for (int i = 0; i < 3; i++) {
            try (Client client = Client.builder().endpoints("http://" + cairn.endpoint(i))
                .user(ByteSequence.from("ann", StandardCharsets.UTF_8))
                .password(ByteSequence.from("annpw", StandardCharsets.UTF_8)).build()) {
                client.getKVClient().put(ByteSequence.from("app/" + i, StandardCharsets.UTF_8),
                    ByteSequence.from("v" + i, StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
                assertEquals("s", client.getKVClient().get(ByteSequence.from("shared", StandardCharsets.UTF_8))
                    .get(10, TimeUnit.SECONDS).getKvs().get(0).getValue().toString(StandardCharsets.UTF_8));
                final ExecutionException denied = assertThrows(ExecutionException.class, () -> client.getKVClient()
                    .put(ByteSequence.from("shared", StandardCharsets.UTF_8),
                        ByteSequence.from("x", StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS));
                assertTrue(String.valueOf(denied.getCause()).contains("permission denied"), denied.toString());
            }
        }

        // One member's token on the others.
        final String token = token(cairn, 0, "ann", "annpw");
        for (int i = 0; i < 3; i++) {
            kv(cairn, i, token).put(put("app/token-" + i, "t"));
        }
        // Signed with another key (same claims): invalid.
        final String[] parts = token.split("\\.");
        final Path payload = keys.resolve("signing-input");
        Files.writeString(payload, parts[0] + "." + parts[1]);
        openssl(keys, "dgst", "-sha256", "-sign", "other.key", "-out", "forged.sig", "signing-input");
        final String forged = parts[0] + "." + parts[1] + "." + java.util.Base64.getUrlEncoder().withoutPadding()
            .encodeToString(Files.readAllBytes(keys.resolve("forged.sig")));
        assertEquals("etcdserver: invalid auth token", refusal(() -> kv(cairn, 1, forged).range(get("app/0"))));
        // An auth change after the token was issued: its writes are refused as etcd's are, a new token works.
        etcdctl(cairn.endpoint(2), "--user", "root:rootpw", "role", "grant-permission", "app", "read", "other");
        assertEquals("etcdserver: revision of auth store is old",
            refusal(() -> kv(cairn, 1, token).put(put("app/late", "x"))));
        final String fresh = token(cairn, 1, "ann", "annpw");
        kv(cairn, 2, fresh).put(put("app/late", "x"));
        // Past its ttl (8 s): invalid.
        Thread.sleep(9_000);
        assertEquals("etcdserver: invalid auth token", refusal(() -> kv(cairn, 0, fresh).range(get("app/0"))));
        assertEquals("etcdserver: user name is empty", refusal(() -> KVGrpc.newBlockingStub(cairn.channel(0))
            .withDeadlineAfter(10, TimeUnit.SECONDS).range(get("app/0"))));
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void shouldExpireSimpleTokensAndTakeTheCertificateNameAsTheUser() throws Exception {
        final Path pki = dir.resolve("pki");
        final Certificates.Issued ca = Certificates.issue("auth test CA", List.of(), true, null, Duration.ofDays(2));
        Certificates.writePem(pki.resolve("ca.pem"), List.of(ca.certificate()), false);
        Certificates.issue("server", List.of("127.0.0.1"), false, ca, Duration.ofDays(2))
            .write(pki.resolve("server.pem"), pki.resolve("server-key.pem"));
        Certificates.issue("root", List.of(), false, ca, Duration.ofDays(2))
            .write(pki.resolve("root.pem"), pki.resolve("root-key.pem"));
        Certificates.issue("reporter", List.of(), false, ca, Duration.ofDays(2))
            .write(pki.resolve("reporter.pem"), pki.resolve("reporter-key.pem"));
        final Certificates.Issued client = Certificates.issue("nobody-in-particular", List.of(), false, ca,
            Duration.ofDays(2));
        final SslContext tls = GrpcSslContexts.forClient().trustManager(ca.certificate())
            .keyManager(client.key(), client.certificate()).build();
        cairn = ProcessCluster.prepareCairn(dir, "AuthIT-simple", 3).withClientTls(tls,
            "--cert-file", pki.resolve("server.pem").toString(), "--key-file", pki.resolve("server-key.pem").toString(),
            "--trusted-ca-file", pki.resolve("ca.pem").toString(), "--client-cert-auth", "--auth-token-ttl", "2");
        cairn.startAll();
        Await.until("a leader", 30, () -> cairn.leader() >= 0);
        final List<String> asRoot = List.of("--cacert", pki.resolve("ca.pem").toString(), "--cert",
            pki.resolve("root.pem").toString(), "--key", pki.resolve("root-key.pem").toString());
        users(cairn.endpoint(0), asRoot);

        // A simple token from member 0 on member 1; it lives 2 s after its last use.
        final String token = token(cairn, 0, "ann", "annpw");
        kv(cairn, 1, token).put(put("app/a", "1"));
        Thread.sleep(1_200);
        kv(cairn, 1, token).range(get("app/a")); // used again: extended
        Thread.sleep(1_200);
        kv(cairn, 1, token).range(get("app/a"));
        Thread.sleep(2_500);
        assertEquals("etcdserver: invalid auth token", refusal(() -> kv(cairn, 1, token).range(get("app/a"))));
        // A changed password voids the user's tokens at once; a forged token is refused.
        final String before = token(cairn, 2, "ann", "annpw");
        auth(cairn, 2, token(cairn, 2, "root", "rootpw")).userChangePassword(
            AuthUserChangePasswordRequest.newBuilder().setName("ann").setPassword("newpw").build());
        assertEquals("etcdserver: invalid auth token", refusal(() -> kv(cairn, 2, before).range(get("app/a"))));
        final String forged = "ABCDEFGHIJKLMNOP" + before.substring(16, before.length() - 2) + "AA";
        assertEquals("etcdserver: invalid auth token", refusal(() -> kv(cairn, 0, forged).range(get("app/a"))));
        assertEquals("etcdserver: authentication failed, invalid user ID or password",
            refusal(() -> token(cairn, 0, "ann", "annpw")));
        kv(cairn, 0, token(cairn, 0, "ann", "newpw")).range(get("app/a"));

        // The certificate's CN as the user: "reporter", made without a password, may read shared and nothing else.
        for (final String[] step : new String[][] {{"user", "add", "reporter", "--no-password"},
            {"role", "add", "reports"}, {"role", "grant-permission", "reports", "read", "shared"},
            {"user", "grant-role", "reporter", "reports"}}) {
            final List<String> args = new ArrayList<>(asRoot);
            args.addAll(List.of(step));
            assertTrue(!etcdctl(cairn.endpoint(1), args.toArray(String[]::new)).startsWith("Error"), step[0]);
        }
        final List<String> asReporter = List.of("--cacert", pki.resolve("ca.pem").toString(), "--cert",
            pki.resolve("reporter.pem").toString(), "--key", pki.resolve("reporter-key.pem").toString());
        final List<String> read = new ArrayList<>(asReporter);
        read.addAll(List.of("get", "shared"));
        assertEquals("shared\ns", etcdctl(cairn.endpoint(2), read.toArray(String[]::new)));
        final List<String> write = new ArrayList<>(asReporter);
        write.addAll(List.of("put", "shared", "x"));
        assertEquals("Error: etcdserver: permission denied", etcdctl(cairn.endpoint(2), write.toArray(String[]::new)));
        // A password for a user made without one: etcd's unknown error.
        assertTrue(refusal(() -> token(cairn, 0, "reporter", "guess")).contains("no password user"));
        // A certificate whose CN is no user (the test's own channel): not root, not anyone.
        assertEquals("etcdserver: user name not found", refusal(() -> AuthGrpc.newBlockingStub(cairn.channel(0))
            .withDeadlineAfter(10, TimeUnit.SECONDS).roleGrantPermission(AuthRoleGrantPermissionRequest.newBuilder()
                .setName("reports").setPerm(Permission.newBuilder().setKey(ByteString.copyFromUtf8("app/"))).build())));

        // The JSON gateway: authenticate, then the token in the Authorization header, as etcd's gateway takes it.
        final String curlTls = "--cacert " + pki.resolve("ca.pem") + " --cert " + pki.resolve("root.pem") + " --key "
            + pki.resolve("root-key.pem");
        final String login = curl(curlTls, cairn.httpUrl(0) + "/v3/auth/authenticate", null,
            "{\"name\":\"ann\",\"password\":\"newpw\"}");
        final java.util.regex.Matcher found = java.util.regex.Pattern.compile("\"token\":\"([^\"]+)\"").matcher(login);
        assertTrue(found.find(), login);
        final String range = "{\"key\":\"" + java.util.Base64.getEncoder().encodeToString("app/a".getBytes(
            StandardCharsets.UTF_8)) + "\"}";
        final String answer = curl(curlTls, cairn.httpUrl(1) + "/v3/kv/range", found.group(1), range);
        assertTrue(answer.contains("\"count\":\"1\""), answer);
        // Without a token the gateway's caller has no name: its client certificate is not used (as etcd's).
        final String refused = curl(curlTls, cairn.httpUrl(1) + "/v3/kv/range", null, range);
        assertTrue(refused.contains("user name is empty"), refused);
    }

    private static String curl(final String tls, final String url, final String token, final String body)
        throws Exception {
        final List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10"));
        command.addAll(List.of(tls.split(" ")));
        if (token != null) {
            command.addAll(List.of("-H", "Authorization: " + token));
        }
        command.addAll(List.of("-X", "POST", "-d", body, url));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(20, TimeUnit.SECONDS));
        return out;
    }
}
