/**
 * etcd's authentication and roles: the state kept in the keyspace's auth table ({@code AuthState}), its management
 * calls and permission checks ({@code AuthStore}), simple and JWT tokens, and etcd's errors. The gRPC services call
 * it; it calls the member ({@code server.node.Node}).
 */
package io.cairn.server.auth;
