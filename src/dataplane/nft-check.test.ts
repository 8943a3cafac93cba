// Every ruleset the data plane can produce for the shared conformance cases is accepted by the
// kernel's nftables: each step of every case in test/cases/upstream.ts (upstream and
// supplemental), with and without drop logging, and the same clusters made dual-stack and
// IPv6-only. Checked with `nft -c -f -` (checkRuleset): parsed and validated by the kernel, then
// discarded, so nothing is created. Skipped only when not root or when nft is not installed; CI
// runs it as root with nft.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  SUPPLEMENTAL_CASES,
  UPSTREAM_CASES,
  caseName,
  stepManifests,
  stepTexts,
  type Case,
} from '../../test/cases/upstream.js';
import { compileCluster, type CompiledCluster } from '../engine/index.js';
import { formatDiagnostic, loadTexts, type AdminPolicy, type LabelSelector, type Manifest, type Node } from '../model/index.js';
import { tierCluster, tierInputArb } from '../../test/support/tier-clusters.js';
import { ADMIN_UPSTREAM_CASES, stepTexts as adminStepTexts } from '../../test/cases/admin-upstream.js';
import { checkRuleset } from './apply.js';
import { compileRuleset, type DataplaneOptions } from './compile.js';
import { exec, MissingProgramError } from './exec.js';
import { renderReplaceScript, rulesetStats } from './ruleset.js';

async function skipReason(): Promise<string | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'nft -c needs root (CAP_NET_ADMIN)';
  try {
    await exec(['nft', '--version'], { timeoutMs: 10_000 });
  } catch (err) {
    if (err instanceof MissingProgramError) return 'nft is not installed';
    throw err;
  }
  return undefined;
}

const skip = await skipReason();
const options = skip ? { skip } : {};

function load(texts: readonly { file: string; text: string }[]): CompiledCluster {
  const built = loadTexts(texts);
  assert.ok(built.cluster, built.diagnostics.map(formatDiagnostic).join('\n'));
  return compileCluster(built.cluster);
}

/** Checks the ruleset with nft -c; a failure names the script's offending lines. */
async function accepts(compiled: CompiledCluster, dataplane: DataplaneOptions = {}): Promise<void> {
  const ruleset = compileRuleset(compiled, dataplane);
  try {
    await checkRuleset(ruleset);
  } catch (err) {
    const script = renderReplaceScript(ruleset)
      .split('\n')
      .map((line, i) => `${String(i + 1).padStart(4)} ${line}`)
      .join('\n');
    assert.fail(`nft -c rejected the ruleset: ${(err as Error).message}\n${script}`);
  }
}

// ---------------------------------------------------------------------------------------------
// IPv6: the conformance model's IPv4 addresses embedded in fd00::/96 (10.244.1.2 -> fd00::af4:102),
// and each IPv4 ipBlock mapped the same way (a /p becomes a /96+p), so containment is preserved.

function v4Parts(ip: string): number[] {
  const parts = ip.split('.').map(Number);
  assert.equal(parts.length, 4, ip);
  return parts;
}

function embed(ip: string): string {
  const [a, b, c, d] = v4Parts(ip);
  return `fd00::${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

function embedCIDR(cidr: string): string {
  const [ip, prefix] = cidr.split('/');
  return `${embed(ip)}/${96 + Number(prefix)}`;
}

/** Rewrites a step's manifests for `mode`: pods get IPv6 addresses; ipBlocks get IPv6 twins. */
function toIPv6(manifests: readonly Manifest[], mode: 'dual' | 'v6'): Manifest[] {
  const mapPeers = (peers: unknown): unknown =>
    Array.isArray(peers)
      ? (peers as Manifest[]).flatMap((peer) => {
          const block = peer.ipBlock as { cidr: string; except?: string[] } | undefined;
          if (!block) return [peer];
          const twin = { ipBlock: { cidr: embedCIDR(block.cidr), ...(block.except ? { except: block.except.map(embedCIDR) } : {}) } };
          return mode === 'dual' ? [peer, twin] : [twin];
        })
      : peers;
  const mapRules = (rules: unknown, field: 'from' | 'to'): unknown =>
    Array.isArray(rules) ? (rules as Manifest[]).map((r) => (r[field] === undefined ? r : { ...r, [field]: mapPeers(r[field]) })) : rules;
  return manifests.map((m) => {
    const o = structuredClone(m) as Manifest;
    if (o.kind === 'Pod') {
      const status = o.status as { podIP: string };
      const v4 = status.podIP;
      const ips = mode === 'dual' ? [v4, embed(v4)] : [embed(v4)];
      o.status = { ...status, podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) };
    }
    if (o.kind === 'NetworkPolicy') {
      const spec = o.spec as Manifest;
      o.spec = { ...spec, ingress: mapRules(spec.ingress, 'from'), egress: mapRules(spec.egress, 'to') };
      if (spec.ingress === undefined) delete (o.spec as Manifest).ingress;
      if (spec.egress === undefined) delete (o.spec as Manifest).egress;
    }
    return o;
  });
}

const textOf = (objects: readonly Manifest[]): string => objects.map((o) => `---\n${JSON.stringify(o, null, 2)}\n`).join('');

// ---------------------------------------------------------------------------------------------

const ALL_CASES: readonly Case[] = [...UPSTREAM_CASES, ...SUPPLEMENTAL_CASES];

describe('nft -c accepts the ruleset of every conformance step', () => {
  for (const c of ALL_CASES) {
    test(caseName(c), options, async () => {
      for (let i = 0; i < c.steps.length; i++) {
        const compiled = load(stepTexts(c, i));
        await accepts(compiled);
        await accepts(compiled, { log: true });
      }
    });
  }
});

describe('nft -c accepts the same steps in dual-stack and IPv6-only clusters', () => {
  for (const mode of ['dual', 'v6'] as const) {
    test(`${mode === 'dual' ? 'dual-stack' : 'IPv6-only'}: every step of every case, with logging`, options, async () => {
      let ip6Rules = 0;
      let ip6Dispatch = 0;
      for (const c of ALL_CASES) {
        for (let i = 0; i < c.steps.length; i++) {
          const compiled = load([{ file: `${mode}/${caseName(c)}/${i + 1}.yaml`, text: textOf(toIPv6(stepManifests(c.steps[i]), mode)) }]);
          const ruleset = compileRuleset(compiled, { log: true });
          ip6Rules += ruleset.chains.flatMap((ch) => ch.rules).filter((r) => r.startsWith('ip6 ')).length;
          ip6Dispatch += ruleset.maps.filter((m) => m.name.endsWith('6')).reduce((n, m) => n + m.elements.length, 0);
          await accepts(compiled, { log: true });
        }
      }
      assert.ok(ip6Rules > 0, 'the IPv6 clusters produced IPv6 rules');
      assert.ok(ip6Dispatch > 0, 'the IPv6 clusters dispatched pods by their IPv6 addresses');
    });
  }

  test('the IPv6 rewrite keeps ipBlock containment (10.244.1.2 in 0.0.0.0/4 <-> fd00::af4:102 in fd00::/100)', () => {
    assert.equal(embed('10.244.1.2'), 'fd00::af4:102');
    assert.equal(embedCIDR('0.0.0.0/4'), 'fd00::0:0/100');
    assert.equal(embedCIDR('10.244.1.2/32'), 'fd00::af4:102/128');
  });
});

describe('nft -c is a real check', () => {
  const base = (): CompiledCluster =>
    load([{ file: 'one.yaml', text: textOf([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i' }] }, status: { podIP: '10.0.0.1' } }]) }]);

  test('it rejects a rule nft cannot parse, a reference to a missing set, a duplicate map key and overlapping set elements', options, async () => {
    const r = compileRuleset(base());
    await checkRuleset(r);
    const broken = [
      { ...r, chains: [...r.chains, { name: 'bad', rules: ['ip saddr nonsense accept'] }] },
      { ...r, chains: [...r.chains, { name: 'bad', rules: ['ip saddr @missing accept'] }] },
      {
        ...r,
        maps: r.maps.map((m) => (m.name === 'ingress4' ? { ...m, elements: [['10.0.0.1', 'jump forward'], ['10.0.0.1', 'jump input']] as const } : m)),
      },
      // Overlapping concatenated interval elements: why the compiler makes them disjoint.
      {
        ...r,
        sets: [...r.sets, { name: 'overlap', type: 'ipv4_addr . inet_proto . inet_service', interval: true, elements: ['10.0.0.0/24 . tcp . 80-90', '10.0.0.0/25 . tcp . 85-100'] }],
      },
    ];
    for (const b of broken) await assert.rejects(checkRuleset(b), /nft exited with/);
  });
});

describe('nft -c accepts edge cases', () => {
  const pod = (name: string, ips: string[], labels: Record<string, string> = {}, ports: Manifest[] = [], hostNetwork = false): Manifest => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'edge', labels },
    spec: { hostNetwork, containers: [{ name: 'main', image: 'i', ports }] },
    status: { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
  });
  const policy = (name: string, spec: Manifest): Manifest => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'edge' }, spec });

  test('/0 blocks with holes, port ranges, whole protocols, named ports in both families, hostNetwork and long names', options, async () => {
    const longName = `${'p'.repeat(120)}.${'q'.repeat(120)}`;
    const objects = [
      pod('a', ['10.0.0.1', 'fd00::1'], { app: 'a' }, [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'assoc', containerPort: 9999, protocol: 'SCTP' }]),
      pod('b', ['10.0.0.2'], { app: 'b' }, [{ name: 'http', containerPort: 80 }]),
      pod('c', ['fd00::3'], { app: 'c' }, [{ name: 'http', containerPort: 81 }]),
      pod(longName, ['10.0.0.4', 'fd00::4'], { app: 'a' }),
      pod('host', ['192.168.0.1'], { app: 'a' }, [{ name: 'http', containerPort: 10250 }], true),
      policy('everything', {
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [
              { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '0.0.0.0/32', '255.255.255.255/32'] } },
              { ipBlock: { cidr: '::/0', except: ['fd00::/8', '::/128'] } },
              { podSelector: { matchLabels: { app: 'b' } } },
            ],
            ports: [{ port: 80, endPort: 90, protocol: 'SCTP' }, { protocol: 'UDP' }, { port: 'http' }, { port: 'assoc', protocol: 'SCTP' }, { port: 1, endPort: 65535 }],
          },
          { from: [{ podSelector: {} }], ports: [{ protocol: 'SCTP' }, { protocol: 'TCP' }, { protocol: 'UDP' }] },
          {},
        ],
        egress: [
          { to: [{ podSelector: {} }], ports: [{ port: 'dns', protocol: 'UDP' }, { port: 'http' }] },
          { ports: [{ port: 'http' }] },
          { to: [{ ipBlock: { cidr: '::/0' } }, { ipBlock: { cidr: '0.0.0.0/0' } }] },
        ],
      }),
    ];
    const compiled = load([{ file: 'edge.yaml', text: textOf(objects) }]);
    await accepts(compiled);
    await accepts(compiled, { log: true, table: 'podwall_edge', counterValues: new Map([[`in/edge/a`, { packets: 12, bytes: 3456 }]]) });
  });

  test('addresses two live pods claim (both families, isolated or not): the conflict chains and counters, with and without logging', options, async () => {
    const objects = [
      pod('db', ['10.0.0.3', 'fd00::3'], { app: 'db' }, [{ name: 'sql', containerPort: 3306 }]),
      pod('impostor', ['10.0.0.3', 'fd00::3'], { app: 'x' }),
      pod('api', ['10.0.0.2', 'fd00::2'], { app: 'api' }),
      policy('db', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 'sql' }] }] }),
      policy('api', { podSelector: { matchLabels: { app: 'api' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: {} }], ports: [{ port: 'sql' }] }] }),
    ];
    const compiled = load([{ file: 'shared.yaml', text: textOf(objects) }]);
    assert.ok(compileRuleset(compiled).chains.some((c) => c.name === 'in-conflict'));
    await accepts(compiled);
    await accepts(compiled, { log: true });
  });

  test('a large cluster: hundreds of pods and elements split across lines', options, async () => {
    const objects: Manifest[] = [];
    for (let i = 0; i < 600; i++) {
      const v4 = `10.${1 + (i >> 8)}.${i & 255}.${1 + (i % 7)}`;
      objects.push(pod(`p-${i}`, i % 3 === 0 ? [v4, `fd00::${i.toString(16)}`] : [v4], { app: `a${i % 5}` }, [{ name: 'http', containerPort: 8000 + (i % 50) }]));
    }
    for (let k = 0; k < 5; k++) {
      objects.push(
        policy(`p${k}`, {
          podSelector: { matchLabels: { app: `a${k}` } },
          policyTypes: ['Ingress', 'Egress'],
          ingress: [{ from: [{ podSelector: { matchLabels: { app: `a${(k + 1) % 5}` } } }], ports: [{ port: 'http' }] }],
          egress: [{ to: [{ podSelector: { matchLabels: { app: `a${(k + 2) % 5}` } } }, { ipBlock: { cidr: '172.16.0.0/12', except: ['172.16.5.0/24'] } }] }],
        }),
      );
    }
    const compiled = load([{ file: 'large.yaml', text: textOf(objects) }]);
    const stats = rulesetStats(compileRuleset(compiled));
    assert.ok(stats.setElements > 1000);
    await accepts(compiled, { log: true });
  });
});

describe('nft -c accepts the interval sets of overlapping rules (the kernel refuses overlapping elements)', () => {
  const pod = (name: string, ips: string[], labels: Record<string, string> = {}, ports: Manifest[] = []): Manifest => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'overlap', labels },
    spec: { containers: [{ name: 'main', image: 'i', ports }] },
    status: { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
  });
  const policy = (name: string, spec: Manifest): Manifest => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'overlap' }, spec });
  const pods = [
    pod('server', ['10.0.3.1', 'fd00::3:1'], { role: 'server' }, [{ name: 'http', containerPort: 85 }]),
    pod('other-server', ['10.0.3.2', 'fd00::3:2'], { role: 'server' }, [{ name: 'http', containerPort: 95 }]),
    pod('b', ['10.0.0.200', 'fd00::c8'], { role: 'b' }, [{ name: 'http', containerPort: 90 }]),
  ];

  test('overlapping peers and port ranges, numbered and named, in both families', options, async () => {
    const both = (v4: string, v6: string): Manifest[] => [{ ipBlock: { cidr: v4 } }, { ipBlock: { cidr: v6 } }];
    const rules = [
      { peers: both('10.0.0.0/24', 'fd00::/120'), ports: [{ port: 80, endPort: 90 }] },
      { peers: [...both('10.0.0.0/25', 'fd00::/121'), { podSelector: { matchLabels: { role: 'b' } } }], ports: [{ port: 85, endPort: 100 }, { port: 53, protocol: 'UDP' }, { port: 'http' }] },
      { peers: both('10.0.0.0/16', 'fd00::/64'), ports: [{ port: 'http' }, { port: 85 }, { protocol: 'UDP' }] },
      { peers: [{ podSelector: {} }], ports: [{ port: 'http' }, { port: 1, endPort: 65535 }] },
    ];
    const compiled = load([
      {
        file: 'overlap.yaml',
        text: textOf([
          ...pods,
          policy('server', {
            podSelector: { matchLabels: { role: 'server' } },
            policyTypes: ['Ingress', 'Egress'],
            ingress: rules.map((r) => ({ from: r.peers, ports: r.ports })),
            egress: rules.map((r) => ({ to: r.peers, ports: r.ports })),
          }),
        ]),
      },
    ]);
    await accepts(compiled);
    await accepts(compiled, { log: true });
  });

  test('at random: rules over a small address and port space', options, async () => {
    const block = fc.record({ prefix: fc.integer({ min: 24, max: 32 }), offset: fc.integer({ min: 0, max: 255 }) }).map(({ prefix, offset }) => {
      const size = 2 ** (32 - prefix);
      return { ipBlock: { cidr: `10.0.0.${offset - (offset % size)}/${prefix}` } };
    });
    const peer = fc.oneof(block, fc.constantFrom<Manifest>({ podSelector: { matchLabels: { role: 'b' } } }, { podSelector: {} }));
    const port = fc.oneof(
      fc.record({ protocol: fc.constantFrom('TCP', 'UDP'), port: fc.integer({ min: 80, max: 100 }), len: fc.integer({ min: 0, max: 10 }) }).map(({ protocol, port, len }) => ({ protocol, port, endPort: port + len })),
      fc.record({ protocol: fc.constantFrom('TCP', 'UDP') }),
      fc.constant({ port: 'http' }),
    );
    const rule = fc.record({ peers: fc.option(fc.array(peer, { minLength: 1, maxLength: 3 }), { nil: undefined }), ports: fc.option(fc.array(port, { minLength: 1, maxLength: 3 }), { nil: undefined }) });
    await fc.assert(
      fc.asyncProperty(fc.array(rule, { minLength: 2, maxLength: 5 }), async (rules) => {
        const compiled = load([
          {
            file: 'random.yaml',
            text: textOf([
              ...pods,
              policy('server', {
                podSelector: { matchLabels: { role: 'server' } },
                policyTypes: ['Ingress', 'Egress'],
                ingress: rules.map((r) => ({ ...(r.peers ? { from: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) })),
                egress: rules.map((r) => ({ ...(r.peers ? { to: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) })),
              }),
            ]),
          },
        ]);
        await accepts(compiled);
      }),
      { numRuns: 25 },
    );
  });
});

describe('nft -c accepts tables with admin tiers', () => {
  const sel = (matchLabels: Record<string, string> = {}): LabelSelector => ({ matchLabels, matchExpressions: [] });
  const pod = (id: string, ips: string[], labels: Record<string, string>, ports: Manifest[] = []): Manifest => {
    const [namespace, name] = id.split('/');
    return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [{ name: 'main', image: 'i', ports }] }, status: { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } };
  };
  const objects: Manifest[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { team: 'a' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b', labels: { team: 'b' } } },
    pod('a/web', ['10.0.0.1', 'fd00::1'], { app: 'web' }, [{ name: 'http', containerPort: 8080 }]),
    pod('a/db', ['10.0.0.2', 'fd00::2'], { app: 'db' }, [{ name: 'sql', containerPort: 5432 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'stream', containerPort: 9000, protocol: 'SCTP' }]),
    pod('b/client', ['10.0.1.1', 'fd00:1::1'], { app: 'client' }),
    pod('b/v6only', ['fd00:1::9'], { app: 'client' }, [{ name: 'sql', containerPort: 3306 }]),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'db', namespace: 'a' },
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 'sql' }] }] },
    },
  ];
  const admin: AdminPolicy[] = [
    {
      kind: 'AdminNetworkPolicy',
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      name: 'every-action',
      tier: 'Admin',
      priority: 1,
      subject: { namespaces: sel({ team: 'a' }) },
      ingress: [
        { action: 'Pass', peers: [{ kind: 'pods', pods: { namespaceSelector: sel({ team: 'b' }), podSelector: sel({ app: 'client' }) } }], ports: [{ kind: 'named', name: 'sql' }] },
        { action: 'Deny', peers: [{ kind: 'namespaces', namespaces: sel({ team: 'b' }) }], ports: [{ kind: 'range', protocol: 'SCTP', start: 9000, end: 9100 }, { kind: 'named', name: 'dns' }] },
        { action: 'Allow', peers: [{ kind: 'namespaces', namespaces: sel() }], ports: [{ kind: 'number', protocol: 'UDP', port: 53 }] },
      ],
      egress: [
        { action: 'Deny', peers: [{ kind: 'networks', networks: ['192.0.2.0/24', '2001:db8::/32', '0.0.0.0/0'] }], ports: [{ kind: 'number', protocol: 'SCTP', port: 9 }] },
        { action: 'Allow', peers: [{ kind: 'nodes', nodes: sel() }] },
        { action: 'Deny', peers: [{ kind: 'pods', pods: { namespaceSelector: sel(), podSelector: sel({ app: 'client' }) } }], ports: [{ kind: 'named', name: 'sql' }] },
        { action: 'Pass', peers: [{ kind: 'domainNames', domainNames: ['example.com'] }] },
      ],
    },
    {
      kind: 'ClusterNetworkPolicy',
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      name: 'baseline',
      tier: 'Baseline',
      priority: 3,
      subject: { namespaces: sel() },
      ingress: [
        { action: 'Pass', peers: [{ kind: 'namespaces', namespaces: sel({ team: 'a' }) }] },
        { action: 'Deny', peers: [{ kind: 'namespaces', namespaces: sel() }, { kind: 'networks', networks: ['::/0'] }] },
      ],
      egress: [{ action: 'Deny', peers: [{ kind: 'networks', networks: ['10.0.0.0/8', 'fd00::/8'] }], ports: [{ kind: 'range', protocol: 'TCP', start: 1, end: 65535 }] }],
    },
    {
      kind: 'BaselineAdminNetworkPolicy',
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      name: 'default',
      tier: 'Baseline',
      subject: { pods: { namespaceSelector: sel(), podSelector: sel({ app: 'client' }) } },
      ingress: [{ action: 'Deny', peers: [{ kind: 'namespaces', namespaces: sel() }], ports: [{ kind: 'named', name: 'sql' }] }],
      egress: [],
    },
  ];
  const nodes: Node[] = [{ name: 'n1', labels: {}, addresses: ['172.16.0.1', 'fd16::1'] }];
  const withTiers = (list: readonly AdminPolicy[]): CompiledCluster => {
    const built = loadTexts([{ file: 'tiers.yaml', text: textOf(objects) }]);
    assert.ok(built.cluster, built.diagnostics.map(formatDiagnostic).join('\n'));
    return compileCluster({ ...built.cluster, adminPolicies: list, nodes });
  };

  test('every action, peer and port form (SCTP included), dual-stack and IPv6-only pods, a Pass to the NetworkPolicy stage, with and without logging', options, async () => {
    const compiled = withTiers(admin);
    const chains = compileRuleset(compiled).chains.map((c) => c.name);
    assert.ok(chains.includes('in-deny') && chains.includes('eg-deny') && chains.some((c) => /^in-\d+-np$/.test(c)), chains.join(', '));
    await accepts(compiled);
    await accepts(compiled, { log: true });
  });

  test('every step of the network-policy-api conformance suite, both API versions (every other step logged)', options, async () => {
    let steps = 0;
    for (const c of ADMIN_UPSTREAM_CASES) {
      for (let i = 0; i < c.steps.length; i++) {
        await accepts(load(adminStepTexts(c, i)), { log: i % 2 === 1 });
        steps++;
      }
    }
    assert.ok(steps > 100, `${steps} steps`);
  });

  test('at random: admin and baseline policies of every kind over a small cluster', options, async () => {
    await fc.assert(
      fc.asyncProperty(tierInputArb, async (input) => {
        await accepts(tierCluster(input));
      }),
      { numRuns: 30 },
    );
  });
});
