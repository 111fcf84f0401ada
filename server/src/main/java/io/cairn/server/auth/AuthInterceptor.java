package io.cairn.server.auth;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;

/**
 * Puts the caller's credentials into each call's context for {@link AuthStore#caller()}: the token from the
 * {@code token} metadata, else {@code authorization} (what etcd's gateway forwards from the HTTP {@code Authorization}
 * header), and, on a port that verifies client certificates, the certificate's common name (used as the user when no
 * token is given, as etcd does with {@code --client-cert-auth}).
 */
public final class AuthInterceptor implements ServerInterceptor {
    private static final Metadata.Key<String> TOKEN = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> AUTHORIZATION =
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    /** Calls only root may make (etcd's {@code IsAdminPermitted} before the call does anything). */
    private static final java.util.Set<String> ADMIN = java.util.Set.of(
        "etcdserverpb.Maintenance/Status", "etcdserverpb.Maintenance/Hash", "etcdserverpb.Maintenance/HashKV",
        "etcdserverpb.Maintenance/Defragment", "etcdserverpb.Maintenance/Snapshot",
        "etcdserverpb.Maintenance/MoveLeader", "etcdserverpb.Cluster/MemberAdd", "etcdserverpb.Cluster/MemberRemove",
        "etcdserverpb.Cluster/MemberUpdate", "etcdserverpb.Cluster/MemberPromote", "etcdserverpb.KV/Compact",
        "etcdserverpb.Lease/LeaseLeases");
    /** Calls any authenticated user may make (the rest of their checks, if any, are the service's). */
    private static final java.util.Set<String> USER = java.util.Set.of(
        "etcdserverpb.Lease/LeaseGrant", "etcdserverpb.Lease/LeaseRevoke", "etcdserverpb.Lease/LeaseTimeToLive",
        "etcdserverpb.Cluster/MemberList", "etcdserverpb.Maintenance/Alarm");

    private final boolean commonNames;
    private final AuthStore auth;

    /**
     * @param commonNames true on a port with {@code --client-cert-auth}: a verified certificate's CN names the user.
     * @param auth        the member's authentication state, for the calls only root (or any user) may make.
     */
    public AuthInterceptor(final boolean commonNames, final AuthStore auth) {
        this.commonNames = commonNames;
        this.auth = auth;
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(final ServerCall<Q, A> call, final Metadata headers,
        final ServerCallHandler<Q, A> next) {
        String token = headers.get(TOKEN);
        if (token == null) {
            token = headers.get(AUTHORIZATION);
        }
        final String commonName = commonNames ? commonName(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION))
            : null;
        final Context context = token == null && commonName == null ? Context.current()
            : Context.current().withValue(AuthStore.TOKEN, token).withValue(AuthStore.COMMON_NAME, commonName);
        final String method = call.getMethodDescriptor().getFullMethodName();
        final boolean admin = ADMIN.contains(method);
        if (admin || USER.contains(method)) {
            final Context previous = context.attach();
            try {
                final AuthStore.Caller caller = auth.caller();
                if (admin) {
                    auth.checkAdmin(caller);
                } else {
                    auth.requireUser(caller);
                }
            } catch (final io.grpc.StatusRuntimeException refused) {
                call.close(refused.getStatus(), new Metadata());
                return new ServerCall.Listener<>() { };
            } finally {
                context.detach(previous);
            }
        }
        return context == Context.current() ? next.startCall(call, headers)
            : Contexts.interceptCall(context, call, headers, next);
    }

    private static String commonName(final SSLSession session) {
        if (session == null) {
            return null;
        }
        try {
            final Certificate[] chain = session.getPeerCertificates();
            if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
                return null;
            }
            for (final Rdn rdn : new LdapName(leaf.getSubjectX500Principal().getName()).getRdns()) {
                if ("CN".equalsIgnoreCase(rdn.getType())) {
                    return String.valueOf(rdn.getValue());
                }
            }
            return null;
        } catch (final SSLPeerUnverifiedException | InvalidNameException ex) {
            return null;
        }
    }
}
