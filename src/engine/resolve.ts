// Turns what a user types (`ns/name`, `ns/kind/name`, an IP address) into a traffic peer.
import { parseIP } from '../model/index.js';
import type { CompiledCluster } from './compile.js';
import type { TrafficPeer } from './types.js';

export type Resolution = { readonly peer: TrafficPeer } | { readonly error: string };

export function resolvePeer(compiled: CompiledCluster, text: string, defaultNamespace = 'default'): Resolution {
  const ip = parseIP(text);
  if (ip) {
    // An address that belongs to a pod is that pod; any other address is outside the cluster.
    const owner = compiled.cluster.endpoints.find((e) => e.ips.some((a) => parseIP(a)?.value === ip.value && parseIP(a)?.family === ip.family));
    return { peer: owner ? { kind: 'endpoint', endpoint: owner, ip: text } : { kind: 'external', ip: text } };
  }
  const parts = text.split('/');
  let id: string;
  if (parts.length === 1) id = `${defaultNamespace}/${text}`;
  else if (parts.length === 2 || parts.length === 3) id = parts.length === 3 ? `${parts[0]}/${parts[1].toLowerCase()}/${parts[2]}` : text;
  else return { error: `"${text}" is not an endpoint (ns/name, ns/kind/name) or an IP address` };

  const exact = compiled.endpointsById.get(id);
  if (exact) return { peer: { kind: 'endpoint', endpoint: exact } };
  // `ns/name` may name a workload when no Pod has that name and exactly one workload does.
  if (parts.length <= 2) {
    const [ns, name] = parts.length === 1 ? [defaultNamespace, text] : parts;
    const candidates = compiled.cluster.endpoints.filter((e) => e.namespace === ns && e.name === name);
    if (candidates.length === 1) return { peer: { kind: 'endpoint', endpoint: candidates[0] } };
    if (candidates.length > 1) {
      return { error: `"${text}" is ambiguous: ${candidates.map((c) => c.id).join(', ')}` };
    }
  }
  const known = compiled.cluster.endpoints.map((e) => e.id);
  const hint = known.length > 0 ? ` (known: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', ...' : ''})` : '';
  return { error: `no endpoint "${id}" in the input${hint}` };
}
