// Traffic between an endpoint and addresses outside the cluster, per rule: which of the
// endpoint's declared ports an outside source may connect to, and which rules let the endpoint
// connect out. Outside addresses are matched only by rules with no peers ("matches all
// sources/destinations") or with ipBlock peers; pod and namespace selectors never match them.
import type { Endpoint } from '../model/index.js';
import type { CompiledCluster, CompiledRule } from './compile.js';
import { describePeer, describePort } from './describe.js';
import { isolatingPolicies } from './evaluate.js';
import { portMatches } from './match.js';
import type { PortProtocol } from './matrix.js';
import type { Direction, RuleRef } from './types.js';

export interface ExternalAccess {
  readonly direction: Direction;
  /** Not isolated in this direction (or a hostNetwork pod): outside traffic is not restricted. */
  readonly open: boolean;
  /** Ingress: the declared ports an outside source may reach, each with the rules admitting it. */
  readonly ports: readonly (PortProtocol & { readonly allowedBy: readonly RuleRef[]; readonly peers: readonly string[]; readonly fromAnywhere: boolean })[];
  /** The rules that admit outside addresses, with who and which ports in words. */
  readonly rules: readonly { readonly rule: RuleRef; readonly peers: string; readonly ports: string }[];
}

function admitsOutside(rule: CompiledRule): boolean {
  return rule.peers === undefined || rule.peers.some((p) => p.kind === 'ipBlock');
}

function outsidePeers(rule: CompiledRule): string[] {
  if (rule.peers === undefined) return ['anywhere'];
  return rule.peers.filter((p) => p.kind === 'ipBlock').map(describePeer);
}

export function externalAccess(compiled: CompiledCluster, endpoint: Endpoint, direction: Direction): ExternalAccess {
  const policies = endpoint.hostNetwork ? [] : isolatingPolicies(compiled, endpoint, direction);
  const declared = new Map<string, PortProtocol>();
  for (const p of endpoint.ports) declared.set(`${p.containerPort}/${p.protocol}`, { port: p.containerPort, protocol: p.protocol });
  if (policies.length === 0) {
    const ports = direction === 'Ingress' ? [...declared.values()].map((p) => ({ ...p, allowedBy: [], peers: ['anywhere'], fromAnywhere: true })) : [];
    return { direction, open: true, ports, rules: [] };
  }
  const rules = policies.flatMap((p) => p.rules[direction]).filter(admitsOutside);
  const ref = (r: CompiledRule): RuleRef => ({ tier: 'NetworkPolicy', policy: r.policy, direction, index: r.index });
  const ports =
    direction === 'Ingress'
      ? [...declared.values()].flatMap((target) => {
          // A named port resolves against the destination: this endpoint.
          const admitting = rules.filter((r) => r.ports === undefined || r.ports.some((p) => portMatches(p, target.port, target.protocol, endpoint)));
          if (admitting.length === 0) return [];
          return [{ ...target, allowedBy: admitting.map(ref), peers: [...new Set(admitting.flatMap(outsidePeers))], fromAnywhere: admitting.some((r) => r.peers === undefined) }];
        })
      : [];
  return {
    direction,
    open: false,
    ports,
    rules: rules.map((r) => ({
      rule: ref(r),
      peers: outsidePeers(r).join('; or '),
      ports: r.ports === undefined ? 'all ports' : r.ports.map(describePort).join(', '),
    })),
  };
}

/** Whether any outside address may connect to the endpoint on some port (lint's and the UI's "open to outside"). */
export function openToOutside(compiled: CompiledCluster, endpoint: Endpoint): boolean {
  const access = externalAccess(compiled, endpoint, 'Ingress');
  return access.open || access.ports.length > 0 || access.rules.length > 0;
}

/**
 * Whether every, some or no outside address may connect to `endpoint` on one port, judged as if
 * it listened there (a port it does not declare is added, unnamed, so named ports resolve as they do).
 */
export function outsideAdmission(compiled: CompiledCluster, endpoint: Endpoint, target: PortProtocol): 'all' | 'some' | 'none' {
  const declares = endpoint.ports.some((p) => p.containerPort === target.port && p.protocol === target.protocol);
  const listening = declares ? endpoint : { ...endpoint, ports: [...endpoint.ports, { containerPort: target.port, protocol: target.protocol }] };
  const access = externalAccess(compiled, listening, 'Ingress');
  if (access.open) return 'all';
  const port = access.ports.find((p) => p.port === target.port && p.protocol === target.protocol);
  if (!port) return 'none';
  return port.fromAnywhere ? 'all' : 'some';
}
