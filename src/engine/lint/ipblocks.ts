// ipBlocks that hold addresses of the cluster itself: pod addresses (a pod-level rule was likely
// meant: "These should be cluster-external IPs, since Pod IPs are ephemeral and unpredictable") and
// Service ClusterIPs, which an egress rule never sees: the connection is DNATed to a backend first.
import { parseIP, type IPAddress } from '../../model/index.js';
import type { CompiledPeer, CompiledPolicy } from '../compile.js';
import { ipBlockContains } from '../match.js';
import { resolveService, serviceAddresses, serviceId } from '../services.js';
import { endpointObject, listNames, plural, policyObject, type LintContext } from './context.js';

type IPBlockPeer = Extract<CompiledPeer, { kind: 'ipBlock' }>;

const FIELD = { Ingress: ['ingress', 'from'], Egress: ['egress', 'to'] } as const;

function forEachIPBlock(policy: CompiledPolicy, visit: (peer: IPBlockPeer, path: (string | number)[], direction: 'Ingress' | 'Egress') => void): void {
  for (const direction of ['Ingress', 'Egress'] as const) {
    for (const rule of policy.rules[direction]) {
      rule.peers?.forEach((peer, j) => {
        if (peer.kind === 'ipBlock') visit(peer, ['spec', FIELD[direction][0], rule.index, FIELD[direction][1], j, 'ipBlock'], direction);
      });
    }
  }
}

const addresses = (texts: readonly string[]): IPAddress[] => texts.map((t) => parseIP(t)).filter((a): a is IPAddress => a !== undefined);

export function lintIPBlocks(ctx: LintContext, policy: CompiledPolicy): void {
  const endpoints = ctx.compiled.cluster.endpoints.filter((e) => !e.hostNetwork && e.ips.length > 0);
  const services = (ctx.compiled.cluster.services ?? []).filter((s) => !s.headless && s.type !== 'ExternalName');
  forEachIPBlock(policy, (peer, path, direction) => {
    // A block of every address means "anywhere", not these pods.
    if (peer.cidr.prefix > 0) {
      const held = endpoints.filter((e) => addresses(e.ips).some((ip) => ipBlockContains(peer, ip)));
      if (held.length > 0) {
        ctx.report({
          id: 'PW-IPBLOCK-COVERS-PODS',
          object: policyObject(policy),
          path,
          message: `${peer.text.cidr} holds the addresses of ${plural(held.length, 'pod')} (${listNames(held.map((e) => `${e.id} ${e.ips[0]}`), 4)}): pod addresses change when pods are recreated, and ipBlocks are meant for addresses outside the cluster. Select the pods with podSelector/namespaceSelector instead`,
          related: held.map(endpointObject),
        });
      }
    }
    if (direction !== 'Egress') return;
    for (const service of services) {
      const clusterIPs = addresses(serviceAddresses(service).filter((a) => service.clusterIPs.includes(a)));
      const held = clusterIPs.find((ip) => ipBlockContains(peer, ip));
      if (!held) continue;
      const resolved = resolveService(ctx.compiled, service);
      const backendIPs = addresses(resolved.backends.flatMap((b) => (b.endpoint ? b.endpoint.ips : b.address ? [b.address] : [])));
      // Without backend addresses only a block of the ClusterIP alone surely misses them.
      const single = peer.cidr.prefix === (peer.cidr.family === 4 ? 32 : 128);
      if (backendIPs.length === 0 ? !single : backendIPs.some((ip) => ipBlockContains(peer, ip))) continue;
      const text = service.clusterIPs.find((a) => parseIP(a)?.value === held.value && parseIP(a)?.family === held.family) ?? '';
      ctx.report({
        id: 'PW-IPBLOCK-COVERS-CLUSTERIP',
        object: policyObject(policy),
        path,
        message: `${peer.text.cidr} holds ${text}, the ClusterIP of ${serviceId(service)}, but none of its backends' addresses: a connection to the Service is DNATed to a backend before NetworkPolicy applies, so this block never matches it. Select the backends with podSelector/namespaceSelector instead`,
        related: [{ kind: 'Service', namespace: service.namespace, name: service.name }, ...resolved.backends.flatMap((b) => (b.endpoint ? [endpointObject(b.endpoint)] : []))],
      });
    }
  });
}
