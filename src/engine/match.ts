// Peer and port matching: the single definition of "this peer/port entry matches this traffic",
// used by one-off verdicts, matrices and the data plane alike.
import { cidrContains, selectorMatches, type Endpoint, type IPAddress, type Protocol } from '../model/index.js';
import type { CompiledAdminPort, CompiledCluster, CompiledPeer, CompiledPort } from './compile.js';

/**
 * A pod peer matches pods by namespace and labels; hostNetwork pods are never matched by pod or
 * namespace selectors (their traffic is the node's). An ipBlock matches an address in `cidr` and
 * in none of `except`; an endpoint without an address is never matched by an ipBlock.
 */
export function peerMatches(
  compiled: CompiledCluster,
  peer: CompiledPeer,
  endpoint: Endpoint | undefined,
  ip: IPAddress | undefined,
): boolean {
  if (peer.kind === 'ipBlock') return ip !== undefined && ipBlockContains(peer, ip);
  if (!endpoint || endpoint.hostNetwork) return false;
  if (peer.namespace !== undefined) {
    if (endpoint.namespace !== peer.namespace) return false;
  } else {
    const nsLabels = compiled.namespaceLabels.get(endpoint.namespace) ?? {};
    if (!selectorMatches(peer.namespaceSelector!, nsLabels)) return false;
  }
  return peer.podSelector === undefined || selectorMatches(peer.podSelector, endpoint.labels);
}

export function ipBlockContains(peer: Extract<CompiledPeer, { kind: 'ipBlock' }>, ip: IPAddress): boolean {
  return cidrContains(peer.cidr, ip) && !peer.except.some((e) => cidrContains(e, ip));
}

/**
 * A named port is resolved against the destination pod's container ports (same name and
 * protocol), so one rule can mean different numbers on different pods.
 */
export function portMatches(entry: CompiledPort, port: number, protocol: Protocol, destination: Endpoint | undefined): boolean {
  if (entry.protocol !== protocol) return false;
  switch (entry.kind) {
    case 'all':
      return true;
    case 'range':
      return port >= entry.port && port <= entry.endPort;
    case 'named':
      return (
        destination !== undefined &&
        destination.ports.some((p) => p.name === entry.name && p.protocol === protocol && p.containerPort === port)
      );
  }
}

/**
 * An admin rule's port: numbers and ranges as a NetworkPolicy's; a named port matches the
 * destination pod's container port of that name, with that port's own protocol ("NamedPort selects
 * a port on a pod(s) based on name"), so it never matches an address outside the cluster.
 */
export function adminPortMatches(entry: CompiledAdminPort, port: number, protocol: Protocol, destination: Endpoint | undefined): boolean {
  if (entry.kind !== 'namedAnyProtocol') return portMatches(entry, port, protocol, destination);
  return destination !== undefined && destination.ports.some((p) => p.name === entry.name && p.protocol === protocol && p.containerPort === port);
}
