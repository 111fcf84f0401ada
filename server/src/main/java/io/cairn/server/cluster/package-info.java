/**
 * Who the members are: {@link io.cairn.server.cluster.Topology} (the cluster the flags describe, member IDs as hashes
 * of peer host:port), {@link io.cairn.server.cluster.MemberAttributes} (what a member publishes through Raft: name,
 * peer and client URLs, cluster ID) and {@link io.cairn.server.cluster.ClusterView} (the configuration in force as
 * etcd's member list). Plain values: imports nothing else of the server.
 */
package io.cairn.server.cluster;
