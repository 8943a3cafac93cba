// The data plane's compiler, one test per rule it implements, checked on the Ruleset structure
// (sets, verdict maps, chains, rules) compiled from manifests. Set references in rules are written
// out as their elements (`ip saddr { 10.0.0.2 } accept`) so a test states what a rule matches, not
// how sets happen to be numbered. Beside the exact text, the packet judge (test/support/nft-judge.ts)
// evaluates a packet against the ruleset as nft would (dispatch map, class chain lookups and the
// gotos between the admin, NetworkPolicy and baseline stages, interval set membership), so a test
// can also state what is allowed and denied; every compiled ruleset is checked for the structure's
// invariants (at most three lookups per family in a stage, disjoint interval elements, no dangling
// or unused set). With admin tiers, random clusters are judged against the engine side by side.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileCluster, evaluateConnection, type CompiledCluster, type TrafficPeer } from '../engine/index.js';
import {
  formatDiagnostic,
  loadTexts,
  type AdminPeer,
  type AdminPolicy,
  type AdminPort,
  type AdminRule,
  type AdminSubject,
  type AdminTier,
  type Endpoint,
  type LabelSelector,
  type Manifest,
  type Node,
} from '../model/index.js';
import { compileRuleset, counterName, ipBlockRanges, type DataplaneOptions } from './compile.js';
import { REVOKED_MARK } from './conntrack.js';
import { formatRange } from './ranges.js';
import { checkIdentifier, quote, renderReplaceScript, renderTable, rulesetStats, RulesetError, type NftSet, type Ruleset } from './ruleset.js';
import {
  chain,
  checkInvariants,
  dispatched,
  DENY_TAIL,
  family,
  isLogged,
  judge,
  judgeConnection,
  LOG_TAIL,
  map,
  parseAddress,
  type Outcome,
  type Packet,
} from '../../test/support/nft-judge.js';
import { OUTSIDE, TIER_PODS, TIER_PORTS, tierCluster, tierInputArb } from '../../test/support/tier-clusters.js';

// ---------------------------------------------------------------------------------------------
// Manifests

interface PodOptions {
  readonly ips?: readonly string[];
  readonly labels?: Record<string, string>;
  readonly ports?: readonly { name?: string; containerPort: number; protocol?: string }[];
  readonly hostNetwork?: boolean;
}

/** `id` is `ns/name`. */
function pod(id: string, options: PodOptions = {}): Manifest {
  const [namespace, name] = id.split('/');
  const ips = options.ips ?? [];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: options.labels ?? {} },
    spec: { hostNetwork: options.hostNetwork ?? false, containers: [{ name: 'main', image: 'registry.example/app', ports: options.ports ?? [] }] },
    ...(ips.length > 0 ? { status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } } : {}),
  };
}

function namespace(name: string, labels: Record<string, string> = {}): Manifest {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

/** `id` is `ns/name`; `spec` is the NetworkPolicy spec as written. */
function policy(id: string, spec: Manifest): Manifest {
  const [ns, name] = id.split('/');
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec };
}

function text(objects: readonly Manifest[]): string {
  return objects.map((o) => `---\n${JSON.stringify(o, null, 2)}\n`).join('');
}

function cluster(objects: readonly Manifest[]): CompiledCluster {
  const built = loadTexts([{ file: 'test.yaml', text: text(objects) }]);
  assert.ok(built.cluster, built.diagnostics.map(formatDiagnostic).join('\n'));
  return compileCluster(built.cluster);
}

/** Compiles and checks the invariants every ruleset must keep. */
function compile(objects: readonly Manifest[], options?: DataplaneOptions): Ruleset {
  const r = compileRuleset(cluster(objects), options);
  checkInvariants(r);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Reading a Ruleset

/** The named counter denied traffic of the pod at `ip` is counted in (the objref map's value, unquoted). */
function counterOf(r: Ruleset, direction: 'in' | 'eg', ip: string): string | undefined {
  const value = map(r, `count-${direction}${family(ip)}`).get(ip);
  if (value === undefined) return undefined;
  assert.match(value, /^"[^"]+"$/);
  return value.slice(1, -1);
}

/** A rule with every named set it references written out as `{ elements }`. */
function expand(r: Ruleset, rule: string): string {
  return rule.replace(/@([A-Za-z0-9_.-]+)/g, (whole, name: string) => {
    const set = r.sets.find((s) => s.name === name);
    return set ? `{ ${set.elements.join(', ')} }` : whole;
  });
}

/** The set a rule looks up. */
function setOf(r: Ruleset, rule: string): NftSet {
  const name = /@([A-Za-z0-9_.-]+) (accept|return)$/.exec(rule)?.[1];
  const set = r.sets.find((s) => s.name === name);
  assert.ok(set, `no set for ${rule}`);
  return set;
}

/** The lookups of a class chain (expanded), after checking it ends in the deny tail. */
function allowRules(r: Ruleset, name: string): string[] {
  const rules = chain(r, name);
  const tag = name.startsWith('in-') ? 'in' : 'eg';
  assert.deepEqual(rules.slice(-4), (isLogged(r) ? LOG_TAIL : DENY_TAIL)[tag], `${name} ends by counting and refusing`);
  return rules.slice(0, -4).map((rule) => expand(r, rule));
}

/** The lookups of the chain a pod's address is dispatched to. */
function allowRulesFor(r: Ruleset, direction: 'ingress' | 'egress', ip: string): string[] {
  const name = dispatched(r, direction, ip);
  assert.ok(name, `${ip} is dispatched for ${direction}`);
  return allowRules(r, name);
}

const classChains = (r: Ruleset, tag: 'in' | 'eg'): string[] => r.chains.map((c) => c.name).filter((n) => new RegExp(`^${tag}-\\d+$`).test(n));

// ---------------------------------------------------------------------------------------------
// Fixtures

const denyIngress = (id: string, podSelector: Manifest = {}): Manifest => policy(id, { podSelector, policyTypes: ['Ingress'] });
const ingressPolicy = (id: string, podSelector: Manifest, ingress: readonly Manifest[]): Manifest => policy(id, { podSelector, policyTypes: ['Ingress'], ingress });
const egressPolicy = (id: string, podSelector: Manifest, egress: readonly Manifest[]): Manifest => policy(id, { podSelector, policyTypes: ['Egress'], egress });
const app = (name: string): Manifest => ({ matchLabels: { app: name } });

/** Judges every packet and compares with the expected outcomes, all at once so a failure lists them. */
function expectOutcomes(r: Ruleset, direction: 'ingress' | 'egress', expected: readonly [Packet, Outcome][]): void {
  const show = (p: Packet): string => `${p.src} -> ${p.dst} ${p.proto}${p.port !== undefined ? `/${p.port}` : ''}`;
  assert.deepEqual(
    expected.map(([p]) => `${show(p)}: ${judge(r, direction, p)}`),
    expected.map(([p, o]) => `${show(p)}: ${o}`),
  );
}
const tcp = (src: string, dst: string, port: number): Packet => ({ src, dst, proto: 'tcp', port });
const udp = (src: string, dst: string, port: number): Packet => ({ src, dst, proto: 'udp', port });
const sctp = (src: string, dst: string, port: number): Packet => ({ src, dst, proto: 'sctp', port });
const icmp = (src: string, dst: string): Packet => ({ src, dst, proto: 'icmp' });

interface Case {
  readonly name: string;
  readonly objects: readonly Manifest[];
  readonly options?: DataplaneOptions;
  readonly check: (r: Ruleset) => void;
}

const CASES: readonly Case[] = [
  {
    name: 'an ingress-isolated local pod is dispatched to its class chain by address',
    objects: [pod('default/a', { ips: ['10.0.0.1'], labels: { app: 'a' } }), pod('default/b', { ips: ['10.0.0.2'] }), denyIngress('default/deny', app('a'))],
    check: (r) => {
      assert.deepEqual([...map(r, 'ingress4')], [['10.0.0.1', 'jump in-0']]);
      assert.deepEqual(allowRules(r, 'in-0'), [], 'deny-all: nothing allowed');
      assert.equal(counterOf(r, 'in', '10.0.0.1'), 'in/default/a');
      assert.deepEqual([...map(r, 'egress4')], [], 'not isolated for egress');
      assert.deepEqual([...map(r, 'count-eg4')], []);
      expectOutcomes(r, 'ingress', [
        [tcp('10.0.0.2', '10.0.0.1', 80), 'denied'],
        [icmp('10.0.0.2', '10.0.0.1'), 'denied'],
        [tcp('10.0.0.1', '10.0.0.2', 80), 'not isolated'],
      ]);
    },
  },
  {
    name: 'an egress-isolated local pod is dispatched to its egress class chain by source address',
    objects: [pod('default/a', { ips: ['10.0.0.1'], labels: { app: 'a' } }), egressPolicy('default/deny-eg', app('a'), [])],
    check: (r) => {
      assert.deepEqual([...map(r, 'egress4')], [['10.0.0.1', 'jump eg-0']]);
      assert.deepEqual([...map(r, 'count-eg4')], [['10.0.0.1', '"eg/default/a"']]);
      assert.deepEqual(allowRules(r, 'eg-0'), []);
      assert.deepEqual([...map(r, 'ingress4')], []);
      expectOutcomes(r, 'egress', [[udp('10.0.0.1', '8.8.8.8', 53), 'denied']]);
    },
  },
  {
    name: 'pods isolated by the same policies share one chain; a different set of policies gets its own',
    objects: [
      ...Array.from({ length: 20 }, (_, i) => pod(`default/web-${i}`, { ips: [`10.0.1.${i + 1}`], labels: { app: 'web' } })),
      pod('default/special', { ips: ['10.0.2.1'], labels: { app: 'web', tier: 'special' } }),
      ingressPolicy('default/web', app('web'), [{ ports: [{ port: 80 }] }]),
      ingressPolicy('default/special', { matchLabels: { tier: 'special' } }, [{ ports: [{ port: 443 }] }]),
    ],
    check: (r) => {
      assert.deepEqual(classChains(r, 'in'), ['in-0', 'in-1']);
      const webChains = new Set(Array.from({ length: 20 }, (_, i) => dispatched(r, 'ingress', `10.0.1.${i + 1}`)));
      assert.equal(webChains.size, 1, 'twenty pods, one class chain');
      const [web] = webChains;
      const special = dispatched(r, 'ingress', '10.0.2.1');
      assert.notEqual(special, web);
      assert.deepEqual(allowRules(r, web!), [
        'ip saddr . meta l4proto . th dport { 0.0.0.0/0 . tcp . 80 } accept',
        'ip6 saddr . meta l4proto . th dport { ::/0 . tcp . 80 } accept',
      ]);
      // Both policies' rules, merged into one lookup per family.
      assert.deepEqual(allowRules(r, special!), [
        'ip saddr . meta l4proto . th dport { 0.0.0.0/0 . tcp . 80, 0.0.0.0/0 . tcp . 443 } accept',
        'ip6 saddr . meta l4proto . th dport { ::/0 . tcp . 80, ::/0 . tcp . 443 } accept',
      ]);
      expectOutcomes(r, 'ingress', [
        [tcp('192.0.2.1', '10.0.1.5', 80), 'allowed'],
        [tcp('192.0.2.1', '10.0.1.5', 443), 'denied'],
        [tcp('192.0.2.1', '10.0.2.1', 443), 'allowed'],
        [tcp('192.0.2.1', '10.0.2.1', 80), 'allowed'],
        [udp('192.0.2.1', '10.0.2.1', 80), 'denied'],
      ]);
      // Every pod still has its own counter, reached through the objref map; no chain per pod.
      assert.equal(map(r, 'count-in4').size, 21);
      assert.equal(new Set(map(r, 'count-in4').values()).size, 21);
      assert.equal(r.counters.length, 21);
      assert.equal(r.chains.length, 2 + 2);
    },
  },
  {
    name: 'egress rules return so ingress is still checked; ingress rules accept',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'], labels: { app: 'a' } }),
      policy('default/both', {
        podSelector: app('a'),
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: [{ port: 80 }] }],
        egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
      }),
    ],
    check: (r) => {
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'ip saddr . meta l4proto . th dport { 0.0.0.0/0 . tcp . 80 } accept',
        'ip6 saddr . meta l4proto . th dport { ::/0 . tcp . 80 } accept',
      ]);
      assert.deepEqual(allowRulesFor(r, 'egress', '10.0.0.1'), [
        'ip daddr . meta l4proto . th dport { 0.0.0.0/0 . udp . 53 } return',
        'ip6 daddr . meta l4proto . th dport { ::/0 . udp . 53 } return',
      ]);
      // The forward chain judges the source's egress (jump, so a `return` comes back) before the destination's ingress.
      const forward = chain(r, 'forward');
      assert.ok(forward.indexOf('ip saddr vmap @egress4') < forward.indexOf('ip daddr vmap @ingress4'));
      assert.ok(forward.indexOf('ip6 saddr vmap @egress6') < forward.indexOf('ip6 daddr vmap @ingress6'));
    },
  },
  {
    name: 'ipBlock except becomes interval ranges',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'] }),
      ingressPolicy('default/cidr', {}, [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.0.0/24'] } }, { ipBlock: { cidr: '192.168.7.7/32' } }] }]),
    ],
    check: (r) => {
      const rules = chain(r, dispatched(r, 'ingress', '10.0.0.1')!);
      const set = setOf(r, rules[0]);
      assert.equal(set.type, 'ipv4_addr');
      assert.equal(set.interval, true);
      assert.equal(set.comment, 'ingress of pods isolated by default/cidr: any protocol');
      assert.deepEqual(set.elements, ['10.0.0.0/16', '10.2.1.0-10.255.255.255', '192.168.7.7']);
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['ip saddr { 10.0.0.0/16, 10.2.1.0-10.255.255.255, 192.168.7.7 } accept']);
      expectOutcomes(r, 'ingress', [
        [icmp('10.0.255.255', '10.0.0.1'), 'allowed'],
        [icmp('10.1.0.0', '10.0.0.1'), 'denied'],
        [icmp('10.1.255.255', '10.0.0.1'), 'denied'],
        [icmp('10.2.0.255', '10.0.0.1'), 'denied'],
        [icmp('10.2.1.0', '10.0.0.1'), 'allowed'],
        [icmp('10.255.255.255', '10.0.0.1'), 'allowed'],
        [icmp('11.0.0.0', '10.0.0.1'), 'denied'],
        [icmp('192.168.7.7', '10.0.0.1'), 'allowed'],
        [icmp('192.168.7.8', '10.0.0.1'), 'denied'],
      ]);
    },
  },
  {
    name: 'overlapping ipBlocks and pods in one rule merge into disjoint ranges (nft refuses overlaps)',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'] }),
      pod('default/b', { ips: ['10.0.0.2'], labels: { app: 'b' } }),
      pod('default/c', { ips: ['10.0.0.3'], labels: { app: 'c' } }),
      ingressPolicy('default/mixed', {}, [
        { from: [{ ipBlock: { cidr: '10.0.0.0/30' } }, { podSelector: app('b') }, { podSelector: app('c') }, { ipBlock: { cidr: '10.0.0.0/31' } }] },
      ]),
    ],
    // 10.0.0.0/30 holds 0..3; c at .3 is inside it, b at .2 too.
    check: (r) => assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['ip saddr { 10.0.0.0/30 } accept']),
  },
  {
    name: "pod peers resolve to the matching pods' addresses, including pods on other nodes, but only local pods are dispatched",
    objects: [
      namespace('default'),
      namespace('other', { team: 'blue' }),
      pod('default/server', { ips: ['10.0.0.1'], labels: { app: 'server' } }),
      pod('default/remote-server', { ips: ['10.0.9.1'], labels: { app: 'server' } }),
      pod('default/client', { ips: ['10.0.0.2'], labels: { app: 'client' } }),
      pod('default/remote-client', { ips: ['10.0.9.2'], labels: { app: 'client' } }),
      pod('default/stranger', { ips: ['10.0.0.3'], labels: { app: 'stranger' } }),
      pod('other/client', { ips: ['10.0.0.4'], labels: { app: 'client' } }),
      pod('other/remote-any', { ips: ['10.0.9.4'], labels: { app: 'x' } }),
      ingressPolicy('default/server', app('server'), [
        { from: [{ podSelector: app('client') }] },
        { from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }] },
      ]),
    ],
    options: { isLocal: (e: Endpoint) => !e.name.startsWith('remote-') },
    check: (r) => {
      // default's clients (rule 0) and everything in other (rule 1); not the stranger.
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['ip saddr { 10.0.0.2, 10.0.0.4, 10.0.9.2, 10.0.9.4 } accept']);
      assert.deepEqual([...map(r, 'ingress4').keys()], ['10.0.0.1'], 'the remote server is selected but runs elsewhere');
      assert.deepEqual([...map(r, 'count-in4').keys()], ['10.0.0.1']);
      assert.deepEqual(
        r.counters.map((c) => c.name),
        ['in/default/server'],
      );
      expectOutcomes(r, 'ingress', [
        [tcp('10.0.0.3', '10.0.0.1', 80), 'denied'],
        [tcp('10.0.9.2', '10.0.0.1', 80), 'allowed'],
      ]);
    },
  },
  {
    name: "a pod selector without a namespace selector matches in the policy's namespace only",
    objects: [
      namespace('default'),
      namespace('other', { team: 'blue' }),
      pod('default/server', { ips: ['10.0.0.1'], labels: { app: 'server' } }),
      pod('default/client', { ips: ['10.0.0.2'], labels: { app: 'client' } }),
      pod('default/remote-client', { ips: ['10.0.9.2'], labels: { app: 'client' } }),
      pod('other/client', { ips: ['10.0.0.4'], labels: { app: 'client' } }),
      ingressPolicy('default/server', app('server'), [{ from: [{ podSelector: app('client') }] }]),
    ],
    check: (r) => assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['ip saddr { 10.0.0.2, 10.0.9.2 } accept']),
  },
  {
    name: 'named ports resolve per destination pod and protocol (ingress: the selected local pods)',
    objects: [
      pod('default/web-1', { ips: ['10.0.0.1'], labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }),
      pod('default/web-2', { ips: ['10.0.0.2'], labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 9090 }] }),
      // The name on the wrong protocol, an unselected pod and a selected pod on another node: not in the set.
      pod('default/web-3', { ips: ['10.0.0.3'], labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 7070, protocol: 'UDP' }] }),
      pod('default/db', { ips: ['10.0.0.4'], labels: { app: 'db' }, ports: [{ name: 'http', containerPort: 1111 }] }),
      pod('default/remote-web', { ips: ['10.0.9.1'], labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 2222 }] }),
      ingressPolicy('default/web', app('web'), [{ ports: [{ port: 'http' }, { port: 'dns', protocol: 'UDP' }] }]),
    ],
    options: { isLocal: (e: Endpoint) => !e.name.startsWith('remote-') },
    check: (r) => {
      const rules = allowRulesFor(r, 'ingress', '10.0.0.1');
      assert.deepEqual(rules, [
        'ip daddr . ip saddr . meta l4proto . th dport { 10.0.0.1 . 0.0.0.0/0 . tcp . 8080, 10.0.0.1 . 0.0.0.0/0 . udp . 53, 10.0.0.2 . 0.0.0.0/0 . tcp . 9090 } accept',
      ]);
      const set = setOf(r, chain(r, dispatched(r, 'ingress', '10.0.0.1')!)[0]);
      assert.equal(set.comment, 'ingress of pods isolated by default/web: named ports');
      assert.equal(set.type, 'ipv4_addr . ipv4_addr . inet_proto . inet_service');
      assert.equal(set.interval, true);
      assert.equal(dispatched(r, 'ingress', '10.0.0.3'), dispatched(r, 'ingress', '10.0.0.1'), 'web-3 is isolated all the same');
      expectOutcomes(r, 'ingress', [
        [tcp('192.0.2.1', '10.0.0.1', 8080), 'allowed'],
        [tcp('192.0.2.1', '10.0.0.1', 9090), 'denied'],
        [udp('192.0.2.1', '10.0.0.1', 53), 'allowed'],
        [tcp('192.0.2.1', '10.0.0.1', 53), 'denied'],
        [tcp('192.0.2.1', '10.0.0.2', 9090), 'allowed'],
        [tcp('192.0.2.1', '10.0.0.2', 8080), 'denied'],
        [udp('192.0.2.1', '10.0.0.3', 7070), 'denied'],
        [tcp('192.0.2.1', '10.0.0.3', 7070), 'denied'],
      ]);
    },
  },
  {
    name: 'ingress named ports with peers: (destination . peer addresses . protocol . port)',
    objects: [
      pod('default/web-1', { ips: ['10.0.0.1'], labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080 }] }),
      pod('default/web-2', { ips: ['10.0.0.2'], labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 9090 }] }),
      pod('default/client', { ips: ['10.0.0.9'], labels: { app: 'client' } }),
      ingressPolicy('default/web', app('web'), [
        { from: [{ podSelector: app('client') }, { ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }], ports: [{ port: 'http' }] },
        // The same destination and port from other peers: their addresses join the element's.
        { from: [{ ipBlock: { cidr: '10.0.0.8/31' } }], ports: [{ port: 'http' }] },
      ]),
    ],
    check: (r) => {
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'ip daddr . ip saddr . meta l4proto . th dport { ' +
          [
            '10.0.0.1 . 10.0.0.8/31 . tcp . 8080',
            '10.0.0.1 . 192.168.0.0/24 . tcp . 8080',
            '10.0.0.1 . 192.168.2.0-192.168.255.255 . tcp . 8080',
            '10.0.0.2 . 10.0.0.8/31 . tcp . 9090',
            '10.0.0.2 . 192.168.0.0/24 . tcp . 9090',
            '10.0.0.2 . 192.168.2.0-192.168.255.255 . tcp . 9090',
          ].join(', ') +
          ' } accept',
      ]);
      expectOutcomes(r, 'ingress', [
        [tcp('10.0.0.9', '10.0.0.1', 8080), 'allowed'],
        [tcp('10.0.0.8', '10.0.0.2', 9090), 'allowed'],
        [tcp('10.0.0.9', '10.0.0.2', 8080), 'denied'],
        [tcp('10.0.0.7', '10.0.0.1', 8080), 'denied'],
        [tcp('192.168.1.1', '10.0.0.1', 8080), 'denied'],
        [tcp('192.168.200.1', '10.0.0.1', 8080), 'allowed'],
      ]);
    },
  },
  {
    name: 'endPort renders as a range',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'] }),
      ingressPolicy('default/range', {}, [{ ports: [{ port: 8000, endPort: 8100 }, { port: 9000, endPort: 9000, protocol: 'UDP' }, { port: 80 }] }]),
    ],
    check: (r) => {
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'ip saddr . meta l4proto . th dport { 0.0.0.0/0 . tcp . 80, 0.0.0.0/0 . tcp . 8000-8100, 0.0.0.0/0 . udp . 9000 } accept',
        'ip6 saddr . meta l4proto . th dport { ::/0 . tcp . 80, ::/0 . tcp . 8000-8100, ::/0 . udp . 9000 } accept',
      ]);
      expectOutcomes(r, 'ingress', [
        [tcp('192.0.2.1', '10.0.0.1', 7999), 'denied'],
        [tcp('192.0.2.1', '10.0.0.1', 8000), 'allowed'],
        [tcp('192.0.2.1', '10.0.0.1', 8100), 'allowed'],
        [tcp('192.0.2.1', '10.0.0.1', 8101), 'denied'],
        [udp('192.0.2.1', '10.0.0.1', 8050), 'denied'],
        [udp('192.0.2.1', '10.0.0.1', 9000), 'allowed'],
      ]);
    },
  },
  {
    name: 'a rule without ports matches every protocol',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'] }),
      pod('default/b', { ips: ['10.0.0.2'], labels: { app: 'b' } }),
      pod('default/c', { ips: ['10.0.0.3'], labels: { app: 'c' } }),
      ingressPolicy('default/no-ports', {}, [{ from: [{ podSelector: app('b') }] }, { from: [{ podSelector: app('c') }], ports: [{ port: 80 }] }]),
    ],
    check: (r) => {
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'ip saddr { 10.0.0.2 } accept',
        'ip saddr . meta l4proto . th dport { 10.0.0.3 . tcp . 80 } accept',
      ]);
      expectOutcomes(r, 'ingress', [
        [icmp('10.0.0.2', '10.0.0.1'), 'allowed'],
        [udp('10.0.0.2', '10.0.0.1', 53), 'allowed'],
        [sctp('10.0.0.2', '10.0.0.1', 9), 'allowed'],
        [tcp('10.0.0.3', '10.0.0.1', 80), 'allowed'],
        [tcp('10.0.0.3', '10.0.0.1', 81), 'denied'],
        [icmp('10.0.0.3', '10.0.0.1'), 'denied'],
      ]);
    },
  },
  {
    name: 'a rule without peers or ports matches everything: meta nfproto for both families, nothing else',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'] }),
      pod('default/b', { ips: ['10.0.0.2'], labels: { app: 'b' } }),
      ingressPolicy('default/no-ports', {}, [{ from: [{ podSelector: app('b') }] }, {}, { ports: [{ port: 80 }] }]),
    ],
    check: (r) => {
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['meta nfproto ipv4 accept', 'meta nfproto ipv6 accept']);
      assert.deepEqual(r.sets, [], 'everything allowed: no set is needed');
      expectOutcomes(r, 'ingress', [
        [icmp('203.0.113.9', '10.0.0.1'), 'allowed'],
        [udp('203.0.113.9', '10.0.0.1', 1), 'allowed'],
      ]);
    },
  },
  {
    name: 'TCP, UDP and SCTP: numbered ports as protocol . port, a port entry without a number as the whole protocol',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'] }),
      ingressPolicy('default/protocols', {}, [{ ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }, { port: 9, protocol: 'SCTP' }, { port: 80, protocol: 'TCP' }] }]),
    ],
    check: (r) => {
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'ip saddr . meta l4proto . th dport { 0.0.0.0/0 . sctp . 9, 0.0.0.0/0 . tcp . 80, 0.0.0.0/0 . udp . 53 } accept',
        'ip6 saddr . meta l4proto . th dport { ::/0 . sctp . 9, ::/0 . tcp . 80, ::/0 . udp . 53 } accept',
      ]);
      expectOutcomes(r, 'ingress', [
        [sctp('192.0.2.1', '10.0.0.1', 9), 'allowed'],
        [tcp('192.0.2.1', '10.0.0.1', 9), 'denied'],
        [udp('192.0.2.1', '10.0.0.1', 80), 'denied'],
        [icmp('192.0.2.1', '10.0.0.1'), 'denied'],
      ]);
    },
  },
  {
    name: 'a port entry without a number allows the whole protocol, and covers numbered ports of it',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'] }),
      ingressPolicy('default/protocols', {}, [
        { ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }, { port: 9, protocol: 'SCTP' }, { port: 80, protocol: 'TCP' }] },
        { ports: [{ protocol: 'UDP' }] },
        { ports: [{ protocol: 'UDP' }, { protocol: 'SCTP' }, { protocol: 'UDP' }] },
      ]),
    ],
    check: (r) => {
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'ip saddr . meta l4proto . th dport { 0.0.0.0/0 . sctp . 0-65535, 0.0.0.0/0 . tcp . 80, 0.0.0.0/0 . udp . 0-65535 } accept',
        'ip6 saddr . meta l4proto . th dport { ::/0 . sctp . 0-65535, ::/0 . tcp . 80, ::/0 . udp . 0-65535 } accept',
      ]);
      expectOutcomes(r, 'ingress', [
        [udp('192.0.2.1', '10.0.0.1', 0), 'allowed'],
        [udp('192.0.2.1', '10.0.0.1', 65535), 'allowed'],
        [sctp('192.0.2.1', '10.0.0.1', 1234), 'allowed'],
        [tcp('192.0.2.1', '10.0.0.1', 81), 'denied'],
        [icmp('192.0.2.1', '10.0.0.1'), 'denied'],
      ]);
    },
  },
  {
    name: 'IPv6 pods go to the ip6 maps and sets; dual-stack pods to both',
    objects: [
      pod('default/v6', { ips: ['fd00::1'], labels: { app: 'server' } }),
      pod('default/dual', { ips: ['10.0.0.2', 'FD00:0:0::0002'], labels: { app: 'server' } }),
      pod('default/client', { ips: ['fd00::3'], labels: { app: 'client' } }),
      pod('default/client4', { ips: ['10.0.0.4'], labels: { app: 'client' } }),
      ingressPolicy('default/server', app('server'), [
        { from: [{ podSelector: app('client') }] },
        { from: [{ ipBlock: { cidr: 'fd00:1::/64', except: ['fd00:1::/65'] } }] },
        { ports: [{ port: 'http' }] },
      ]),
    ],
    check: (r) => {
      const chainName = dispatched(r, 'ingress', 'fd00::1');
      assert.ok(chainName);
      // Addresses are rendered from their parsed value, not the manifest's spelling.
      assert.deepEqual([...map(r, 'ingress6')], [
        ['fd00::2', `jump ${chainName}`],
        ['fd00::1', `jump ${chainName}`],
      ]);
      assert.deepEqual([...map(r, 'ingress4')], [['10.0.0.2', `jump ${chainName}`]]);
      assert.equal(counterOf(r, 'in', '10.0.0.2'), 'in/default/dual');
      assert.equal(counterOf(r, 'in', 'fd00::2'), 'in/default/dual', 'one pod, one counter for both families');
      assert.equal(counterOf(r, 'in', 'fd00::1'), 'in/default/v6');
      assert.deepEqual(allowRules(r, chainName), ['ip saddr { 10.0.0.4 } accept', 'ip6 saddr { fd00::3, fd00:1:0:0:8000::/65 } accept']);
      assert.deepEqual(
        r.sets.map((s) => s.type),
        ['ipv4_addr', 'ipv6_addr'],
      );
      expectOutcomes(r, 'ingress', [
        [icmp('fd00::3', 'fd00::1'), 'allowed'],
        [icmp('fd00:1::1', 'fd00::1'), 'denied'],
        [icmp('fd00:1::8000:0:0:1', 'fd00::2'), 'allowed'],
        [icmp('10.0.0.4', '10.0.0.2'), 'allowed'],
        [icmp('10.0.0.5', '10.0.0.2'), 'denied'],
      ]);
    },
  },
  {
    name: 'IPv6 named ports match the ip6 destination address',
    objects: [
      pod('default/dual', { ips: ['10.0.0.1', 'fd00::1'], ports: [{ name: 'http', containerPort: 8080 }] }),
      ingressPolicy('default/named', {}, [{ ports: [{ port: 'http' }] }]),
    ],
    check: (r) =>
      assert.deepEqual(allowRulesFor(r, 'ingress', 'fd00::1'), [
        'ip daddr . ip saddr . meta l4proto . th dport { 10.0.0.1 . 0.0.0.0/0 . tcp . 8080 } accept',
        'ip6 daddr . ip6 saddr . meta l4proto . th dport { fd00::1 . ::/0 . tcp . 8080 } accept',
      ]),
  },
  {
    name: 'IPv4 peers never allow IPv6 traffic to a named port',
    objects: [
      pod('default/dual', { ips: ['10.0.0.1', 'fd00::1'], ports: [{ name: 'http', containerPort: 8080 }] }),
      ingressPolicy('default/named', {}, [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 'http' }] }]),
    ],
    check: (r) => {
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['ip daddr . ip saddr . meta l4proto . th dport { 10.0.0.1 . 10.0.0.0/8 . tcp . 8080 } accept']);
      expectOutcomes(r, 'ingress', [
        [tcp('10.9.9.9', '10.0.0.1', 8080), 'allowed'],
        [tcp('fd00::9', 'fd00::1', 8080), 'denied'],
      ]);
    },
  },
  {
    name: 'hostNetwork pods are never dispatched nor in pod peer sets (an ipBlock still holds their address)',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'], labels: { app: 'a' } }),
      pod('default/host', { ips: ['192.168.1.10'], labels: { app: 'a' }, hostNetwork: true }),
      policy('default/all', {
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ podSelector: {} }] }, { from: [{ ipBlock: { cidr: '192.168.1.0/24' } }] }],
        egress: [{ to: [{ podSelector: app('a') }] }],
      }),
    ],
    check: (r) => {
      for (const m of ['ingress4', 'egress4', 'count-in4', 'count-eg4']) assert.deepEqual([...map(r, m).keys()], ['10.0.0.1'], m);
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['ip saddr { 10.0.0.1, 192.168.1.0/24 } accept']);
      assert.deepEqual(allowRulesFor(r, 'egress', '10.0.0.1'), ['ip daddr { 10.0.0.1 } return']);
      assert.ok(!r.counters.some((c) => c.name.endsWith('/host')));
      expectOutcomes(r, 'egress', [[tcp('10.0.0.1', '192.168.1.10', 80), 'denied']]);
      expectOutcomes(r, 'ingress', [[tcp('192.168.1.10', '10.0.0.1', 80), 'allowed']]);
    },
  },
  {
    name: 'hostNetwork pods are not in pod peer sets (without an ipBlock holding them)',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'], labels: { app: 'a' } }),
      pod('default/host', { ips: ['192.168.1.10'], labels: { app: 'a' }, hostNetwork: true }),
      ingressPolicy('default/all', {}, [{ from: [{ podSelector: {} }] }]),
    ],
    check: (r) => assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['ip saddr { 10.0.0.1 } accept']),
  },
  {
    name: 'pods without an address (and workload templates) are neither dispatched nor in peer sets',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'] }),
      pod('default/pending'),
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' }, spec: { selector: { matchLabels: { x: 'y' } }, template: { metadata: { labels: { x: 'y' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } },
      ingressPolicy('default/all', {}, [{ from: [{ podSelector: {} }] }]),
    ],
    check: (r) => {
      assert.deepEqual([...map(r, 'ingress4').keys()], ['10.0.0.1']);
      assert.deepEqual(r.counters.map((c) => c.name), ['in/default/a']);
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['ip saddr { 10.0.0.1 } accept']);
    },
  },
  {
    name: 'a pod that is not isolated has no chain and no counter',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'], labels: { app: 'a' } }),
      pod('default/b', { ips: ['10.0.0.2'], labels: { app: 'b' } }),
      // Selects a but only for egress: a is not isolated for ingress; b is not selected at all.
      egressPolicy('default/egress-only', app('a'), [{}]),
    ],
    check: (r) => {
      assert.deepEqual(r.counters.map((c) => c.name), ['eg/default/a']);
      assert.equal(dispatched(r, 'ingress', '10.0.0.1'), undefined);
      assert.equal(dispatched(r, 'ingress', '10.0.0.2'), undefined);
      assert.equal(dispatched(r, 'egress', '10.0.0.2'), undefined);
      assert.equal(counterOf(r, 'in', '10.0.0.1'), undefined);
      assert.equal(counterOf(r, 'eg', '10.0.0.2'), undefined);
      assert.deepEqual(classChains(r, 'in'), []);
      assert.deepEqual(r.chains.map((c) => c.name), ['forward', 'input', 'eg-0'], 'no chain per pod');
      // The egress rule `{}` allows everything: a's chain returns for both families at once.
      assert.deepEqual(allowRulesFor(r, 'egress', '10.0.0.1'), ['meta nfproto ipv4 return', 'meta nfproto ipv6 return']);
    },
  },
  {
    name: 'ingress rules of a policy without Ingress in policyTypes never take effect',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'] }),
      policy('default/egress-typed', { podSelector: {}, policyTypes: ['Egress'], ingress: [{}], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] }),
    ],
    check: (r) => {
      assert.deepEqual(classChains(r, 'in'), []);
      assert.deepEqual(allowRulesFor(r, 'egress', '10.0.0.1'), [
        'ip daddr . meta l4proto . th dport { 0.0.0.0/0 . udp . 53 } return',
        'ip6 daddr . meta l4proto . th dport { ::/0 . udp . 53 } return',
      ]);
    },
  },
  {
    name: 'a rule whose peers match nothing adds nothing (nothing to allow)',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'], ports: [{ name: 'http', containerPort: 80 }] }),
      ingressPolicy('default/nobody', {}, [
        { from: [{ podSelector: app('nobody') }] },
        { from: [{ namespaceSelector: { matchLabels: { nothing: 'here' } } }], ports: [{ port: 80 }] },
        // An IPv6 block for an IPv4-only cluster: allowed for IPv6, nothing for IPv4.
        { from: [{ ipBlock: { cidr: 'fd00::/8' } }] },
        // Only named ports, and no selected pod has the name: nothing to allow either.
        { ports: [{ port: 'metrics' }] },
        { ports: [{ port: 'http', protocol: 'UDP' }] },
      ]),
    ],
    check: (r) => {
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['ip6 saddr { fd00::/8 } accept']);
      // Empty sets are not created at all.
      assert.deepEqual(
        r.sets.map((s) => [s.type, s.elements]),
        [['ipv6_addr', ['fd00::/8']]],
      );
    },
  },
  {
    name: "denied traffic is counted in the pod's named counter through an objref map, then rejected with tcp reset / icmpx",
    objects: [pod('prod/db', { ips: ['10.0.0.1', 'fd00::1'] }), denyIngress('prod/deny'), egressPolicy('prod/deny-eg', {}, [])],
    check: (r) => {
      assert.deepEqual(chain(r, dispatched(r, 'ingress', '10.0.0.1')!), DENY_TAIL.in);
      assert.deepEqual(chain(r, dispatched(r, 'egress', '10.0.0.1')!), DENY_TAIL.eg);
      assert.deepEqual(r.counters, [
        { name: 'eg/prod/db', packets: 0, bytes: 0 },
        { name: 'in/prod/db', packets: 0, bytes: 0 },
      ]);
      for (const [name, type, key, value] of [
        ['count-in4', 'ipv4_addr', '10.0.0.1', '"in/prod/db"'],
        ['count-in6', 'ipv6_addr', 'fd00::1', '"in/prod/db"'],
        ['count-eg4', 'ipv4_addr', '10.0.0.1', '"eg/prod/db"'],
        ['count-eg6', 'ipv6_addr', 'fd00::1', '"eg/prod/db"'],
      ]) {
        const m = r.maps.find((x) => x.name === name);
        assert.ok(m, name);
        assert.equal(m.type, type);
        assert.equal(m.valueType, 'counter', `${name} is an objref map`);
        assert.deepEqual(m.elements, [[key, value]]);
      }
      // Every counter a map names exists.
      for (const m of r.maps.filter((x) => x.valueType === 'counter')) {
        for (const [, v] of m.elements) assert.ok(r.counters.some((c) => `"${c.name}"` === v), `${m.name} names ${v}`);
      }
      assert.match(renderTable(r), /\tmap count-in4 \{\n\t\ttype ipv4_addr : counter\n\t\telements = \{\n\t\t\t10\.0\.0\.1 : "in\/prod\/db"\n\t\t\}\n\t\}\n/);
      assert.ok(!r.maps.some((m) => m.name.startsWith('log-')), 'no log maps without log');
    },
  },
  {
    name: 'counter values carry over from the table being replaced',
    objects: [pod('default/a', { ips: ['10.0.0.1'] }), pod('default/b', { ips: ['10.0.0.2'] }), denyIngress('default/deny')],
    options: {
      counterValues: new Map([
        ['in/default/a', { packets: 7, bytes: 420 }],
        ['in/default/gone', { packets: 1, bytes: 60 }],
      ]),
    },
    check: (r) => {
      assert.deepEqual(r.counters, [
        { name: 'in/default/a', packets: 7, bytes: 420 },
        { name: 'in/default/b', packets: 0, bytes: 0 },
      ]);
      assert.match(renderTable(r), /\tcounter in\/default\/a \{\n\t\tpackets 7 bytes 420\n\t\}\n/);
    },
  },
  {
    name: "log: denied traffic jumps to the pod's log chain (counter, rate-limited log with the pod's name), then is rejected",
    objects: [
      pod('prod/db', { ips: ['10.0.0.1', 'fd00::1'] }),
      pod('prod/web', { ips: ['10.0.0.2'] }),
      denyIngress('prod/deny'),
      egressPolicy('prod/deny-eg', {}, []),
    ],
    options: { log: true },
    check: (r) => {
      const inChain = dispatched(r, 'ingress', '10.0.0.1')!;
      assert.deepEqual(chain(r, inChain), LOG_TAIL.in);
      assert.deepEqual(chain(r, dispatched(r, 'egress', '10.0.0.1')!), LOG_TAIL.eg);
      assert.equal(dispatched(r, 'ingress', '10.0.0.2'), inChain, 'the class chain is still shared');
      // One log chain per pod and direction, reached by jump (it returns, so the reject follows).
      const logIn = map(r, 'log-in4');
      assert.deepEqual([...logIn.keys()], ['10.0.0.1', '10.0.0.2']);
      assert.equal(map(r, 'log-in6').get('fd00::1'), logIn.get('10.0.0.1'), 'one pod, one log chain for both families');
      for (const v of [...logIn.values(), ...map(r, 'log-eg4').values()]) assert.match(v, /^jump log-(in|eg)-\d+$/);
      assert.deepEqual(chain(r, logIn.get('10.0.0.1')!.slice('jump '.length)), [
        'counter name "in/prod/db"',
        'limit rate 10/second burst 20 packets log prefix "podwall drop in prod/db: " level info',
      ]);
      assert.deepEqual(chain(r, map(r, 'log-eg4').get('10.0.0.2')!.slice('jump '.length)), [
        'counter name "eg/prod/web"',
        'limit rate 10/second burst 20 packets log prefix "podwall drop eg prod/web: " level info',
      ]);
      assert.equal(r.chains.filter((c) => c.name.startsWith('log-')).length, 4);
      assert.equal(r.counters.length, 4);
      assert.ok(!r.maps.some((m) => m.name.startsWith('count-')), 'the log chains count instead of the objref maps');
      assert.deepEqual(
        r.maps.map((m) => [m.name, m.type, m.valueType ?? 'verdict']),
        [
          ['ingress4', 'ipv4_addr', 'verdict'],
          ['log-in4', 'ipv4_addr', 'verdict'],
          ['ingress6', 'ipv6_addr', 'verdict'],
          ['log-in6', 'ipv6_addr', 'verdict'],
          ['egress4', 'ipv4_addr', 'verdict'],
          ['log-eg4', 'ipv4_addr', 'verdict'],
          ['egress6', 'ipv6_addr', 'verdict'],
          ['log-eg6', 'ipv6_addr', 'verdict'],
        ],
      );
    },
  },
  {
    name: 'log: allowed traffic is neither counted nor logged, and a pod that is not isolated has no log chain',
    objects: [pod('prod/db', { ips: ['10.0.0.1'], labels: { app: 'db' } }), pod('prod/free', { ips: ['10.0.0.2'] }), ingressPolicy('prod/db', app('db'), [{ ports: [{ port: 3306 }] }])],
    options: { log: true },
    check: (r) => {
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'ip saddr . meta l4proto . th dport { 0.0.0.0/0 . tcp . 3306 } accept',
        'ip6 saddr . meta l4proto . th dport { ::/0 . tcp . 3306 } accept',
      ]);
      assert.deepEqual([...map(r, 'log-in4').keys()], ['10.0.0.1']);
      assert.deepEqual([...map(r, 'log-eg4').keys()], []);
      assert.deepEqual(r.chains.filter((c) => c.name.startsWith('log-')).map((c) => c.rules[0]), ['counter name "in/prod/db"']);
    },
  },
  {
    name: 'revoked connections are refused, then established/related accepted; ICMPv6 neighbour discovery always passes; input judges egress only',
    objects: [pod('default/a', { ips: ['10.0.0.1'] }), denyIngress('default/deny')],
    check: (r) => {
      const nd = 'meta l4proto ipv6-icmp icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } accept';
      const mark = `0x${REVOKED_MARK.toString(16).padStart(8, '0')}`;
      assert.equal(mark, '0x00800000');
      // Both directions of a revoked connection are refused before any reply is let through.
      const head = [`ct mark & ${mark} == ${mark} meta l4proto tcp reject with tcp reset`, `ct mark & ${mark} == ${mark} drop`, 'ct state established,related accept', nd];
      assert.deepEqual(r.chains[0], {
        name: 'forward',
        base: { hook: 'forward', priority: 'filter' },
        rules: [...head, 'ip saddr vmap @egress4', 'ip6 saddr vmap @egress6', 'ip daddr vmap @ingress4', 'ip6 daddr vmap @ingress6'],
      });
      assert.deepEqual(r.chains[1], {
        name: 'input',
        base: { hook: 'input', priority: 'filter' },
        rules: [...head, 'ip saddr vmap @egress4', 'ip6 saddr vmap @egress6'],
      });
      assert.equal(r.chains.filter((c) => c.base).length, 2, 'no output hook: the node\'s own traffic is not judged');
      assert.match(renderTable(r), /\tchain forward \{\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tct mark /);
    },
  },
  {
    name: 'every map exists (empty when nothing is isolated) and every set has the family its rule matches',
    objects: [pod('default/a', { ips: ['10.0.0.1'] })],
    check: (r) => {
      assert.deepEqual(
        r.maps.map((m) => [m.name, m.type, m.valueType ?? 'verdict', m.elements.length]),
        [
          ['ingress4', 'ipv4_addr', 'verdict', 0],
          ['count-in4', 'ipv4_addr', 'counter', 0],
          ['ingress6', 'ipv6_addr', 'verdict', 0],
          ['count-in6', 'ipv6_addr', 'counter', 0],
          ['egress4', 'ipv4_addr', 'verdict', 0],
          ['count-eg4', 'ipv4_addr', 'counter', 0],
          ['egress6', 'ipv6_addr', 'verdict', 0],
          ['count-eg6', 'ipv6_addr', 'counter', 0],
        ],
      );
      assert.deepEqual(r.chains.map((c) => c.name), ['forward', 'input']);
      assert.deepEqual(r.sets, []);
      assert.deepEqual(r.counters, []);
    },
  },
  {
    name: 'the table name is an option; the default is podwall',
    objects: [pod('default/a', { ips: ['10.0.0.1'] })],
    options: { table: 'podwall_test' },
    check: (r) => {
      assert.equal(r.table, 'podwall_test');
      assert.equal(r.family, 'inet');
    },
  },
];

describe('compileRuleset', () => {
  for (const c of CASES) test(c.name, () => c.check(compile(c.objects, c.options)));

  test('named ports resolve per destination pod and protocol (egress: the destinations the peers match, on any node)', () => {
    const objects = (egress: readonly Manifest[]): Manifest[] => [
      pod('default/client', { ips: ['10.0.0.1'], labels: { app: 'client' } }),
      pod('default/db-1', { ips: ['10.0.0.2'], labels: { app: 'db' }, ports: [{ name: 'sql', containerPort: 5432 }] }),
      pod('default/remote-db', { ips: ['10.0.9.2'], labels: { app: 'db' }, ports: [{ name: 'sql', containerPort: 3306 }] }),
      pod('default/cache', { ips: ['10.0.0.3'], labels: { app: 'cache' }, ports: [{ name: 'sql', containerPort: 1234 }] }),
      egressPolicy('default/client', app('client'), egress),
    ];
    const options = { isLocal: (e: Endpoint) => !e.name.startsWith('remote-') };
    const byPeers = { to: [{ podSelector: app('db') }], ports: [{ port: 'sql' }] };
    // No peers: every pod is a destination.
    const everyPod = { ports: [{ port: 'sql' }] };
    // An ipBlock peer: the pods whose address it holds.
    const byBlock = { to: [{ ipBlock: { cidr: '10.0.0.3/32' } }], ports: [{ port: 'sql' }] };
    const lookups = (egress: readonly Manifest[]): string[] => allowRulesFor(compile(objects(egress), options), 'egress', '10.0.0.1');
    assert.deepEqual(lookups([byPeers]), ['ip daddr . meta l4proto . th dport { 10.0.9.2 . tcp . 3306, 10.0.0.2 . tcp . 5432 } return']);
    assert.deepEqual(lookups([everyPod]), ['ip daddr . meta l4proto . th dport { 10.0.0.3 . tcp . 1234, 10.0.9.2 . tcp . 3306, 10.0.0.2 . tcp . 5432 } return']);
    assert.deepEqual(lookups([byBlock]), ['ip daddr . meta l4proto . th dport { 10.0.0.3 . tcp . 1234 } return']);
    // All three in one set: the union, each destination on its own number.
    const r = compile(objects([byPeers, everyPod, byBlock]), options);
    assert.deepEqual(allowRulesFor(r, 'egress', '10.0.0.1'), ['ip daddr . meta l4proto . th dport { 10.0.0.3 . tcp . 1234, 10.0.9.2 . tcp . 3306, 10.0.0.2 . tcp . 5432 } return']);
    expectOutcomes(compile(objects([byPeers]), options), 'egress', [
      [tcp('10.0.0.1', '10.0.0.2', 5432), 'allowed'],
      [tcp('10.0.0.1', '10.0.0.2', 3306), 'denied'],
      [tcp('10.0.0.1', '10.0.9.2', 3306), 'allowed'],
      [tcp('10.0.0.1', '10.0.0.3', 1234), 'denied'],
    ]);
  });

  test('rules grow with classes, not pods: class chains are identical for 2 and 200 pods, and no chain is per pod', () => {
    const objects = (n: number): Manifest[] => [
      ...Array.from({ length: n }, (_, i) => pod(`default/p-${i}`, { ips: [`10.1.${i >> 8}.${(i & 255) + 1}`], labels: { app: i % 2 ? 'odd' : 'even' } })),
      ingressPolicy('default/even', app('even'), [{ from: [{ podSelector: app('odd') }], ports: [{ port: 80 }] }]),
      egressPolicy('default/odd', app('odd'), [{ to: [{ podSelector: app('even') }] }]),
    ];
    const small = compile(objects(2));
    const large = compile(objects(200));
    const classes = (r: Ruleset) => r.chains.filter((c) => /^(in|eg)-\d+$/.test(c.name));
    assert.deepEqual(classes(large), classes(small));
    assert.equal(classes(large).length, 2);
    assert.equal(large.sets.length, small.sets.length, 'one set per lookup, whatever the pod count');
    assert.equal(rulesetStats(large).rules, rulesetStats(small).rules);
    assert.equal(map(large, 'ingress4').size, 100);
    assert.equal(map(large, 'egress4').size, 100);
    assert.equal(map(large, 'count-in4').size, 100);
    assert.equal(map(large, 'count-eg4').size, 100);
    const stats = rulesetStats(large);
    assert.equal(stats.counters, 200);
    assert.equal(stats.chains, 2 + 2);
    // What the pods add is elements: the odd pods' addresses in the ports set, the even pods' in the egress set.
    assert.equal(setOf(large, chain(large, dispatched(large, 'ingress', '10.1.0.1')!)[0]).elements.length, 100);
    assert.equal(setOf(large, chain(large, dispatched(large, 'egress', '10.1.0.2')!)[0]).elements.length, 100);
  });

  test('rules grow with classes, not policy rules: forty rules of every kind are three lookups per family', () => {
    const rules: Manifest[] = [];
    for (let i = 0; i < 10; i++) {
      rules.push({ from: [{ ipBlock: { cidr: `10.${i}.0.0/16` } }, { ipBlock: { cidr: `fd00:${i}::/32` } }] });
      rules.push({ from: [{ ipBlock: { cidr: `172.16.${i}.0/24` } }, { ipBlock: { cidr: `fd01:${i}::/32` } }], ports: [{ port: 1000 + i * 10, endPort: 1000 + i * 10 + 15 }] });
      rules.push({ from: [{ podSelector: app(`c${i}`) }], ports: [{ port: 'http' }, { port: 53 + i, protocol: 'UDP' }] });
      rules.push({ from: [{ ipBlock: { cidr: `192.168.${i}.0/24` } }, { ipBlock: { cidr: `fd02:${i}::/32` } }], ports: [{ port: 'http' }] });
    }
    const r = compile([
      pod('default/a', { ips: ['10.200.0.1', 'fd99::1'], labels: { app: 'a' }, ports: [{ name: 'http', containerPort: 8080 }] }),
      ...Array.from({ length: 10 }, (_, i) => pod(`default/c-${i}`, { ips: [`10.100.0.${i + 1}`, `fd98::${(i + 1).toString(16)}`], labels: { app: `c${i}` } })),
      ingressPolicy('default/many', app('a'), rules),
    ]);
    const lookups = chain(r, dispatched(r, 'ingress', '10.200.0.1')!).slice(0, -4);
    assert.deepEqual(
      lookups.map((l) => l.replace(/@\S+/, '@set')),
      [
        'ip saddr @set accept',
        'ip saddr . meta l4proto . th dport @set accept',
        'ip daddr . ip saddr . meta l4proto . th dport @set accept',
        'ip6 saddr @set accept',
        'ip6 saddr . meta l4proto . th dport @set accept',
        'ip6 daddr . ip6 saddr . meta l4proto . th dport @set accept',
      ],
    );
    expectOutcomes(r, 'ingress', [
      [icmp('10.9.1.1', '10.200.0.1'), 'allowed'],
      [icmp('10.10.1.1', '10.200.0.1'), 'denied'],
      [tcp('172.16.3.1', '10.200.0.1', 1045), 'allowed'],
      [tcp('172.16.3.1', '10.200.0.1', 1046), 'denied'],
      [tcp('172.16.3.1', '10.200.0.1', 1029), 'denied'],
      [udp('10.100.0.4', '10.200.0.1', 56), 'allowed'],
      [udp('10.100.0.4', '10.200.0.1', 57), 'denied'],
      [tcp('10.100.0.4', '10.200.0.1', 8080), 'allowed'],
      [tcp('192.168.9.9', '10.200.0.1', 8080), 'allowed'],
      [tcp('192.168.10.9', '10.200.0.1', 8080), 'denied'],
      [tcp('fd02:9::1', 'fd99::1', 8080), 'allowed'],
      [tcp('fd98::a', 'fd99::1', 8080), 'allowed'],
      [udp('fd98::a', 'fd99::1', 62), 'allowed'],
      [tcp('fd01:2::1', 'fd99::1', 1035), 'allowed'],
      [tcp('fd01:2::1', 'fd99::1', 1036), 'denied'],
      [icmp('fd00:9::1', 'fd99::1'), 'allowed'],
      [icmp('fd03::1', 'fd99::1'), 'denied'],
    ]);
  });

  test('the table is replaced in one script: table; delete table; table {...}', () => {
    const r = compile([pod('default/a', { ips: ['10.0.0.1'] }), denyIngress('default/deny')]);
    const script = renderReplaceScript(r);
    assert.ok(script.startsWith('table inet podwall {}\ndelete table inet podwall\ntable inet podwall {\n'), script.slice(0, 120));
    assert.equal(script, `table inet podwall {}\ndelete table inet podwall\n${renderTable(r)}`);
    assert.ok(script.endsWith('\t}\n}\n'));
    // Exactly one table definition besides the empty one that makes the delete safe.
    assert.equal(script.match(/^table /gm)?.length, 2);
    assert.equal(script.match(/^delete /gm)?.length, 1);
  });

  test('identifiers are checked: a bad table, set, map, chain or counter name is a RulesetError', () => {
    const r = compile([pod('default/a', { ips: ['10.0.0.1'] }), ingressPolicy('default/p', {}, [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }])]);
    assert.doesNotThrow(() => renderReplaceScript(r));
    const bad: Ruleset[] = [
      { ...r, table: 'podwall; flush ruleset' },
      { ...r, table: '' },
      { ...r, table: '1table' },
      { ...r, table: 'x'.repeat(256) },
      { ...r, sets: [{ ...r.sets[0], name: 'peer 4' }] },
      { ...r, maps: [{ ...r.maps[0], name: 'ingress4 {' }] },
      { ...r, chains: [...r.chains, { name: '-chain', rules: [] }] },
      { ...r, counters: [{ name: 'in/default/a"', packets: 0, bytes: 0 }] },
    ];
    for (const b of bad) assert.throws(() => renderReplaceScript(b), RulesetError);
    assert.throws(() => renderReplaceScript(compile([pod('default/a', { ips: ['10.0.0.1'] })], { table: 'bad name' })), RulesetError);
    for (const good of ['podwall', '_x', 'in/default/a', 'log-in-0', 'any4-0', 'a.b_c-d/e', 'x'.repeat(255)]) assert.equal(checkIdentifier(good), good);
    // Quoted strings can neither end the quote nor the statement.
    assert.equal(quote('a"b;c\nd{e}'), '"a_b_c_d_e_"');
    assert.equal(quote('x'.repeat(300)).length, 127 + 2);
  });

  test('counter names are identifiers for every valid pod name; overlong ones are shortened, distinctly', () => {
    const ep = (ns: string, name: string): Endpoint => ({ id: `${ns}/${name}`, kind: 'Pod', namespace: ns, name, labels: {}, ports: [], ips: [], hostNetwork: false });
    assert.equal(counterName('Ingress', ep('prod', 'db-0.x')), 'in/prod/db-0.x');
    assert.equal(counterName('Egress', ep('prod', 'db')), 'eg/prod/db');
    const long1 = counterName('Ingress', ep('n'.repeat(63), `${'a'.repeat(252)}1`));
    const long2 = counterName('Ingress', ep('n'.repeat(63), `${'a'.repeat(252)}2`));
    assert.ok(long1.length <= 255);
    assert.notEqual(long1, long2);
    assert.equal(checkIdentifier(long1), long1);
    // The objref map and the log chain's counter statement keep the whole name.
    const objects = [pod(`default/${'p'.repeat(253)}`, { ips: ['10.0.0.1'] }), denyIngress('default/deny')];
    const r = compile(objects);
    assert.equal(counterOf(r, 'in', '10.0.0.1'), r.counters[0].name);
    assert.doesNotThrow(() => renderReplaceScript(r));
    const logged = compile(objects, { log: true });
    assert.equal(chain(logged, map(logged, 'log-in4').get('10.0.0.1')!.slice('jump '.length))[0], `counter name "${logged.counters[0].name}"`);
    assert.doesNotThrow(() => renderReplaceScript(logged));
  });

  test('rendering is deterministic: same input -> byte-identical script, whatever the manifest order', () => {
    const objects = [
      namespace('a', { team: 'x' }),
      namespace('b'),
      pod('a/one', { ips: ['10.0.0.1', 'fd00::1'], labels: { app: 'one' }, ports: [{ name: 'http', containerPort: 80 }] }),
      pod('a/two', { ips: ['10.0.0.2'], labels: { app: 'two' } }),
      pod('b/three', { ips: ['fd00::3'], labels: { app: 'three' } }),
      ingressPolicy('a/one', app('one'), [{ from: [{ namespaceSelector: {} }], ports: [{ port: 'http' }, { port: 81, endPort: 90 }] }]),
      egressPolicy('a/two', app('two'), [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.0.1/32'] } }] }, { to: [{ podSelector: {} }], ports: [{ port: 'http' }, { port: 85 }] }]),
      denyIngress('b/deny'),
    ];
    for (const log of [false, true]) {
      const once = renderReplaceScript(compile(objects, { log }));
      assert.equal(renderReplaceScript(compile(objects, { log })), once);
      assert.equal(renderReplaceScript(compile([...objects].reverse(), { log })), once);
    }
  });

  test('two pods with one address never give a map two elements with one key', () => {
    const objects = [pod('default/job-1', { ips: ['10.0.0.1'] }), pod('default/web', { ips: ['10.0.0.1'] }), denyIngress('default/deny')];
    for (const log of [false, true]) {
      const r = compile(objects, { log });
      for (const m of r.maps) assert.equal(new Set(m.elements.map(([k]) => k)).size, m.elements.length, `${m.name} has a duplicate key`);
      assert.equal(map(r, 'ingress4').size, 1);
    }
  });

  test('ipBlockRanges: cidr minus except as ranges', () => {
    assert.deepEqual(
      ipBlockRanges('10.0.0.0/24', ['10.0.0.128/25', '10.0.0.0/26']).map((x) => formatRange(x, 4)),
      ['10.0.0.64/26'],
    );
    assert.deepEqual(ipBlockRanges('2001:db8::/32', []).map((x) => formatRange(x, 6)), ['2001:db8::/32']);
  });
});

// ---------------------------------------------------------------------------------------------
// Shared addresses. Issue 13: "The data plane never lets a shared address weaken isolation: when
// two live pods claim one address, that address gets the verdict of the most restrictive claimant
// (or is dropped), never 'no entry'; terminated/Succeeded/Failed pods never own an address."

describe('an address two live pods claim never weakens isolation', () => {
  const web = pod('default/web', { ips: ['10.0.0.1', 'fd00::1'], labels: { app: 'web' } });
  const api = pod('default/api', { ips: ['10.0.0.2', 'fd00::2'], labels: { app: 'api' } });
  const db = pod('default/db', { ips: ['10.0.0.3', 'fd00::3'], labels: { app: 'db' }, ports: [{ name: 'sql', containerPort: 3306 }] });
  // No policy selects the impostor; before, the first pod by name (it) took the address and the db was open.
  const impostor = pod('default/aaa-impostor', { ips: ['10.0.0.3'], labels: { app: 'impostor' }, ports: [{ name: 'sql', containerPort: 3306 }] });
  const dbPolicy = ingressPolicy('default/db', app('db'), [{ from: [{ podSelector: app('api') }, { podSelector: app('web') }], ports: [{ port: 3306 }] }]);
  const only = (...names: string[]) => (e: Endpoint) => names.includes(e.name);

  test('db and an impostor claim the db address: web -> db:3306 is refused and counted under in/conflict/10.0.0.3, both ways, logged or not', () => {
    for (const log of [false, true]) {
      const r = compile([web, api, db, impostor, dbPolicy], { log });
      for (const [from, to] of [['10.0.0.1', '10.0.0.3'], ['10.0.0.2', '10.0.0.3'], ['10.0.0.3', '10.0.0.1']]) {
        assert.equal(judgeConnection(r, tcp(from, to, 3306)), 'denied', `${from} -> ${to}:3306 (log ${log})`);
      }
      assert.equal(dispatched(r, 'ingress', '10.0.0.3'), 'in-conflict');
      assert.equal(dispatched(r, 'egress', '10.0.0.3'), 'eg-conflict');
      assert.ok(r.counters.some((c) => c.name === 'in/conflict/10.0.0.3') && r.counters.some((c) => c.name === 'eg/conflict/10.0.0.3'));
      if (!log) assert.equal(counterOf(r, 'in', '10.0.0.3'), 'in/conflict/10.0.0.3');
      // Only the shared family is dropped: the db's own IPv6 address keeps its class.
      assert.equal(judgeConnection(r, tcp('fd00::1', 'fd00::3', 3306)), 'allowed');
    }
  });

  test('a pod all of whose addresses are shared keeps no class chain or counter of its own: the conflict chain is all it has', () => {
    const dbV4 = pod('default/db', { ips: ['10.0.0.3'], labels: { app: 'db' }, ports: [{ name: 'sql', containerPort: 3306 }] });
    const r = compile([web, dbV4, impostor, dbPolicy]);
    assert.deepEqual(classChains(r, 'in'), []);
    assert.deepEqual(r.counters.map((c) => c.name), ['eg/conflict/10.0.0.3', 'in/conflict/10.0.0.3']);
  });

  test('a shared IPv6 address gets a conflict counter named without colons', () => {
    const r = compile([web, db, pod('default/other', { ips: ['10.0.0.9', 'fd00::3'] })]);
    assert.equal(dispatched(r, 'ingress', 'fd00::3'), 'in-conflict');
    assert.equal(counterOf(r, 'in', 'fd00::3'), 'in/conflict/fd00--3');
    assert.equal(judgeConnection(r, tcp('fd00::1', 'fd00::3', 3306)), 'denied');
  });

  for (const phase of ['Failed', 'Succeeded']) {
    test(`a ${phase} pod claiming a live pod's address changes nothing: the model gives finished pods no address`, () => {
      const finished = { ...pod('default/aaa-old', { ips: ['10.0.0.3'] }), status: { phase, podIP: '10.0.0.3', podIPs: [{ ip: '10.0.0.3' }] } };
      const r = compile([web, api, db, dbPolicy, finished]);
      assert.deepEqual(renderTable(r), renderTable(compile([web, api, db, dbPolicy])));
      assert.equal(judgeConnection(r, tcp('10.0.0.1', '10.0.0.3', 3306)), 'allowed');
    });
  }

  test('an address shared by a pod a peer matches and one it does not is not admitted through that peer; an ipBlock still admits it', () => {
    const objects = [
      pod('default/api', { ips: ['10.0.0.2'], labels: { app: 'api' } }),
      pod('default/other', { ips: ['10.0.0.2'], labels: { app: 'other' } }),
      pod('default/api2', { ips: ['10.0.0.4'], labels: { app: 'api' } }),
      pod('default/db', { ips: ['10.0.0.3'], labels: { app: 'db' }, ports: [{ containerPort: 3306 }] }),
      pod('default/cache', { ips: ['10.0.0.5'], labels: { app: 'cache' }, ports: [{ containerPort: 6379 }] }),
      ingressPolicy('default/db', app('db'), [{ from: [{ podSelector: app('api') }], ports: [{ port: 3306 }] }]),
      ingressPolicy('default/cache', app('cache'), [{ from: [{ ipBlock: { cidr: '10.0.0.0/29' } }] }]),
    ];
    // On every node (the claimants' and another's), the shared address stays out of the pod peer.
    for (const isLocal of [undefined, only('db', 'cache')]) {
      expectOutcomes(compile(objects, { isLocal }), 'ingress', [
        [tcp('10.0.0.2', '10.0.0.3', 3306), 'denied'],
        [tcp('10.0.0.4', '10.0.0.3', 3306), 'allowed'],
        [tcp('10.0.0.2', '10.0.0.5', 6379), 'allowed'],
      ]);
    }
  });

  test('a shared address is admitted as a peer when the rule matches every claimant, even through different pod peers', () => {
    const objects = [
      pod('default/api', { ips: ['10.0.0.2'], labels: { app: 'api' } }),
      pod('default/web', { ips: ['10.0.0.2'], labels: { app: 'web' } }),
      db,
      dbPolicy,
    ];
    const r = compile(objects, { isLocal: only('db') });
    expectOutcomes(r, 'ingress', [[tcp('10.0.0.2', '10.0.0.3', 3306), 'allowed']]);
    for (const id of ['default/api', 'default/web']) {
      const c = cluster(objects);
      const source = c.cluster.endpoints.find((e) => e.id === id)!;
      const destination = c.cluster.endpoints.find((e) => e.id === 'default/db')!;
      assert.ok(evaluateConnection(c, { source: { kind: 'endpoint', endpoint: source }, destination: { kind: 'endpoint', endpoint: destination }, port: 3306, protocol: 'TCP' }).allowed);
    }
  });

  test('on a node running one claimant the shared address is refused both ways; on a node running none it is not dispatched', () => {
    const objects = [web, api, db, impostor, dbPolicy];
    for (const [who, isLocal] of [['the impostor', only('aaa-impostor', 'web')], ['the db', only('db', 'web')]] as const) {
      const r = compile(objects, { isLocal });
      assert.equal(dispatched(r, 'ingress', '10.0.0.3'), 'in-conflict', who);
      assert.equal(dispatched(r, 'egress', '10.0.0.3'), 'eg-conflict', who);
      assert.equal(judgeConnection(r, tcp('10.0.0.1', '10.0.0.3', 3306)), 'denied', who);
    }
    const elsewhere = compile(objects, { isLocal: only('web') });
    assert.equal(dispatched(elsewhere, 'ingress', '10.0.0.3'), undefined);
    assert.ok(!elsewhere.counters.some((c) => c.name.includes('conflict')));
  });

  test('an egress named port reaches a shared address only on a number every claimant is a peer for and gives the name', () => {
    const toSql = egressPolicy('default/web', app('web'), [{ to: [{ podSelector: {} }], ports: [{ port: 'sql' }] }]);
    const renumbered = pod('default/aaa-impostor', { ips: ['10.0.0.3'], ports: [{ name: 'sql', containerPort: 5432 }] });
    const unnamed = pod('default/aaa-impostor', { ips: ['10.0.0.3'], ports: [{ containerPort: 3306 }] });
    const cases: [string, Manifest, Outcome, Outcome][] = [
      ['the same number', impostor, 'allowed', 'denied'],
      ['another number', renumbered, 'denied', 'denied'],
      ['no such name', unnamed, 'denied', 'denied'],
    ];
    const judged = (other: Manifest): Outcome[] => {
      const r = compile([web, db, other, toSql], { isLocal: only('web') });
      return [tcp('10.0.0.1', '10.0.0.3', 3306), tcp('10.0.0.1', '10.0.0.3', 5432), tcp('fd00::1', 'fd00::3', 3306)].map((p) => judge(r, 'egress', p));
    };
    assert.deepEqual(
      cases.map(([name, other]) => [name, ...judged(other)]),
      cases.map(([name, , on3306, on5432]) => [name, on3306, on5432, 'allowed']),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The interval sets: disjoint elements, sharing, the allow-all shortcut, IPv6

describe('interval sets', () => {
  test('overlapping port ranges from rules with overlapping peers become disjoint elements covering exactly the union', () => {
    const r = compile([
      pod('default/a', { ips: ['10.0.3.1'], labels: { app: 'a' } }),
      pod('default/b', { ips: ['10.0.0.200'], labels: { app: 'b' } }),
      ingressPolicy('default/a', app('a'), [
        { from: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ port: 80, endPort: 90 }] },
        { from: [{ ipBlock: { cidr: '10.0.0.0/25' } }, { podSelector: app('b') }, { ipBlock: { cidr: '10.0.2.0/30' } }], ports: [{ port: 85, endPort: 100 }, { port: 53, protocol: 'UDP' }] },
      ]),
    ]);
    assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.3.1'), [
      'ip saddr . meta l4proto . th dport { ' +
        [
          '10.0.0.0/24 . tcp . 80-84',
          '10.0.0.0/24 . tcp . 85-90',
          '10.0.2.0/30 . tcp . 85-90',
          '10.0.0.0/25 . tcp . 91-100',
          '10.0.0.200 . tcp . 91-100',
          '10.0.2.0/30 . tcp . 91-100',
          '10.0.0.0/25 . udp . 53',
          '10.0.0.200 . udp . 53',
          '10.0.2.0/30 . udp . 53',
        ].join(', ') +
        ' } accept',
    ]);
    // Membership of points on every boundary equals the union of the two rules.
    const v = (ip: string): bigint => parseAddress(ip, 4);
    const within = (ip: string, first: string, last: string): boolean => v(ip) >= v(first) && v(ip) <= v(last);
    const ruleA = (src: string, proto: string, port: number): boolean => within(src, '10.0.0.0', '10.0.0.255') && proto === 'tcp' && port >= 80 && port <= 90;
    const ruleB = (src: string, proto: string, port: number): boolean =>
      (within(src, '10.0.0.0', '10.0.0.127') || src === '10.0.0.200' || within(src, '10.0.2.0', '10.0.2.3')) &&
      ((proto === 'tcp' && port >= 85 && port <= 100) || (proto === 'udp' && port === 53));
    const sources = ['9.255.255.255', '10.0.0.0', '10.0.0.127', '10.0.0.128', '10.0.0.199', '10.0.0.200', '10.0.0.201', '10.0.0.255', '10.0.1.0', '10.0.1.255', '10.0.2.0', '10.0.2.3', '10.0.2.4'];
    const expected: [Packet, Outcome][] = [];
    for (const src of sources) {
      for (const port of [0, 52, 53, 54, 79, 80, 84, 85, 90, 91, 100, 101, 65535]) {
        for (const proto of ['tcp', 'udp', 'sctp'] as const) {
          expected.push([{ src, dst: '10.0.3.1', proto, port }, ruleA(src, proto, port) || ruleB(src, proto, port) ? 'allowed' : 'denied']);
        }
      }
    }
    expectOutcomes(r, 'ingress', expected);
  });

  test('neighbouring port pieces with the same addresses are joined again; numbered ranges covering an egress named port absorb it', () => {
    const r = compile([
      pod('default/a', { ips: ['10.0.0.1'], labels: { app: 'a' } }),
      pod('default/db', { ips: ['10.0.0.2'], labels: { app: 'db' }, ports: [{ name: 'sql', containerPort: 5432 }] }),
      pod('default/far', { ips: ['10.0.9.2'], labels: { app: 'db' }, ports: [{ name: 'sql', containerPort: 3306 }] }),
      egressPolicy('default/a', app('a'), [
        { to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ port: 5000, endPort: 5431 }] },
        { to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ port: 5432, endPort: 6000 }] },
        { to: [{ podSelector: app('db') }], ports: [{ port: 'sql' }] },
      ]),
    ]);
    assert.deepEqual(allowRulesFor(r, 'egress', '10.0.0.1'), ['ip daddr . meta l4proto . th dport { 10.0.9.2 . tcp . 3306, 10.0.0.0/24 . tcp . 5000-6000 } return']);
  });

  test('sets of equal content are shared, across classes, directions and set kinds of one type', () => {
    const r = compile([
      pod('default/a', { ips: ['10.0.0.1'], labels: { app: 'a' } }),
      pod('default/b', { ips: ['10.0.0.2'], labels: { app: 'b' } }),
      pod('default/c', { ips: ['10.0.0.3'], labels: { app: 'c' } }),
      ingressPolicy('default/a', app('a'), [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 80 }] }]),
      ingressPolicy('default/b', app('b'), [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 80 }] }, { from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }]),
      egressPolicy('default/c', app('c'), [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 80 }] }, { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }]),
    ]);
    const a = chain(r, dispatched(r, 'ingress', '10.0.0.1')!);
    const b = chain(r, dispatched(r, 'ingress', '10.0.0.2')!);
    const c = chain(r, dispatched(r, 'egress', '10.0.0.3')!);
    assert.notEqual(dispatched(r, 'ingress', '10.0.0.1'), dispatched(r, 'ingress', '10.0.0.2'), 'two classes');
    assert.equal(setOf(r, a[0]).name, setOf(r, b[1]).name, 'one ports set for a (ingress) and b (ingress)');
    assert.equal(setOf(r, b[0]).name, setOf(r, c[0]).name, 'one any-protocol set for b (ingress) and c (egress)');
    assert.equal(setOf(r, a[0]).name, setOf(r, c[1]).name, 'and the ports set again for c (egress)');
    assert.deepEqual(
      r.sets.map((s) => [s.type, s.elements]),
      [
        ['ipv4_addr . inet_proto . inet_service', ['10.0.0.0/8 . tcp . 80']],
        ['ipv4_addr', ['10.0.0.0/8']],
      ],
    );
    assert.deepEqual(c.slice(0, 2), [`ip daddr @${setOf(r, b[0]).name} return`, `ip daddr . meta l4proto . th dport @${setOf(r, a[0]).name} return`]);
  });

  test('meta nfproto: a class allowing a whole family from anywhere needs no lookup for it, the other family keeps its own', () => {
    const objects = (ingress: readonly Manifest[], egress: readonly Manifest[] = []): Manifest[] => [
      pod('default/a', { ips: ['10.0.0.1', 'fd00::1'], labels: { app: 'a' }, ports: [{ name: 'http', containerPort: 8080 }] }),
      policy('default/a', { podSelector: app('a'), policyTypes: ['Ingress', 'Egress'], ingress, egress }),
    ];
    // All of IPv4 by ipBlock, beside ports and named ports that it covers; IPv6 only on port 80 and, from fd00::/8, the named port.
    const r = compile(
      objects(
        [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }, { from: [{ ipBlock: { cidr: '10.0.0.0/8' } }, { ipBlock: { cidr: 'fd00::/8' } }], ports: [{ port: 'http' }] }, { ports: [{ port: 80 }] }],
        [{ to: [{ ipBlock: { cidr: '0.0.0.0/1' } }, { ipBlock: { cidr: '128.0.0.0/1' } }, { ipBlock: { cidr: '::/0', except: ['fd00::/8'] } }] }],
      ),
    );
    assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
      'meta nfproto ipv4 accept',
      'ip6 saddr . meta l4proto . th dport { ::/0 . tcp . 80 } accept',
      'ip6 daddr . ip6 saddr . meta l4proto . th dport { fd00::1 . fd00::/8 . tcp . 8080 } accept',
    ]);
    // Two halves of the space are the whole of it; egress returns. IPv6 with a hole is a lookup.
    assert.deepEqual(allowRulesFor(r, 'egress', '10.0.0.1'), ['meta nfproto ipv4 return', 'ip6 daddr { ::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, fe00::/7 } return']);
    expectOutcomes(r, 'ingress', [
      [icmp('203.0.113.1', '10.0.0.1'), 'allowed'],
      [tcp('fd00::9', 'fd00::1', 80), 'allowed'],
      [tcp('fd00::9', 'fd00::1', 8080), 'allowed'],
      [tcp('fd00::9', 'fd00::1', 81), 'denied'],
      [tcp('2001:db8::9', 'fd00::1', 8080), 'denied'],
      [icmp('fd00::9', 'fd00::1'), 'denied'],
    ]);
    expectOutcomes(r, 'egress', [
      [udp('10.0.0.1', '255.255.255.255', 53), 'allowed'],
      [udp('fd00::1', 'fd00::53', 53), 'denied'],
      [udp('fd00::1', '2001:db8::53', 53), 'allowed'],
    ]);
    // Only a whole family counts: a /1 short of it is a set.
    const half = compile(objects([{ from: [{ ipBlock: { cidr: '0.0.0.0/1' } }] }]));
    assert.deepEqual(allowRulesFor(half, 'ingress', '10.0.0.1'), ['ip saddr { 0.0.0.0/1 } accept']);
    // Ports on every address are not everything either.
    const allPorts = compile(objects([{ ports: [{ protocol: 'TCP' }, { protocol: 'UDP' }, { protocol: 'SCTP' }] }]));
    assert.deepEqual(allowRulesFor(allPorts, 'ingress', '10.0.0.1'), [
      'ip saddr . meta l4proto . th dport { 0.0.0.0/0 . sctp . 0-65535, 0.0.0.0/0 . tcp . 0-65535, 0.0.0.0/0 . udp . 0-65535 } accept',
      'ip6 saddr . meta l4proto . th dport { ::/0 . sctp . 0-65535, ::/0 . tcp . 0-65535, ::/0 . udp . 0-65535 } accept',
    ]);
    expectOutcomes(allPorts, 'ingress', [[icmp('203.0.113.1', '10.0.0.1'), 'denied']]);
  });

  test('IPv6 classes: an IPv6-only cluster gets ip6 lookups only, with disjoint ranges and named ports per member', () => {
    const r = compile([
      pod('default/web-1', { ips: ['fd00::1'], labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080 }] }),
      pod('default/web-2', { ips: ['fd00::2'], labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 9090 }] }),
      pod('default/client', { ips: ['fd00:1::5'], labels: { app: 'client' } }),
      ingressPolicy('default/web', app('web'), [
        { from: [{ ipBlock: { cidr: 'fd00:2::/32', except: ['fd00:2:1::/48'] } }] },
        { from: [{ ipBlock: { cidr: 'fd00:3::/48' } }], ports: [{ port: 100, endPort: 200 }] },
        { from: [{ ipBlock: { cidr: 'fd00:3::/64' } }, { podSelector: app('client') }], ports: [{ port: 150, endPort: 250 }] },
        { from: [{ podSelector: app('client') }], ports: [{ port: 'http' }] },
      ]),
    ]);
    assert.equal(dispatched(r, 'ingress', 'fd00::1'), dispatched(r, 'ingress', 'fd00::2'), 'one class');
    assert.deepEqual([...map(r, 'ingress4')], []);
    assert.deepEqual([...map(r, 'count-in6')], [
      ['fd00::1', '"in/default/web-1"'],
      ['fd00::2', '"in/default/web-2"'],
    ]);
    assert.deepEqual(allowRulesFor(r, 'ingress', 'fd00::1'), [
      'ip6 saddr { fd00:2::/48, fd00:2:2::-fd00:2:ffff:ffff:ffff:ffff:ffff:ffff } accept',
      'ip6 saddr . meta l4proto . th dport { ' +
        [
          'fd00:3::/48 . tcp . 100-149',
          'fd00:1::5 . tcp . 150-200',
          'fd00:3::/48 . tcp . 150-200',
          'fd00:1::5 . tcp . 201-250',
          'fd00:3::/64 . tcp . 201-250',
        ].join(', ') +
        ' } accept',
      'ip6 daddr . ip6 saddr . meta l4proto . th dport { fd00::1 . fd00:1::5 . tcp . 8080, fd00::2 . fd00:1::5 . tcp . 9090 } accept',
    ]);
    assert.ok(r.sets.every((s) => s.type.startsWith('ipv6_addr')));
    expectOutcomes(r, 'ingress', [
      [icmp('fd00:2::1', 'fd00::1'), 'allowed'],
      [icmp('fd00:2:1::1', 'fd00::1'), 'denied'],
      [icmp('fd00:2:2::1', 'fd00::1'), 'allowed'],
      [tcp('fd00:3:0:1::1', 'fd00::2', 150), 'allowed'],
      [tcp('fd00:3:0:1::1', 'fd00::2', 201), 'denied'],
      [tcp('fd00:3::1', 'fd00::2', 250), 'allowed'],
      [tcp('fd00:1::5', 'fd00::2', 99), 'denied'],
      [tcp('fd00:1::5', 'fd00::2', 150), 'allowed'],
      [tcp('fd00:1::5', 'fd00::1', 8080), 'allowed'],
      [tcp('fd00:1::5', 'fd00::1', 9090), 'denied'],
      [tcp('fd00:1::5', 'fd00::2', 9090), 'allowed'],
      [tcp('fd00:1::6', 'fd00::2', 9090), 'denied'],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// At random: the ruleset allows exactly what the engine allows

describe('the ruleset decides as the engine does (random rules, packets on every boundary)', () => {
  const CLIENTS = [
    { name: 'c0', ip: '10.0.0.3', role: 'c0', http: 5 },
    { name: 'c1', ip: '10.0.0.17', role: 'c1', http: 12 },
    { name: 'c2', ip: '10.0.0.40', role: 'c0', http: 19 },
    { name: 'c3', ip: '10.0.0.63', role: 'c1', http: 26 },
  ];
  const SERVERS = [
    { name: 's0', ip: '10.0.1.1', ports: [{ name: 'http', containerPort: 10 }, { name: 'dns', containerPort: 12, protocol: 'UDP' }] },
    { name: 's1', ip: '10.0.1.2', ports: [{ name: 'http', containerPort: 20 }, { name: 'dns', containerPort: 12, protocol: 'SCTP' }] },
  ];
  const protocolArb = fc.constantFrom('TCP', 'UDP', 'SCTP');
  const blockArb = fc
    .record({ prefix: fc.integer({ min: 25, max: 32 }), offset: fc.integer({ min: 0, max: 127 }), hole: fc.option(fc.record({ extra: fc.integer({ min: 1, max: 4 }), at: fc.nat(127) }), { nil: undefined }) })
    .map(({ prefix, offset, hole }) => {
      const size = 2 ** (32 - prefix);
      const base = offset - (offset % size);
      const block: { cidr: string; except?: string[] } = { cidr: `10.0.0.${base}/${prefix}` };
      if (hole && prefix + hole.extra <= 32) {
        const holeSize = 2 ** (32 - prefix - hole.extra);
        const at = base + (hole.at % size);
        block.except = [`10.0.0.${at - (at % holeSize)}/${prefix + hole.extra}`];
      }
      return block;
    });
  const peerArb = fc.oneof(
    blockArb.map((ipBlock) => ({ ipBlock })),
    fc.constantFrom<Manifest>({ ipBlock: { cidr: '10.0.1.0/30' } }, { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.64/26'] } }, { ipBlock: { cidr: '0.0.0.0/0' } }),
    fc.constantFrom<Manifest>({ podSelector: { matchLabels: { role: 'c0' } } }, { podSelector: { matchLabels: { role: 'c1' } } }, { podSelector: { matchLabels: { role: 'server' } } }, { podSelector: {} }),
  );
  const portArb = fc.oneof(
    fc.record({ protocol: protocolArb, port: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ protocol: protocolArb, port: fc.integer({ min: 1, max: 40 }), len: fc.integer({ min: 0, max: 15 }) }).map(({ protocol, port, len }) => ({ protocol, port, endPort: Math.min(40, port + len) })),
    fc.record({ protocol: protocolArb }),
    fc.record({ protocol: protocolArb, port: fc.constantFrom('http', 'dns') }),
  );
  const ruleArb = fc.record({
    peers: fc.option(fc.array(peerArb, { minLength: 1, maxLength: 3 }), { nil: undefined, freq: 4 }),
    ports: fc.option(fc.array(portArb, { minLength: 1, maxLength: 3 }), { nil: undefined, freq: 3 }),
  });
  const policiesArb = fc.array(fc.record({ ingress: fc.array(ruleArb, { maxLength: 4 }), egress: fc.array(ruleArb, { maxLength: 4 }) }), { minLength: 1, maxLength: 2 });

  type GenRule = { peers?: Manifest[]; ports?: Manifest[] };
  const manifests = (policies: { ingress: GenRule[]; egress: GenRule[] }[]): Manifest[] => [
    ...CLIENTS.map((c) => pod(`default/${c.name}`, { ips: [c.ip], labels: { role: c.role }, ports: [{ name: 'http', containerPort: c.http }] })),
    ...SERVERS.map((s) => pod(`default/${s.name}`, { ips: [s.ip], labels: { role: 'server' }, ports: s.ports })),
    ...policies.map((p, i) =>
      policy(`default/p${i}`, {
        podSelector: { matchLabels: { role: 'server' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: p.ingress.map((r) => ({ ...(r.peers ? { from: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) })),
        egress: p.egress.map((r) => ({ ...(r.peers ? { to: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) })),
      }),
    ),
  ];

  /** Addresses on both sides of every boundary the rules draw, and every pod's. */
  const samples = (objects: readonly Manifest[]): { addresses: string[]; ports: number[] } => {
    const addresses = new Set<number>([0, 127, 128, 255, 256, 257, 258, 259, 260]);
    const ports = new Set<number>([0, 1, 40, 41, 65535]);
    const json = JSON.stringify(objects);
    for (const m of json.matchAll(/10\.0\.0\.(\d+)\/(\d+)/g)) {
      const first = Number(m[1]);
      const last = first + 2 ** (32 - Number(m[2])) - 1;
      for (const a of [first - 1, first, last, last + 1]) if (a >= 0) addresses.add(a);
    }
    for (const m of json.matchAll(/"(?:port|endPort|containerPort)":(\d+)/g)) for (const p of [Number(m[1]) - 1, Number(m[1]), Number(m[1]) + 1]) ports.add(p);
    for (const c of CLIENTS) addresses.add(Number(c.ip.split('.')[3]));
    const text = (a: number): string => `10.0.${a >> 8}.${a & 255}`;
    return { addresses: [...addresses].sort((a, b) => a - b).map(text).concat(['11.0.0.1', '192.0.2.1']), ports: [...ports].sort((a, b) => a - b) };
  };

  test('ingress and egress of a class of two servers, every sampled (address, protocol, port)', () => {
    fc.assert(
      fc.property(policiesArb, (policies) => {
        const objects = manifests(policies);
        const compiled = cluster(objects);
        const r = compileRuleset(compiled);
        checkInvariants(r);
        const endpointAt = new Map(compiled.cluster.endpoints.map((e) => [e.ips[0], e]));
        const { addresses, ports } = samples(objects);
        const mismatches: string[] = [];
        for (const server of SERVERS) {
          const self = endpointAt.get(server.ip)!;
          for (const other of addresses) {
            const peer = endpointAt.get(other);
            const otherSide = peer ? { kind: 'endpoint' as const, endpoint: peer } : { kind: 'external' as const, ip: other };
            for (const protocol of ['TCP', 'UDP', 'SCTP'] as const) {
              for (const port of ports) {
                const proto = protocol.toLowerCase() as Packet['proto'];
                const inVerdict = evaluateConnection(compiled, { source: otherSide, destination: { kind: 'endpoint', endpoint: self }, port, protocol });
                const inJudged = judge(r, 'ingress', { src: other, dst: server.ip, proto, port });
                if ((inJudged === 'allowed') !== inVerdict.ingress.allowed) mismatches.push(`ingress ${other} -> ${server.ip} ${proto}/${port}: nft ${inJudged}, engine ${inVerdict.ingress.allowed}`);
                const egVerdict = evaluateConnection(compiled, { source: { kind: 'endpoint', endpoint: self }, destination: otherSide, port, protocol });
                const egJudged = judge(r, 'egress', { src: server.ip, dst: other, proto, port });
                if ((egJudged === 'allowed') !== egVerdict.egress.allowed) mismatches.push(`egress ${server.ip} -> ${other} ${proto}/${port}: nft ${egJudged}, engine ${egVerdict.egress.allowed}`);
              }
            }
          }
        }
        assert.deepEqual(mismatches.slice(0, 10), [], renderReplaceScript(r));
      }),
      { numRuns: 40 },
    );
  });
});


// ---------------------------------------------------------------------------------------------
// Admin tiers: AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy (policy.networking.k8s.io)

const selector = (matchLabels: Record<string, string> = {}): LabelSelector => ({ matchLabels, matchExpressions: [] });
const inNamespaces = (labels: Record<string, string> = {}): AdminPeer => ({ kind: 'namespaces', namespaces: selector(labels) });
const podsIn = (namespaceLabels: Record<string, string>, podLabels: Record<string, string>): AdminPeer => ({
  kind: 'pods',
  pods: { namespaceSelector: selector(namespaceLabels), podSelector: selector(podLabels) },
});
const rule = (action: AdminRule['action'], peers: readonly AdminPeer[], ports?: readonly AdminPort[], name?: string): AdminRule => ({ action, peers, ports, name });

interface AdminSpec {
  readonly subject: AdminSubject;
  readonly ingress?: readonly AdminRule[];
  readonly egress?: readonly AdminRule[];
}
/** An AdminNetworkPolicy (v1alpha1, Admin tier) at `priority`. */
const anp = (name: string, priority: number, spec: AdminSpec): AdminPolicy => ({
  kind: 'AdminNetworkPolicy',
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  name,
  tier: 'Admin',
  priority,
  subject: spec.subject,
  ingress: spec.ingress ?? [],
  egress: spec.egress ?? [],
});
/** The BaselineAdminNetworkPolicy `default`. */
const banp = (spec: AdminSpec): AdminPolicy => ({ ...anp('default', 0, spec), kind: 'BaselineAdminNetworkPolicy', tier: 'Baseline', priority: undefined });
/** A ClusterNetworkPolicy (v1alpha2) of either tier. */
const cnp = (name: string, tier: AdminTier, priority: number, spec: AdminSpec): AdminPolicy => ({
  ...anp(name, priority, spec),
  kind: 'ClusterNetworkPolicy',
  apiVersion: 'policy.networking.k8s.io/v1alpha2',
  tier,
});
const namespacesSubject = (labels: Record<string, string> = {}): AdminSubject => ({ namespaces: selector(labels) });
const podsSubject = (namespaceLabels: Record<string, string>, podLabels: Record<string, string>): AdminSubject => ({
  pods: { namespaceSelector: selector(namespaceLabels), podSelector: selector(podLabels) },
});

/** Manifests (pods, namespaces, NetworkPolicies) with admin policies and nodes added to the loaded cluster. */
function tieredCluster(objects: readonly Manifest[], adminPolicies: readonly AdminPolicy[], nodes: readonly Node[] = []): CompiledCluster {
  const built = loadTexts([{ file: 'test.yaml', text: text(objects) }]);
  assert.ok(built.cluster, built.diagnostics.map(formatDiagnostic).join('\n'));
  return compileCluster({ ...built.cluster, adminPolicies, nodes });
}
function compileTiers(objects: readonly Manifest[], adminPolicies: readonly AdminPolicy[], options?: DataplaneOptions & { nodes?: readonly Node[] }): Ruleset {
  const r = compileRuleset(tieredCluster(objects, adminPolicies, options?.nodes), options);
  checkInvariants(r);
  return r;
}

/** Whole connections through the forward hook, judged and compared all at once. */
function expectConnections(r: Ruleset, expected: readonly [Packet, 'allowed' | 'denied'][]): void {
  const show = (p: Packet): string => `${p.src} -> ${p.dst} ${p.proto}${p.port !== undefined ? `/${p.port}` : ''}`;
  assert.deepEqual(
    expected.map(([p]) => `${show(p)}: ${judgeConnection(r, p)}`),
    expected.map(([p, o]) => `${show(p)}: ${o}`),
  );
}

// Two teams' namespaces; web and db in team a, a client in team b, a monitoring pod in team m.
const TEAMS: readonly Manifest[] = [
  namespace('a', { team: 'a' }),
  namespace('b', { team: 'b' }),
  namespace('m', { team: 'm' }),
  pod('a/web', { ips: ['10.0.0.1', 'fd00::1'], labels: { app: 'web' }, ports: [{ name: 'http', containerPort: 8080 }] }),
  pod('a/db', {
    ips: ['10.0.0.2', 'fd00::2'],
    labels: { app: 'db' },
    ports: [{ name: 'sql', containerPort: 5432 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'stream', containerPort: 9000, protocol: 'SCTP' }],
  }),
  pod('b/client', { ips: ['10.0.1.1', 'fd00:1::1'], labels: { app: 'client' } }),
  pod('b/other', { ips: ['10.0.1.2', 'fd00:1::2'], labels: { app: 'other' } }),
  pod('m/prometheus', { ips: ['10.0.2.1', 'fd00:2::1'], labels: { app: 'prometheus' } }),
];
const WEB = '10.0.0.1';
const DB = '10.0.0.2';
const CLIENT = '10.0.1.1';
const OTHER = '10.0.1.2';
const PROMETHEUS = '10.0.2.1';
/** NetworkPolicy: db takes anything from anyone (isolated, but every rule allows). */
const dbOpen = ingressPolicy('a/db-open', app('db'), [{}]);
/** NetworkPolicy: db takes 5432 from the client only. */
const dbFromClient = ingressPolicy('a/db-from-client', app('db'), [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: app('client') }], ports: [{ port: 5432 }] }]);

interface TierCase {
  readonly name: string;
  readonly objects: readonly Manifest[];
  readonly admin: readonly AdminPolicy[];
  readonly nodes?: readonly Node[];
  readonly options?: DataplaneOptions;
  readonly connections: readonly [Packet, 'allowed' | 'denied'][];
  readonly check?: (r: Ruleset) => void;
}

const TIER_CASES: readonly TierCase[] = [
  {
    name: 'an admin Deny beats a NetworkPolicy allow: the Admin stage comes first and refuses, counted in the pod\'s counter',
    objects: [...TEAMS, dbOpen],
    admin: [anp('deny-b-to-a', 10, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [inNamespaces({ team: 'b' })])] })],
    connections: [
      [tcp(CLIENT, DB, 5432), 'denied'],
      [udp(CLIENT, DB, 53), 'denied'],
      [tcp(WEB, DB, 5432), 'allowed'],
      [tcp(PROMETHEUS, DB, 5432), 'allowed'],
      [tcp(CLIENT, WEB, 8080), 'denied'],
      [tcp('fd00:1::1', 'fd00::2', 5432), 'denied'],
      [tcp('fd00::1', 'fd00::2', 5432), 'allowed'],
    ],
    check: (r) => {
      const db = dispatched(r, 'ingress', DB)!;
      assert.deepEqual(
        chain(r, db).map((rule) => expand(r, rule)),
        [
          'ip saddr { 10.0.1.1-10.0.1.2 } goto in-deny comment "Admin deny"',
          'ip6 saddr { fd00:1::1-fd00:1::2 } goto in-deny comment "Admin deny"',
          'meta nfproto ipv4 accept comment "NetworkPolicy allow"',
          'meta nfproto ipv6 accept comment "NetworkPolicy allow"',
          ...DENY_TAIL.in,
        ],
      );
      assert.deepEqual(chain(r, 'in-deny'), DENY_TAIL.in);
      assert.equal(counterOf(r, 'in', DB), 'in/a/db');
      assert.equal(counterOf(r, 'in', WEB), 'in/a/web', 'a pod only an admin policy selects is counted too');
      assert.equal(dispatched(r, 'ingress', CLIENT), undefined, 'no policy selects the client: not dispatched');
    },
  },
  {
    name: "an admin egress Accept lets the source's side through (return), and the destination's ingress still decides",
    objects: [...TEAMS, egressPolicy('a/web-no-egress', app('web'), []), dbFromClient],
    admin: [anp('web-may-call-a', 10, { subject: podsSubject({ team: 'a' }, { app: 'web' }), egress: [rule('Accept', [inNamespaces({ team: 'a' })])] })],
    connections: [
      [tcp(WEB, DB, 5432), 'denied'], // web's egress: admin Accept; db's ingress: only from the client
      [tcp(CLIENT, DB, 5432), 'allowed'],
      [tcp(WEB, CLIENT, 80), 'denied'], // not accepted by the admin rule: web's NetworkPolicy denies all egress
    ],
    check: (r) => {
      assert.deepEqual(judge(r, 'egress', tcp(WEB, DB, 5432)), 'allowed');
      const web = dispatched(r, 'egress', WEB)!;
      assert.ok(
        chain(r, web).every((rule) => !/\baccept\b/.test(rule.replace(/comment "[^"]*"/, ''))),
        'an egress chain never accepts: that would skip the destination\'s ingress',
      );
      assert.deepEqual(chain(r, web).slice(0, 2).map((rule) => expand(r, rule)), ['ip daddr { 10.0.0.1-10.0.0.2 } return comment "Admin accept"', 'ip6 daddr { fd00::1-fd00::2 } return comment "Admin accept"']);
    },
  },
  {
    name: 'an admin Accept on ingress decides for that side: the NetworkPolicy isolating the pod is not consulted',
    objects: [...TEAMS, dbFromClient],
    admin: [anp('monitoring', 1, { subject: namespacesSubject(), ingress: [rule('Allow', [inNamespaces({ team: 'm' })], [{ kind: 'number', protocol: 'TCP', port: 9090 }])] })],
    connections: [
      [tcp(PROMETHEUS, DB, 9090), 'allowed'],
      [tcp(PROMETHEUS, DB, 5432), 'denied'],
      [tcp(CLIENT, DB, 5432), 'allowed'],
      [tcp(PROMETHEUS, WEB, 9090), 'allowed'],
    ],
  },
  {
    name: 'an admin Pass skips the rest of the Admin tier to NetworkPolicy (a goto to the NetworkPolicy stage)',
    objects: [...TEAMS, dbFromClient],
    admin: [
      anp('pass-client', 1, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Pass', [podsIn({ team: 'b' }, { app: 'client' })])] }),
      anp('deny-b', 2, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [inNamespaces({ team: 'b' })])] }),
    ],
    connections: [
      [tcp(CLIENT, DB, 5432), 'allowed'], // passed, then db's NetworkPolicy allows it
      [tcp(CLIENT, DB, 5433), 'denied'], // passed, then db's NetworkPolicy denies it
      [tcp(OTHER, DB, 5432), 'denied'], // not passed: the priority-2 Deny
      [tcp(CLIENT, WEB, 8080), 'allowed'], // passed; web is not isolated: default allow
      [tcp(OTHER, WEB, 8080), 'denied'],
    ],
    check: (r) => {
      const db = dispatched(r, 'ingress', DB)!;
      assert.equal(chain(r, db).at(-1), `goto ${db}-np`);
      assert.deepEqual(chain(r, db).map((rule) => expand(r, rule)).slice(0, 4), [
        `ip saddr { 10.0.1.1 } goto ${db}-np comment "Admin pass"`,
        `ip6 saddr { fd00:1::1 } goto ${db}-np comment "Admin pass"`,
        'ip saddr { 10.0.1.1-10.0.1.2 } goto in-deny comment "Admin deny"',
        'ip6 saddr { fd00:1::1-fd00:1::2 } goto in-deny comment "Admin deny"',
      ]);
      assert.deepEqual(chain(r, `${db}-np`).slice(-4), DENY_TAIL.in);
      // web has nothing after the Admin tier: its Pass is an accept.
      const web = dispatched(r, 'ingress', WEB)!;
      assert.deepEqual(chain(r, web).slice(0, 1).map((rule) => expand(r, rule)), ['ip saddr { 10.0.1.1 } accept comment "Admin accept"']);
    },
  },
  {
    name: 'the baseline tier applies only where NetworkPolicy does not isolate the pod',
    objects: [...TEAMS, dbFromClient],
    admin: [banp({ subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [inNamespaces()])] })],
    connections: [
      [tcp(CLIENT, DB, 5432), 'allowed'], // db is isolated: NetworkPolicy decides, the baseline is not reached
      [tcp(CLIENT, WEB, 8080), 'denied'], // web is not: the baseline denies
      [tcp('192.0.2.1', WEB, 8080), 'allowed'], // namespaces peers never match outside addresses
      [tcp(WEB, CLIENT, 80), 'allowed'], // the client is not a subject
    ],
    check: (r) => {
      const db = dispatched(r, 'ingress', DB)!;
      assert.ok(chain(r, db).every((rule) => !rule.includes('Baseline')), "db's chain has no baseline stage");
    },
  },
  {
    name: 'baseline rules: first match decides, a Pass (ClusterNetworkPolicy) means allowed, Baseline ClusterNetworkPolicies before the BaselineAdminNetworkPolicy',
    objects: TEAMS,
    admin: [
      banp({ subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [inNamespaces()])] }),
      cnp('baseline-pass-monitoring', 'Baseline', 5, { subject: namespacesSubject(), ingress: [rule('Pass', [inNamespaces({ team: 'm' })])] }),
      cnp('baseline-accept-client', 'Baseline', 6, { subject: namespacesSubject(), ingress: [rule('Accept', [podsIn({ team: 'b' }, { app: 'client' })])] }),
    ],
    connections: [
      [tcp(PROMETHEUS, DB, 1), 'allowed'],
      [tcp(CLIENT, DB, 1), 'allowed'],
      [tcp(OTHER, DB, 1), 'denied'],
      [tcp(WEB, DB, 1), 'denied'],
      [tcp(WEB, CLIENT, 1), 'allowed'], // b's pods: only the allow rules select them, so they are not dispatched
    ],
    check: (r) => assert.equal(dispatched(r, 'ingress', CLIENT), undefined, 'a stage that only lets traffic through needs no chain'),
  },
  {
    name: 'admin policies are evaluated by priority (lower first), whatever their order in the input',
    objects: TEAMS,
    admin: [
      anp('z-accept-late', 50, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Allow', [inNamespaces({ team: 'b' })])] }),
      anp('a-deny-early', 5, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [podsIn({ team: 'b' }, { app: 'client' })])] }),
      cnp('accept-other', 'Admin', 1, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Accept', [podsIn({ team: 'b' }, { app: 'other' })])] }),
    ],
    connections: [
      [tcp(CLIENT, DB, 80), 'denied'],
      [tcp(OTHER, DB, 80), 'allowed'],
    ],
  },
  {
    name: 'equal priorities (left undefined upstream) follow Podwall\'s stable order: kind, then name',
    objects: TEAMS,
    admin: [
      cnp('a-accept', 'Admin', 3, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Accept', [inNamespaces({ team: 'b' })])] }),
      anp('z-deny', 3, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [inNamespaces({ team: 'b' })])] }),
      anp('b-accept', 3, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Allow', [podsIn({ team: 'b' }, { app: 'other' })])] }),
    ],
    connections: [
      [tcp(CLIENT, DB, 80), 'denied'], // z-deny (an AdminNetworkPolicy) before a-accept (a ClusterNetworkPolicy)
      [tcp(OTHER, DB, 80), 'allowed'], // b-accept before z-deny
    ],
  },
  {
    name: "within a policy, rules are evaluated in written order: the first rule whose peers and ports match decides",
    objects: TEAMS,
    admin: [
      anp('ordered', 1, {
        subject: namespacesSubject({ team: 'a' }),
        ingress: [
          rule('Allow', [podsIn({ team: 'b' }, { app: 'client' })], [{ kind: 'number', protocol: 'TCP', port: 5432 }], 'client-sql'),
          rule('Deny', [inNamespaces({ team: 'b' })], undefined, 'no-b'),
          rule('Allow', [inNamespaces()], undefined, 'shadowed'),
        ],
      }),
    ],
    connections: [
      [tcp(CLIENT, DB, 5432), 'allowed'],
      [tcp(CLIENT, DB, 5433), 'denied'],
      [tcp(OTHER, DB, 5432), 'denied'],
      [tcp(PROMETHEUS, DB, 5432), 'allowed'],
    ],
  },
  {
    name: 'adjacent rules with one outcome are one lookup of their union: rules grow with runs of outcomes, not rules',
    objects: TEAMS,
    admin: [
      anp('deny-many', 1, {
        subject: namespacesSubject({ team: 'a' }),
        ingress: Array.from({ length: 30 }, (_, i) => rule('Deny', [{ kind: 'networks', networks: [`192.0.${i}.0/24`] }], [{ kind: 'number', protocol: 'TCP', port: 1000 + i }])),
      }),
      anp('deny-more', 2, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [inNamespaces({ team: 'b' })])] }),
    ],
    connections: [
      [tcp('192.0.7.9', DB, 1007), 'denied'],
      [tcp('192.0.7.9', DB, 1008), 'allowed'],
      [tcp(CLIENT, DB, 1), 'denied'],
    ],
    check: (r) => {
      const db = dispatched(r, 'ingress', DB)!;
      // Two policies, 31 Deny rules: one stage, one lookup per kind and family (IPv4: pods, then
      // networks with ports; IPv6: pods), and no tail: db is not isolated.
      assert.equal(chain(r, db).length, 3);
    },
  },
  {
    name: 'networks peers match outside addresses and pod addresses alike, with their own family',
    objects: TEAMS,
    admin: [
      anp('no-docs-net', 1, {
        subject: podsSubject({ team: 'a' }, { app: 'web' }),
        egress: [rule('Deny', [{ kind: 'networks', networks: ['192.0.2.0/24', '10.0.0.2/32', 'fd00::2/128'] }])],
      }),
    ],
    connections: [
      [tcp(WEB, '192.0.2.7', 443), 'denied'],
      [tcp(WEB, '198.51.100.7', 443), 'allowed'],
      [tcp(WEB, DB, 5432), 'denied'],
      [tcp('fd00::1', 'fd00::2', 5432), 'denied'],
      [tcp('fd00::1', 'fd00:1::1', 5432), 'allowed'],
      [tcp(WEB, CLIENT, 5432), 'allowed'],
    ],
  },
  {
    name: 'nodes peers match the addresses of the nodes the selector matches',
    objects: TEAMS,
    nodes: [
      { name: 'control', labels: { 'node-role.kubernetes.io/control-plane': '' }, addresses: ['172.16.0.1', 'fd16::1'] },
      { name: 'worker', labels: {}, addresses: ['172.16.0.2'] },
    ],
    admin: [
      cnp('no-control-plane', 'Admin', 1, { subject: namespacesSubject(), egress: [rule('Deny', [{ kind: 'nodes', nodes: selector({ 'node-role.kubernetes.io/control-plane': '' }) }])] }),
    ],
    connections: [
      [tcp(WEB, '172.16.0.1', 6443), 'denied'],
      [tcp('fd00::1', 'fd16::1', 6443), 'denied'],
      [tcp(WEB, '172.16.0.2', 10250), 'allowed'],
    ],
  },
  {
    name: 'named ports resolve per destination pod with the container port\'s own protocol (ingress and egress)',
    objects: TEAMS,
    admin: [
      anp('named-in', 1, { subject: podsSubject({ team: 'a' }, { app: 'db' }), ingress: [rule('Deny', [inNamespaces({ team: 'b' })], [{ kind: 'named', name: 'dns' }, { kind: 'named', name: 'sql' }])] }),
      anp('named-out', 2, { subject: podsSubject({ team: 'a' }, { app: 'web' }), egress: [rule('Deny', [inNamespaces({ team: 'a' })], [{ kind: 'named', name: 'stream' }])] }),
    ],
    connections: [
      [udp(CLIENT, DB, 53), 'denied'],
      [tcp(CLIENT, DB, 53), 'allowed'], // dns is a UDP port
      [tcp(CLIENT, DB, 5432), 'denied'],
      [udp(CLIENT, DB, 5432), 'allowed'],
      [sctp(WEB, DB, 9000), 'denied'],
      [tcp(WEB, DB, 9000), 'allowed'],
      [sctp(WEB, '192.0.2.1', 9000), 'allowed'], // a named port never matches outside the cluster
    ],
  },
  {
    name: 'port numbers and ranges of TCP, UDP and SCTP',
    objects: TEAMS,
    admin: [
      cnp('ports', 'Admin', 1, {
        subject: podsSubject({ team: 'a' }, { app: 'db' }),
        ingress: [
          rule('Deny', [inNamespaces()], [
            { kind: 'range', protocol: 'TCP', start: 1000, end: 2000 },
            { kind: 'number', protocol: 'UDP', port: 53 },
            { kind: 'range', protocol: 'SCTP', start: 9000, end: 9001 },
          ]),
        ],
      }),
    ],
    connections: [
      [tcp(WEB, DB, 999), 'allowed'],
      [tcp(WEB, DB, 1000), 'denied'],
      [tcp(WEB, DB, 2000), 'denied'],
      [tcp(WEB, DB, 2001), 'allowed'],
      [udp(WEB, DB, 1500), 'allowed'],
      [udp(WEB, DB, 53), 'denied'],
      [sctp(WEB, DB, 9001), 'denied'],
      [sctp(WEB, DB, 9002), 'allowed'],
    ],
  },
  {
    name: 'host-network pods are never subjects nor matched by namespaces or pods peers (a networks peer matches their address)',
    objects: [...TEAMS, pod('a/node-agent', { ips: ['172.16.0.5'], labels: { app: 'agent' }, hostNetwork: true })],
    admin: [
      anp('deny-a', 1, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [inNamespaces({ team: 'a' })])] }),
      anp('deny-net', 2, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [{ kind: 'networks', networks: ['172.16.0.5/32'] }], [{ kind: 'number', protocol: 'TCP', port: 22 }])] }),
    ],
    connections: [
      [tcp('172.16.0.5', DB, 5432), 'allowed'],
      [tcp('172.16.0.5', DB, 22), 'denied'],
      [tcp(WEB, DB, 5432), 'denied'],
      [tcp(DB, '172.16.0.5', 5432), 'allowed'],
    ],
    check: (r) => assert.equal(dispatched(r, 'ingress', '172.16.0.5'), undefined),
  },
  {
    name: 'a pod reaching itself through a Service (source = destination after DNAT) is subject to the admin tier',
    objects: TEAMS,
    admin: [anp('no-a-to-a', 1, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [inNamespaces({ team: 'a' })])] })],
    connections: [
      [tcp(DB, DB, 5432), 'denied'],
      [tcp(WEB, DB, 5432), 'denied'],
      [tcp(CLIENT, DB, 5432), 'allowed'],
    ],
  },
  {
    name: 'pods under the same admin, NetworkPolicy and baseline policies share one chain; other memberships get their own',
    objects: [
      ...TEAMS,
      ...Array.from({ length: 20 }, (_, i) => pod(`a/web-${i}`, { ips: [`10.0.3.${i + 1}`], labels: { app: 'web' } })),
    ],
    admin: [
      anp('deny-b', 1, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [inNamespaces({ team: 'b' })])] }),
      anp('deny-b-to-db', 2, { subject: podsSubject({ team: 'a' }, { app: 'db' }), ingress: [rule('Deny', [inNamespaces({ team: 'm' })])] }),
    ],
    connections: [
      [tcp(PROMETHEUS, '10.0.3.7', 80), 'allowed'],
      [tcp(PROMETHEUS, DB, 80), 'denied'],
      [tcp(CLIENT, '10.0.3.7', 80), 'denied'],
    ],
    check: (r) => {
      const webs = new Set([WEB, ...Array.from({ length: 20 }, (_, i) => `10.0.3.${i + 1}`)].map((ip) => dispatched(r, 'ingress', ip)));
      assert.equal(webs.size, 1, 'twenty-one web pods, one chain');
      assert.notEqual(dispatched(r, 'ingress', DB), [...webs][0]);
      assert.equal(map(r, 'count-in4').size, 22, 'every pod keeps its own counter');
    },
  },
  {
    name: "a pod no admin or baseline policy selects keeps today's NetworkPolicy chain, uncommented",
    objects: [...TEAMS, dbFromClient],
    admin: [anp('only-b', 1, { subject: namespacesSubject({ team: 'b' }), egress: [rule('Deny', [inNamespaces({ team: 'm' })])] })],
    connections: [
      [tcp(CLIENT, DB, 5432), 'allowed'],
      [tcp(CLIENT, PROMETHEUS, 80), 'denied'],
    ],
    check: (r) => {
      const plain = compile([...TEAMS, dbFromClient]);
      assert.deepEqual(chain(r, dispatched(r, 'ingress', DB)!).map((rule) => expand(r, rule)), chain(plain, dispatched(plain, 'ingress', DB)!).map((rule) => expand(plain, rule)));
    },
  },
  {
    name: "logging: an admin denial goes through the pod's log chain like a NetworkPolicy denial",
    objects: TEAMS,
    admin: [anp('deny-b', 1, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [inNamespaces({ team: 'b' })])] })],
    options: { log: true },
    connections: [[tcp(CLIENT, DB, 80), 'denied']],
    check: (r) => {
      assert.deepEqual(chain(r, 'in-deny'), LOG_TAIL.in);
      assert.ok(map(r, 'log-in4').get(DB)?.startsWith('jump log-in-'));
    },
  },
  {
    name: 'a shared address as a peer is refused by an admin Deny that matches any claimant, and let through by an Accept only when it matches every one',
    objects: [
      ...TEAMS,
      pod('b/twin', { ips: ['10.0.9.9'], labels: { app: 'client' } }),
      pod('m/twin', { ips: ['10.0.9.9'], labels: { app: 'prometheus' } }),
    ],
    admin: [
      anp('accept-m', 1, { subject: podsSubject({ team: 'a' }, { app: 'db' }), ingress: [rule('Accept', [inNamespaces({ team: 'm' })])] }),
      anp('deny-b', 2, { subject: namespacesSubject({ team: 'a' }), ingress: [rule('Deny', [inNamespaces({ team: 'b' })])] }),
    ],
    // The twins run elsewhere: here the address is only a peer (a local claimant would be refused outright).
    options: { isLocal: (e) => !e.name.includes('twin') },
    connections: [
      [tcp('10.0.9.9', DB, 80), 'denied'], // m/twin would be accepted, b/twin denied: the packet cannot tell them apart
      [tcp('10.0.9.9', WEB, 80), 'denied'],
      [tcp(PROMETHEUS, DB, 80), 'allowed'],
    ],
  },
];

describe('compileRuleset with admin tiers', () => {
  for (const c of TIER_CASES) {
    test(c.name, () => {
      const r = compileTiers(c.objects, c.admin, { ...c.options, nodes: c.nodes });
      expectConnections(r, c.connections);
      c.check?.(r);
    });
  }

  test('with no admin policies the ruleset is byte for byte what it was (an empty list changes nothing either)', () => {
    const objects = [...TEAMS, dbFromClient, egressPolicy('a/web-no-egress', app('web'), [])];
    const without = renderReplaceScript(compile(objects));
    assert.equal(renderReplaceScript(compileTiers(objects, [])), without);
    // Admin policies that select no pod, or have no rules, change nothing either.
    assert.equal(renderReplaceScript(compileTiers(objects, [anp('nobody', 1, { subject: namespacesSubject({ team: 'nobody' }), ingress: [rule('Deny', [inNamespaces()])] }), anp('empty', 2, { subject: namespacesSubject() })])), without);
  });
});

describe('with admin tiers, the ruleset decides as the engine does (random clusters, every pair, port and protocol)', () => {
  test('each side of every connection: the judged chain against evaluateConnection (a pod to itself through a Service included)', () => {
    const seen = { allowed: 0, denied: 0, Admin: 0, NetworkPolicy: 0, Baseline: 0, Default: 0 };
    fc.assert(
      fc.property(tierInputArb, (input) => {
        const compiled = tierCluster(input);
        const r = compileRuleset(compiled);
        checkInvariants(r);
        const endpoints = new Map(compiled.cluster.endpoints.map((e) => [e.ips[0], e]));
        const peers = [...TIER_PODS.map((p) => p.ip), OUTSIDE];
        const as = (ip: string): TrafficPeer => (endpoints.has(ip) ? { kind: 'endpoint', endpoint: endpoints.get(ip)! } : { kind: 'external', ip });
        const mismatches: string[] = [];
        for (const src of peers) {
          for (const dst of peers) {
            if (src === OUTSIDE && dst === OUTSIDE) continue;
            for (const protocol of ['TCP', 'UDP', 'SCTP'] as const) {
              for (const port of TIER_PORTS) {
                // A pod reaches its own address through the forward hook only through a Service (DNAT).
                const verdict = evaluateConnection(compiled, { source: as(src), destination: as(dst), port, protocol, viaService: src === dst });
                const packet: Packet = { src, dst, proto: protocol.toLowerCase() as Packet['proto'], port };
                const egress = judge(r, 'egress', packet) !== 'denied';
                const ingress = judge(r, 'ingress', packet) !== 'denied';
                seen[verdict.egress.tier] += 1;
                seen[verdict.ingress.tier] += 1;
                seen[egress && ingress ? 'allowed' : 'denied'] += 1;
                if (egress !== verdict.egress.allowed) mismatches.push(`egress ${src} -> ${dst} ${protocol}/${port}: nft ${egress}, engine ${verdict.egress.allowed}`);
                if (ingress !== verdict.ingress.allowed) mismatches.push(`ingress ${src} -> ${dst} ${protocol}/${port}: nft ${ingress}, engine ${verdict.ingress.allowed}`);
              }
            }
          }
        }
        assert.deepEqual(mismatches.slice(0, 10), [], renderReplaceScript(r));
      }),
      { numRuns: 150 },
    );
    // Not vacuous: every tier decided sides, and connections went both ways.
    for (const [what, n] of Object.entries(seen)) assert.ok(n > 1000, `${what}: ${n} (${JSON.stringify(seen)})`);
  });
});

describe('an admin Pass for everything decides nothing in the ruleset', () => {
  test('with a priority-0 Pass-all admin policy, every side of every connection is judged as without the Admin tier', () => {
    const passAll: AdminPolicy = anp('pass-all', 0, { subject: namespacesSubject(), ingress: [rule('Pass', [inNamespaces(), { kind: 'networks', networks: ['0.0.0.0/0'] }])], egress: [rule('Pass', [inNamespaces(), { kind: 'networks', networks: ['0.0.0.0/0'] }])] });
    fc.assert(
      fc.property(tierInputArb, (input) => {
        const baselineOnly = input.admin.filter((p) => p.tier === 'Baseline');
        const passed = compileRuleset(tierCluster({ ...input, admin: [passAll, ...input.admin] }));
        const reference = compileRuleset(tierCluster({ ...input, admin: baselineOnly }));
        checkInvariants(passed);
        const peers = [...TIER_PODS.map((p) => p.ip), OUTSIDE];
        const differences: string[] = [];
        for (const src of peers) {
          for (const dst of peers) {
            for (const proto of ['tcp', 'udp', 'sctp'] as const) {
              for (const port of TIER_PORTS) {
                const packet: Packet = { src, dst, proto, port };
                for (const direction of ['egress', 'ingress'] as const) {
                  const [a, b] = [judge(passed, direction, packet) === 'denied', judge(reference, direction, packet) === 'denied'];
                  if (a !== b) differences.push(`${direction} ${src} -> ${dst} ${proto}/${port}: ${a ? 'denied' : 'allowed'} with the Pass, ${b ? 'denied' : 'allowed'} without the Admin tier`);
                }
              }
            }
          }
        }
        assert.deepEqual(differences.slice(0, 10), []);
      }),
      { numRuns: 60 },
    );
  });
});
