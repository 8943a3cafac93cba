// The data plane's compiler, one test per rule it implements, checked on the Ruleset structure
// (sets, verdict maps, chains, rules) compiled from manifests. Set references in rules are written
// out as their elements (`ip saddr { 10.0.0.2 } ...`) so a test states what a rule matches, not
// how sets happen to be numbered.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileCluster, type CompiledCluster } from '../engine/index.js';
import { formatDiagnostic, loadTexts, type Endpoint } from '../model/index.js';
import { compileRuleset, counterName, ipBlockRanges, type DataplaneOptions } from './compile.js';
import { REVOKED_MARK } from './conntrack.js';
import { formatRange } from './ranges.js';
import { checkIdentifier, quote, renderReplaceScript, renderTable, rulesetStats, RulesetError, type Ruleset } from './ruleset.js';

// ---------------------------------------------------------------------------------------------
// Manifests

type Manifest = Record<string, unknown>;

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

function compile(objects: readonly Manifest[], options?: DataplaneOptions): Ruleset {
  return compileRuleset(cluster(objects), options);
}

// ---------------------------------------------------------------------------------------------
// Reading a Ruleset

const family = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);

function chain(r: Ruleset, name: string): readonly string[] {
  const c = r.chains.find((x) => x.name === name);
  assert.ok(c, `no chain ${name} in ${r.chains.map((x) => x.name).join(', ')}`);
  return c.rules;
}

function map(r: Ruleset, name: string): Map<string, string> {
  const m = r.maps.find((x) => x.name === name);
  assert.ok(m, `no map ${name}`);
  return new Map(m.elements.map(([k, v]) => [k, v]));
}

/** The class chain an address is dispatched to for `direction`, or undefined. */
function dispatched(r: Ruleset, direction: 'ingress' | 'egress', ip: string): string | undefined {
  const verdict = map(r, `${direction}${family(ip)}`).get(ip);
  if (verdict === undefined) return undefined;
  assert.match(verdict, /^jump /);
  return verdict.slice('jump '.length);
}

/** The pod's own drop chain for `direction`, or undefined. */
function dropChain(r: Ruleset, direction: 'in' | 'eg', ip: string): string | undefined {
  const verdict = map(r, `drop-${direction}${family(ip)}`).get(ip);
  if (verdict === undefined) return undefined;
  assert.match(verdict, /^goto /);
  return verdict.slice('goto '.length);
}

/** A rule with every named set it references written out as `{ elements }`. */
function expand(r: Ruleset, rule: string): string {
  return rule.replace(/@([A-Za-z0-9_.-]+)/g, (whole, name: string) => {
    const set = r.sets.find((s) => s.name === name);
    return set ? `{ ${set.elements.join(', ')} }` : whole;
  });
}

const DROP_TAIL = {
  in: ['ip daddr vmap @drop-in4', 'ip6 daddr vmap @drop-in6', 'reject with icmpx admin-prohibited'],
  eg: ['ip saddr vmap @drop-eg4', 'ip6 saddr vmap @drop-eg6', 'reject with icmpx admin-prohibited'],
};

/** The allowing rules of a class chain (expanded), after checking it ends in the drop tail. */
function allowRules(r: Ruleset, name: string): string[] {
  const rules = chain(r, name);
  const tail = name.startsWith('in-') ? DROP_TAIL.in : DROP_TAIL.eg;
  assert.deepEqual(rules.slice(-3), tail, `${name} ends by handing the packet to the pod's drop chain`);
  return rules.slice(0, -3).map((rule) => expand(r, rule));
}

/** The allowing rules of the chain a pod's address is dispatched to. */
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
      const drop = dropChain(r, 'in', '10.0.0.1');
      assert.ok(drop);
      assert.deepEqual(chain(r, drop)[0], 'counter name "in/default/a"');
      assert.deepEqual([...map(r, 'egress4')], [], 'not isolated for egress');
      assert.deepEqual([...map(r, 'drop-eg4')], []);
    },
  },
  {
    name: 'an egress-isolated local pod is dispatched to its egress class chain by source address',
    objects: [pod('default/a', { ips: ['10.0.0.1'], labels: { app: 'a' } }), egressPolicy('default/deny-eg', app('a'), [])],
    check: (r) => {
      assert.deepEqual([...map(r, 'egress4')], [['10.0.0.1', 'jump eg-0']]);
      assert.deepEqual([...map(r, 'drop-eg4')], [['10.0.0.1', `goto ${dropChain(r, 'eg', '10.0.0.1')}`]]);
      assert.deepEqual(allowRules(r, 'eg-0'), []);
      assert.deepEqual([...map(r, 'ingress4')], []);
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
      assert.deepEqual(allowRules(r, web!), ['meta l4proto . th dport { tcp . 80 } accept comment "default/web ingress[0]"']);
      // The policies in the namespace's order: both rules, each as its own policy says.
      assert.deepEqual(allowRules(r, special!), [
        'meta l4proto . th dport { tcp . 443 } accept comment "default/special ingress[0]"',
        'meta l4proto . th dport { tcp . 80 } accept comment "default/web ingress[0]"',
      ]);
      // Every pod still has its own drop chain and counter.
      assert.equal(map(r, 'drop-in4').size, 21);
      assert.equal(new Set(map(r, 'drop-in4').values()).size, 21);
      assert.equal(r.counters.length, 21);
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
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['meta l4proto . th dport { tcp . 80 } accept comment "default/both ingress[0]"']);
      assert.deepEqual(allowRulesFor(r, 'egress', '10.0.0.1'), ['meta l4proto . th dport { udp . 53 } return comment "default/both egress[0]"']);
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
      const set = r.sets.find((s) => s.comment === 'default/cidr ingress[0] peers');
      assert.ok(set);
      assert.equal(set.type, 'ipv4_addr');
      assert.equal(set.interval, true);
      assert.deepEqual(set.elements, ['10.0.0.0/16', '10.2.1.0-10.255.255.255', '192.168.7.7']);
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'ip saddr { 10.0.0.0/16, 10.2.1.0-10.255.255.255, 192.168.7.7 } accept comment "default/cidr ingress[0]"',
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
    check: (r) => assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['ip saddr { 10.0.0.0/30 } accept comment "default/mixed ingress[0]"']),
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
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        // A pod selector without a namespace selector: the policy's namespace only.
        'ip saddr { 10.0.0.2, 10.0.9.2 } accept comment "default/server ingress[0]"',
        'ip saddr { 10.0.0.4, 10.0.9.4 } accept comment "default/server ingress[1]"',
      ]);
      assert.deepEqual([...map(r, 'ingress4').keys()], ['10.0.0.1'], 'the remote server is selected but runs elsewhere');
      assert.deepEqual([...map(r, 'drop-in4').keys()], ['10.0.0.1']);
      assert.deepEqual(
        r.counters.map((c) => c.name),
        ['in/default/server'],
      );
    },
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
        'ip daddr . meta l4proto . th dport { 10.0.0.1 . tcp . 8080, 10.0.0.1 . udp . 53, 10.0.0.2 . tcp . 9090 } accept comment "default/web ingress[0]"',
      ]);
      const set = r.sets.find((s) => s.comment === 'default/web ingress[0] named ports');
      assert.ok(set);
      assert.equal(set.type, 'ipv4_addr . inet_proto . inet_service');
      assert.equal(set.interval, false);
      assert.equal(dispatched(r, 'ingress', '10.0.0.3'), dispatched(r, 'ingress', '10.0.0.1'), 'web-3 is isolated all the same');
    },
  },
  {
    name: 'named ports resolve per destination pod and protocol (egress: the destinations the peers match, on any node)',
    objects: [
      pod('default/client', { ips: ['10.0.0.1'], labels: { app: 'client' } }),
      pod('default/db-1', { ips: ['10.0.0.2'], labels: { app: 'db' }, ports: [{ name: 'sql', containerPort: 5432 }] }),
      pod('default/remote-db', { ips: ['10.0.9.2'], labels: { app: 'db' }, ports: [{ name: 'sql', containerPort: 3306 }] }),
      pod('default/cache', { ips: ['10.0.0.3'], labels: { app: 'cache' }, ports: [{ name: 'sql', containerPort: 1234 }] }),
      policy('default/client', {
        podSelector: app('client'),
        policyTypes: ['Egress'],
        egress: [
          { to: [{ podSelector: app('db') }], ports: [{ port: 'sql' }] },
          // No peers: every pod is a destination.
          { ports: [{ port: 'sql' }] },
          // An ipBlock peer: the pods whose address it holds.
          { to: [{ ipBlock: { cidr: '10.0.0.3/32' } }], ports: [{ port: 'sql' }] },
        ],
      }),
    ],
    options: { isLocal: (e: Endpoint) => !e.name.startsWith('remote-') },
    check: (r) =>
      assert.deepEqual(allowRulesFor(r, 'egress', '10.0.0.1'), [
        'ip daddr { 10.0.0.2, 10.0.9.2 } ip daddr . meta l4proto . th dport { 10.0.0.2 . tcp . 5432, 10.0.9.2 . tcp . 3306 } return comment "default/client egress[0]"',
        'ip daddr . meta l4proto . th dport { 10.0.0.2 . tcp . 5432, 10.0.0.3 . tcp . 1234, 10.0.9.2 . tcp . 3306 } return comment "default/client egress[1]"',
        'ip daddr { 10.0.0.3 } ip daddr . meta l4proto . th dport { 10.0.0.3 . tcp . 1234 } return comment "default/client egress[2]"',
      ]),
  },
  {
    name: 'endPort renders as a range',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'] }),
      ingressPolicy('default/range', {}, [{ ports: [{ port: 8000, endPort: 8100 }, { port: 9000, endPort: 9000, protocol: 'UDP' }, { port: 80 }] }]),
    ],
    check: (r) =>
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'meta l4proto . th dport { tcp . 8000-8100, udp . 9000, tcp . 80 } accept comment "default/range ingress[0]"',
      ]),
  },
  {
    name: 'a rule without ports matches every protocol; a rule without peers or ports matches everything',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'] }),
      pod('default/b', { ips: ['10.0.0.2'], labels: { app: 'b' } }),
      ingressPolicy('default/no-ports', {}, [{ from: [{ podSelector: app('b') }] }, {}]),
    ],
    check: (r) =>
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'ip saddr { 10.0.0.2 } accept comment "default/no-ports ingress[0]"',
        'accept comment "default/no-ports ingress[1]"',
      ]),
  },
  {
    name: 'TCP, UDP and SCTP: numbered ports as protocol . port, a port entry without a number as the whole protocol',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'] }),
      ingressPolicy('default/protocols', {}, [
        { ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }, { port: 9, protocol: 'SCTP' }, { port: 80, protocol: 'TCP' }] },
        { ports: [{ protocol: 'UDP' }] },
        { ports: [{ protocol: 'UDP' }, { protocol: 'SCTP' }, { protocol: 'UDP' }] },
      ]),
    ],
    check: (r) =>
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'meta l4proto . th dport { tcp . 80, udp . 53, sctp . 9 } accept comment "default/protocols ingress[0]"',
        'meta l4proto udp accept comment "default/protocols ingress[1]"',
        'meta l4proto { sctp, udp } accept comment "default/protocols ingress[2]"',
      ]),
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
      assert.equal(dropChain(r, 'in', '10.0.0.2'), dropChain(r, 'in', 'fd00::2'), 'one pod, one drop chain for both families');
      assert.deepEqual(allowRules(r, chainName), [
        'ip saddr { 10.0.0.4 } accept comment "default/server ingress[0]"',
        'ip6 saddr { fd00::3 } accept comment "default/server ingress[0]"',
        'ip6 saddr { fd00:1:0:0:8000::/65 } accept comment "default/server ingress[1]"',
      ]);
      const v6 = r.sets.filter((s) => s.type.startsWith('ipv6_addr'));
      assert.ok(v6.length >= 2);
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
        'ip daddr . meta l4proto . th dport { 10.0.0.1 . tcp . 8080 } accept comment "default/named ingress[0]"',
        'ip6 daddr . meta l4proto . th dport { fd00::1 . tcp . 8080 } accept comment "default/named ingress[0]"',
      ]),
  },
  {
    name: 'an IPv4 peer set and an IPv6 named-port set are never combined in one rule',
    objects: [
      pod('default/dual', { ips: ['10.0.0.1', 'fd00::1'], ports: [{ name: 'http', containerPort: 8080 }] }),
      ingressPolicy('default/named', {}, [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 'http' }] }]),
    ],
    check: (r) =>
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'ip saddr { 10.0.0.0/8 } ip daddr . meta l4proto . th dport { 10.0.0.1 . tcp . 8080 } accept comment "default/named ingress[0]"',
      ]),
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
      for (const m of ['ingress4', 'egress4', 'drop-in4', 'drop-eg4']) assert.deepEqual([...map(r, m).keys()], ['10.0.0.1'], m);
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), [
        'ip saddr { 10.0.0.1 } accept comment "default/all ingress[0]"',
        'ip saddr { 192.168.1.0/24 } accept comment "default/all ingress[1]"',
      ]);
      assert.deepEqual(allowRulesFor(r, 'egress', '10.0.0.1'), ['ip daddr { 10.0.0.1 } return comment "default/all egress[0]"']);
      assert.ok(!r.counters.some((c) => c.name.endsWith('/host')));
    },
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
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['ip saddr { 10.0.0.1 } accept comment "default/all ingress[0]"']);
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
      assert.deepEqual(classChains(r, 'in'), []);
      const dropChains = r.chains.map((c) => c.name).filter((n) => n.startsWith('drop-'));
      assert.deepEqual(dropChains, [dropChain(r, 'eg', '10.0.0.1')]);
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
      assert.deepEqual(allowRulesFor(r, 'egress', '10.0.0.1'), ['meta l4proto . th dport { udp . 53 } return comment "default/egress-typed egress[0]"']);
    },
  },
  {
    name: 'a rule whose peers match nothing emits no nft rule (nothing to allow)',
    objects: [
      pod('default/a', { ips: ['10.0.0.1'], ports: [{ name: 'http', containerPort: 80 }] }),
      ingressPolicy('default/nobody', {}, [
        { from: [{ podSelector: app('nobody') }] },
        { from: [{ namespaceSelector: { matchLabels: { nothing: 'here' } } }], ports: [{ port: 80 }] },
        // An IPv6 block for an IPv4-only cluster: the rule is still emitted (for IPv6), nothing for IPv4.
        { from: [{ ipBlock: { cidr: 'fd00::/8' } }] },
        // Only named ports, and no selected pod has the name: nothing to allow either.
        { ports: [{ port: 'metrics' }] },
        { ports: [{ port: 'http', protocol: 'UDP' }] },
      ]),
    ],
    check: (r) => {
      assert.deepEqual(allowRulesFor(r, 'ingress', '10.0.0.1'), ['ip6 saddr { fd00::/8 } accept comment "default/nobody ingress[2]"']);
      // Empty sets are not created at all.
      assert.ok(r.sets.every((s) => s.elements.length > 0));
      assert.deepEqual(
        r.sets.map((s) => s.comment),
        ['default/nobody ingress[2] peers'],
      );
    },
  },
  {
    name: 'denied traffic is counted in the pod\'s named counter, then rejected with tcp reset / icmpx',
    objects: [pod('prod/db', { ips: ['10.0.0.1'] }), denyIngress('prod/deny'), egressPolicy('prod/deny-eg', {}, [])],
    check: (r) => {
      assert.deepEqual(chain(r, dropChain(r, 'in', '10.0.0.1')!), [
        'counter name "in/prod/db"',
        'meta l4proto tcp reject with tcp reset',
        'reject with icmpx admin-prohibited',
      ]);
      assert.deepEqual(chain(r, dropChain(r, 'eg', '10.0.0.1')!), [
        'counter name "eg/prod/db"',
        'meta l4proto tcp reject with tcp reset',
        'reject with icmpx admin-prohibited',
      ]);
      assert.deepEqual(r.counters, [
        { name: 'eg/prod/db', packets: 0, bytes: 0 },
        { name: 'in/prod/db', packets: 0, bytes: 0 },
      ]);
      // The class chain hands over with goto (the drop chain's verdict is final) through maps.
      assert.deepEqual(map(r, 'drop-in4').get('10.0.0.1'), `goto ${dropChain(r, 'in', '10.0.0.1')}`);
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
    name: "log adds a rate-limited log with the pod's name, after counting and before rejecting",
    objects: [pod('prod/db', { ips: ['10.0.0.1'] }), denyIngress('prod/deny')],
    options: { log: true },
    check: (r) =>
      assert.deepEqual(chain(r, dropChain(r, 'in', '10.0.0.1')!), [
        'counter name "in/prod/db"',
        'limit rate 10/second burst 20 packets log prefix "podwall drop in prod/db: " level info',
        'meta l4proto tcp reject with tcp reset',
        'reject with icmpx admin-prohibited',
      ]),
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
        r.maps.map((m) => [m.name, m.type, m.elements.length]),
        [
          ['ingress4', 'ipv4_addr', 0],
          ['drop-in4', 'ipv4_addr', 0],
          ['ingress6', 'ipv6_addr', 0],
          ['drop-in6', 'ipv6_addr', 0],
          ['egress4', 'ipv4_addr', 0],
          ['drop-eg4', 'ipv4_addr', 0],
          ['egress6', 'ipv6_addr', 0],
          ['drop-eg6', 'ipv6_addr', 0],
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

  test('rules grow with policies, not pods: class chains are identical for 2 and 200 pods', () => {
    const objects = (n: number): Manifest[] => [
      ...Array.from({ length: n }, (_, i) => pod(`default/p-${i}`, { ips: [`10.1.${i >> 8}.${(i & 255) + 1}`], labels: { app: i % 2 ? 'odd' : 'even' } })),
      ingressPolicy('default/even', app('even'), [{ from: [{ podSelector: app('odd') }], ports: [{ port: 80 }] }]),
      egressPolicy('default/odd', app('odd'), [{ to: [{ podSelector: app('even') }] }]),
    ];
    const small = compile(objects(2));
    const large = compile(objects(200));
    const classes = (r: Ruleset) => r.chains.filter((c) => /^(in|eg)-\d+$/.test(c.name)).map((c) => ({ ...c, rules: c.rules.map((x) => x.replace(/@peer\d-\d+/g, '@peer')) }));
    assert.deepEqual(classes(large), classes(small));
    assert.equal(classes(large).length, 2);
    assert.equal(large.sets.length, small.sets.length, 'one set per rule and family, whatever the pod count');
    assert.equal(map(large, 'ingress4').size, 100);
    assert.equal(map(large, 'egress4').size, 100);
    const stats = rulesetStats(large);
    assert.equal(stats.counters, 200);
    assert.equal(stats.chains, 2 + 2 + 200);
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
    for (const good of ['podwall', '_x', 'in/default/a', 'drop-in-0', 'a.b_c-d/e', 'x'.repeat(255)]) assert.equal(checkIdentifier(good), good);
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
    // The rendered counter statement keeps the whole name.
    const r = compile([pod(`default/${'p'.repeat(253)}`, { ips: ['10.0.0.1'] }), denyIngress('default/deny')]);
    assert.equal(chain(r, dropChain(r, 'in', '10.0.0.1')!)[0], `counter name "${r.counters[0].name}"`);
    assert.doesNotThrow(() => renderReplaceScript(r));
  });

  test('rendering is deterministic: same input -> byte-identical script, whatever the manifest order', () => {
    const objects = [
      namespace('a', { team: 'x' }),
      namespace('b'),
      pod('a/one', { ips: ['10.0.0.1', 'fd00::1'], labels: { app: 'one' }, ports: [{ name: 'http', containerPort: 80 }] }),
      pod('a/two', { ips: ['10.0.0.2'], labels: { app: 'two' } }),
      pod('b/three', { ips: ['fd00::3'], labels: { app: 'three' } }),
      ingressPolicy('a/one', app('one'), [{ from: [{ namespaceSelector: {} }], ports: [{ port: 'http' }, { port: 81, endPort: 90 }] }]),
      egressPolicy('a/two', app('two'), [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.0.1/32'] } }] }]),
      denyIngress('b/deny'),
    ];
    const once = renderReplaceScript(compile(objects, { log: true }));
    assert.equal(renderReplaceScript(compile(objects, { log: true })), once);
    assert.equal(renderReplaceScript(compile([...objects].reverse(), { log: true })), once);
  });

  test(
    'two pods with one address (a finished pod whose IP was reused) never give a verdict map two elements with one key',
    () => {
      const r = compile([pod('default/job-1', { ips: ['10.0.0.1'] }), pod('default/web', { ips: ['10.0.0.1'] }), denyIngress('default/deny')]);
      for (const m of r.maps) assert.equal(new Set(m.elements.map(([k]) => k)).size, m.elements.length, `${m.name} has a duplicate key`);
    },
  );

  test('ipBlockRanges: cidr minus except as ranges', () => {
    assert.deepEqual(
      ipBlockRanges('10.0.0.0/24', ['10.0.0.128/25', '10.0.0.0/26']).map((x) => formatRange(x, 4)),
      ['10.0.0.64/26'],
    );
    assert.deepEqual(ipBlockRanges('2001:db8::/32', []).map((x) => formatRange(x, 6)), ['2001:db8::/32']);
  });
});
