// Turns what a user types (`ns/name`, `ns/kind/name`, `ns/service/name`, an IP address) into a
// traffic peer, or a Service.
import { parseIP, type Service } from '../model/index.js';
import type { CompiledCluster } from './compile.js';
import { findService, serviceAt, serviceId } from './services.js';
import type { TrafficPeer } from './types.js';

export type Resolution = { readonly peer: TrafficPeer } | { readonly error: string };

/** What a name may denote: an endpoint or outside address, or a Service (by name or by one of its addresses). */
export type TargetResolution =
  | {
      readonly peer: TrafficPeer;
      /** A Service of the same name in the same namespace, which the user may have meant. */
      readonly sameNameService?: Service;
    }
  | {
      readonly service: Service;
      /** The Service address the text gave (a ClusterIP, a LoadBalancer address or an externalIP). */
      readonly address?: string;
    }
  | { readonly error: string };

/** The words kubectl takes for Services in `kind/name`. */
const SERVICE_KINDS: ReadonlySet<string> = new Set(['service', 'services', 'svc']);

function hint(compiled: CompiledCluster): string {
  const known = [...compiled.cluster.endpoints.map((e) => e.id), ...(compiled.cluster.services ?? []).map(serviceId)];
  return known.length > 0 ? ` (known: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', ...' : ''})` : '';
}

export function resolveTarget(compiled: CompiledCluster, text: string, defaultNamespace = 'default'): TargetResolution {
  const ip = parseIP(text);
  if (ip) {
    // An address that belongs to a pod is that pod; a Service's address is that Service; any other is outside the cluster.
    const owner = compiled.cluster.endpoints.find((e) => e.ips.some((a) => parseIP(a)?.value === ip.value && parseIP(a)?.family === ip.family));
    if (owner) return { peer: { kind: 'endpoint', endpoint: owner, ip: text } };
    const service = serviceAt(compiled, ip);
    return service ? { service, address: text } : { peer: { kind: 'external', ip: text } };
  }
  const parts = text.split('/');
  if (parts.length === 3 && SERVICE_KINDS.has(parts[1].toLowerCase())) {
    const service = findService(compiled, parts[0], parts[2]);
    return service ? { service } : { error: `no Service "${parts[0]}/service/${parts[2]}" in the input${hint(compiled)}` };
  }
  let id: string;
  if (parts.length === 1) id = `${defaultNamespace}/${text}`;
  else if (parts.length === 2 || parts.length === 3) id = parts.length === 3 ? `${parts[0]}/${parts[1].toLowerCase()}/${parts[2]}` : text;
  else return { error: `"${text}" is not an endpoint (ns/name, ns/kind/name), a Service (ns/service/name) or an IP address` };

  const [ns, name] = parts.length === 1 ? [defaultNamespace, text] : parts.length === 2 ? parts : [parts[0], parts[2]];
  const sameName = parts.length <= 2 ? findService(compiled, ns, name) : undefined;
  const exact = compiled.endpointsById.get(id);
  if (exact) return { peer: { kind: 'endpoint', endpoint: exact }, sameNameService: sameName };
  // `ns/name` may name a workload when no Pod has that name and exactly one workload does.
  if (parts.length <= 2) {
    const candidates = compiled.cluster.endpoints.filter((e) => e.namespace === ns && e.name === name);
    if (candidates.length === 1) return { peer: { kind: 'endpoint', endpoint: candidates[0] }, sameNameService: sameName };
    if (candidates.length > 1) {
      return { error: `"${text}" is ambiguous: ${candidates.map((c) => c.id).join(', ')}${sameName ? `, ${serviceId(sameName)}` : ''}` };
    }
    // No endpoint has the name: a Service may; `svc/NAME` names one in the default namespace, as kubectl reads it.
    if (sameName) return { service: sameName };
    const kubectlStyle = parts.length === 2 && SERVICE_KINDS.has(parts[0].toLowerCase()) ? findService(compiled, defaultNamespace, parts[1]) : undefined;
    if (kubectlStyle) return { service: kubectlStyle };
  }
  return { error: `no endpoint "${id}" in the input${hint(compiled)}` };
}

/**
 * An endpoint or an outside address, for the questions that take one. A Service (or one of its
 * addresses) is refused with words saying what it is: it stands for its backends.
 */
export function resolvePeer(compiled: CompiledCluster, text: string, defaultNamespace = 'default'): Resolution {
  const r = resolveTarget(compiled, text, defaultNamespace);
  if ('service' in r) {
    const what = r.address ? `${r.address} is an address of the Service ${serviceId(r.service)}` : `"${text}" is the Service ${serviceId(r.service)}`;
    return { error: `${what}, not an endpoint: a Service stands for its backends (podwall check takes it as --to)` };
  }
  return r;
}
