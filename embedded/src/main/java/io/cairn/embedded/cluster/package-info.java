/**
 * Who the members are: {@link io.cairn.embedded.cluster.Topology} (the cluster the flags describe, member IDs as hashes
 * of peer host:port), {@link io.cairn.embedded.cluster.MemberAttributes} (what a member publishes through Raft: name,
 * peer and client URLs, cluster ID) and {@link io.cairn.embedded.cluster.ClusterView} (the configuration in force as
 * etcd's member list). Plain values: import nothing else of the embedded node.
 */
package io.cairn.embedded.cluster;
