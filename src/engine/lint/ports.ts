// Rules about what a policy's fields mean on their own: directions policyTypes leaves out, endPort
// with a named port, and named ports that no pod the rule applies to declares.
import { parseIP, type Endpoint, type NetworkPolicyRule } from '../../model/index.js';
import { policySelects, type CompiledPolicy, type CompiledRule } from '../compile.js';
import { peerMatches } from '../match.js';
import type { Direction } from '../types.js';
import { listNames, plural, policyObject, type LintContext } from './context.js';

const FIELD = { Ingress: 'ingress', Egress: 'egress' } as const;

/** "policyTypes ... If this field is not specified, it will default based on the existence of ingress or egress rules." Listed types win: rules of others are ignored. */
export function lintPolicyTypes(ctx: LintContext, policy: CompiledPolicy): void {
  const types = policy.policy.spec.policyTypes;
  for (const direction of ['Ingress', 'Egress'] as const) {
    const rules = direction === 'Ingress' ? policy.policy.spec.ingress : policy.policy.spec.egress;
    if (rules.length === 0 || types.includes(direction)) continue;
    ctx.report({
      id: 'PW-POLICYTYPES-IGNORES-RULES',
      object: policyObject(policy),
      path: ['spec', 'policyTypes'],
      message: `policyTypes lists only ${types.join(', ')}, so the ${plural(rules.length, `${FIELD[direction]} rule`)} (spec.${FIELD[direction]}) ${rules.length === 1 ? 'is' : 'are'} ignored: add ${direction} to policyTypes (which also isolates the selected pods for ${FIELD[direction]}), or remove ${rules.length === 1 ? 'it' : 'them'}`,
    });
  }
}

/** The apiserver refuses it ("may not be specified when `port` is non-numeric"); a cluster built by other means may still carry it. */
export function lintEndPort(ctx: LintContext, policy: CompiledPolicy): void {
  for (const direction of ['Ingress', 'Egress'] as const) {
    const rules: readonly NetworkPolicyRule[] = direction === 'Ingress' ? policy.policy.spec.ingress : policy.policy.spec.egress;
    rules.forEach((rule, i) => {
      (rule.ports ?? []).forEach((port, j) => {
        if (typeof port.port !== 'string' || port.endPort === undefined) return;
        ctx.report({
          id: 'PW-ENDPORT-NAMED-PORT',
          object: policyObject(policy),
          path: ['spec', FIELD[direction], i, 'ports', j, 'endPort'],
          message: `endPort ${port.endPort} with the named port "${port.port}": a range needs a numeric port, and the apiserver refuses it (may not be specified when \`port\` is non-numeric). Use a number for port, or drop endPort`,
        });
      });
    });
  }
}

/** The pods a rule's named ports resolve against: the selected pods (ingress), or the pods its peers reach (egress). */
function destinations(ctx: LintContext, policy: CompiledPolicy, rule: CompiledRule): readonly Endpoint[] {
  const all = ctx.compiled.cluster.endpoints.filter((e) => !e.hostNetwork);
  if (rule.direction === 'Ingress') return all.filter((e) => policySelects(policy, e));
  if (rule.peers === undefined) return all;
  return all.filter((e) =>
    rule.peers!.some((peer) => (peer.kind === 'pods' ? peerMatches(ctx.compiled, peer, e, undefined) : e.ips.some((ip) => peerMatches(ctx.compiled, peer, e, parseIP(ip))))),
  );
}

export function lintNamedPorts(ctx: LintContext, policy: CompiledPolicy): void {
  if (!ctx.hasEndpoints) return;
  for (const direction of ['Ingress', 'Egress'] as Direction[]) {
    for (const rule of policy.rules[direction]) {
      if (!rule.ports?.some((p) => p.kind === 'named')) continue;
      const targets = destinations(ctx, policy, rule);
      if (targets.length === 0) continue;
      rule.ports.forEach((port, j) => {
        if (port.kind !== 'named') return;
        if (targets.some((e) => e.ports.some((p) => p.name === port.name && p.protocol === port.protocol))) return;
        const otherProtocol = targets.filter((e) => e.ports.some((p) => p.name === port.name));
        const who = direction === 'Ingress' ? `no pod this policy selects (${listNames(targets.map((e) => e.id), 4)})` : `no pod this rule reaches (${listNames(targets.map((e) => e.id), 4)})`;
        ctx.report({
          id: 'PW-NAMED-PORT-UNDECLARED',
          object: policyObject(policy),
          path: ['spec', FIELD[direction], rule.index, 'ports', j, 'port'],
          message: `${who} declares a ${port.protocol} container port named "${port.name}"${otherProtocol.length > 0 ? ` (${otherProtocol[0].id} declares it for another protocol)` : ''}: this entry matches nothing. Fix the name or the protocol, or name the container port`,
        });
      });
    }
  }
}
