// One test per NetworkPolicy semantic rule, each checked through the engine's public answers
// (verdicts with reasons, isolation, explanations) on clusters loaded from manifest text.
// The rules quoted are from k8s.io/api/networking/v1/types.go unless noted otherwise.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic, loadTexts, type Protocol } from '../model/index.js';
import {
  compileCluster,
  evaluateConnection,
  explainEndpoints,
  isolatingPolicies,
  type CompiledCluster,
  type TrafficPeer,
  type Verdict,
} from './index.js';

// ---------------------------------------------------------------------------------------------
// A fluent builder: pods and namespaces as YAML documents, policies as YAML text.

interface PodOptions {
  /** status.podIP, or podIPs in order (the first is the primary). */
  readonly ip?: string | readonly string[];
  /** `80`, `80/UDP`, `http:8080`, `dns:53/UDP` */
  readonly ports?: readonly string[];
  readonly hostNetwork?: boolean;
}

function portYaml(spec: string): string {
  const m = /^(?:([a-z0-9-]+):)?([0-9]+)(?:\/(TCP|UDP|SCTP))?$/.exec(spec);
  if (!m) throw new Error(`bad port spec ${spec}`);
  const [, name, port, protocol] = m;
  return `      - containerPort: ${port}${name ? `\n        name: ${name}` : ''}${protocol ? `\n        protocol: ${protocol}` : ''}`;
}

class Manifests {
  private readonly docs: string[] = [];

  namespace(name: string, labels: Record<string, string> = {}): this {
    this.docs.push(`apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
  labels: ${JSON.stringify(labels)}`);
    return this;
  }

  /** `id` is `ns/name`. */
  pod(id: string, labels: Record<string, string> = {}, options: PodOptions = {}): this {
    const [namespace, name] = id.split('/');
    const ips = options.ip === undefined ? [] : typeof options.ip === 'string' ? [options.ip] : options.ip;
    const ports = options.ports ?? [];
    this.docs.push(`apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: ${JSON.stringify(labels)}
spec:
  hostNetwork: ${options.hostNetwork === true}
  containers:
  - name: main
    image: registry.example/app
${ports.length > 0 ? `    ports:\n${ports.map(portYaml).join('\n')}` : '    ports: []'}
${ips.length > 0 ? `status:\n  podIP: ${ips[0]}\n  podIPs:\n${ips.map((ip) => `  - ip: "${ip}"`).join('\n')}` : ''}`);
    return this;
  }

  /** Any manifest, usually a NetworkPolicy. */
  yaml(text: string): this {
    this.docs.push(text);
    return this;
  }

  /** A NetworkPolicy from its namespace, name and the YAML of its spec (indented by two). */
  policy(id: string, spec: string): this {
    const [namespace, name] = id.split('/');
    return this.yaml(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
${spec
  .replace(/^\n/, '')
  .split('\n')
  .map((l) => (l.trim() === '' ? '' : `  ${l}`))
  .join('\n')}`);
  }

  build(): CompiledCluster {
    const text = this.docs.join('\n---\n');
    const result = loadTexts([{ file: 'test.yaml', text }]);
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(errors.map(formatDiagnostic), [], `manifests should load:\n${text}`);
    assert.ok(result.cluster);
    return compileCluster(result.cluster);
  }
}

const manifests = (): Manifests => new Manifests();

function endpoint(c: CompiledCluster, id: string): TrafficPeer {
  const e = c.endpointsById.get(id);
  assert.ok(e, `no endpoint ${id}`);
  return { kind: 'endpoint', endpoint: e };
}

/** `ns/name`, `ns/name@ip` (the endpoint at one of its addresses) or a bare IP (outside). */
function peer(c: CompiledCluster, text: string): TrafficPeer {
  if (/^[0-9a-f.:]+$/.test(text) && (text.includes('.') || text.includes(':')) && !text.includes('/')) {
    return { kind: 'external', ip: text };
  }
  const [id, ip] = text.split('@');
  const p = endpoint(c, id);
  return ip && p.kind === 'endpoint' ? { ...p, ip } : p;
}

function check(c: CompiledCluster, from: string, to: string, port = 80, protocol: Protocol = 'TCP'): Verdict {
  return evaluateConnection(c, { source: peer(c, from), destination: peer(c, to), port, protocol });
}

const allowed = (c: CompiledCluster, from: string, to: string, port = 80, protocol: Protocol = 'TCP'): boolean =>
  check(c, from, to, port, protocol).allowed;

function isolatedFor(c: CompiledCluster, id: string, direction: 'Ingress' | 'Egress'): string[] {
  const e = c.endpointsById.get(id);
  assert.ok(e);
  return isolatingPolicies(c, e, direction).map((p) => `${p.namespace}/${p.ref.name}`);
}

// ---------------------------------------------------------------------------------------------

describe('podSelector: which pods a policy applies to', () => {
  // meta/v1 LabelSelector: "matchLabels and matchExpressions are ANDed"; NotIn matches a missing
  // key (k8s.io/apimachinery/pkg/labels selector.go Requirement.Matches); "An empty podSelector
  // selects all pods in this namespace" (NetworkPolicySpec.podSelector).
  const pods = (): Manifests =>
    manifests()
      .pod('x/web', { app: 'web', tier: 'front' })
      .pod('x/db', { app: 'db' })
      .pod('x/bare')
      .pod('y/web', { app: 'web', tier: 'front' });

  const cases: { rule: string; selector: string; selected: string[] }[] = [
    { rule: 'matchLabels selects pods carrying every listed label', selector: 'matchLabels: {app: web}', selected: ['x/web'] },
    {
      rule: 'matchExpressions In selects pods whose value is listed',
      selector: 'matchExpressions: [{key: app, operator: In, values: [web, db]}]',
      selected: ['x/db', 'x/web'],
    },
    {
      rule: 'matchExpressions NotIn selects pods with another value and pods without the key',
      selector: 'matchExpressions: [{key: app, operator: NotIn, values: [web]}]',
      selected: ['x/bare', 'x/db'],
    },
    {
      rule: 'matchExpressions Exists selects pods that have the key, whatever its value',
      selector: 'matchExpressions: [{key: app, operator: Exists}]',
      selected: ['x/db', 'x/web'],
    },
    {
      rule: 'matchExpressions DoesNotExist selects pods without the key',
      selector: 'matchExpressions: [{key: app, operator: DoesNotExist}]',
      selected: ['x/bare'],
    },
    {
      rule: 'matchLabels and matchExpressions are ANDed',
      selector: 'matchLabels: {tier: front}\nmatchExpressions: [{key: app, operator: NotIn, values: [web]}]',
      selected: [],
    },
    { rule: 'an empty podSelector selects every pod in the policy namespace only', selector: '{}', selected: ['x/bare', 'x/db', 'x/web'] },
  ];

  for (const { rule, selector, selected } of cases) {
    test(rule, () => {
      const indented = selector === '{}' ? ' {}' : `\n${selector.replace(/^/gm, '    ')}`;
      const c = pods().policy('x/deny', `podSelector:${indented}\npolicyTypes: [Ingress]`).build();
      const isolated = c.cluster.endpoints.filter((e) => isolatedFor(c, e.id, 'Ingress').length > 0).map((e) => e.id);
      assert.deepEqual(isolated, selected);
    });
  }
});

describe('policyTypes: defaulting', () => {
  // SetDefaults_NetworkPolicy (pkg/apis/networking/v1/defaults.go): "Any policy that does not
  // specify policyTypes implies at least Ingress"; Egress is added when `len(Egress) != 0`.
  const cases: { rule: string; spec: string; policyTypes: string[] }[] = [
    { rule: 'a policy without policyTypes and without egress is Ingress only', spec: 'podSelector: {}\ningress: [{}]', policyTypes: ['Ingress'] },
    { rule: 'a policy without policyTypes or rules is Ingress only (deny all ingress)', spec: 'podSelector: {}', policyTypes: ['Ingress'] },
    { rule: 'egress rules add Egress to the defaulted policyTypes', spec: 'podSelector: {}\negress: [{}]', policyTypes: ['Ingress', 'Egress'] },
    { rule: 'an empty egress list does not add Egress (len(Egress) != 0)', spec: 'podSelector: {}\negress: []', policyTypes: ['Ingress'] },
    { rule: 'an empty policyTypes list is defaulted like a missing one', spec: 'podSelector: {}\npolicyTypes: []\negress: [{}]', policyTypes: ['Ingress', 'Egress'] },
    { rule: 'explicit policyTypes are kept as written', spec: 'podSelector: {}\npolicyTypes: [Egress]\ningress: [{}]', policyTypes: ['Egress'] },
  ];
  for (const { rule, spec, policyTypes } of cases) {
    test(rule, () => {
      const c = manifests().pod('x/a').policy('x/p', spec).build();
      assert.deepEqual(c.cluster.policies[0].spec.policyTypes, policyTypes);
      assert.deepEqual(isolatedFor(c, 'x/a', 'Ingress'), policyTypes.includes('Ingress') ? ['x/p'] : []);
      assert.deepEqual(isolatedFor(c, 'x/a', 'Egress'), policyTypes.includes('Egress') ? ['x/p'] : []);
    });
  }

  test('egress: [] with defaulted policyTypes leaves egress open', () => {
    const c = manifests().pod('x/a').pod('x/b').policy('x/p', 'podSelector: {matchLabels: {}}\negress: []').build();
    const v = check(c, 'x/a', 'x/b');
    assert.equal(v.egress.isolated, false);
    assert.equal(v.egress.allowed, true);
    assert.equal(v.ingress.isolated, true);
    assert.equal(v.allowed, false);
  });
});

describe('isolation is per direction', () => {
  // "By default, a pod is non-isolated for ingress/egress"; a pod is isolated for a direction
  // when a policy that selects it has that direction in policyTypes.
  const base = (): Manifests => manifests().pod('x/a', { app: 'a' }).pod('x/b', { app: 'b' });

  test('egress-only policy leaves ingress open', () => {
    const c = base().policy('x/p', 'podSelector: {matchLabels: {app: b}}\npolicyTypes: [Egress]').build();
    assert.equal(allowed(c, 'x/a', 'x/b'), true, 'ingress to b stays open');
    assert.equal(allowed(c, 'x/b', 'x/a'), false, 'egress from b is denied');
    assert.equal(check(c, 'x/a', 'x/b').ingress.isolated, false);
  });

  test('ingress-only policy leaves egress open', () => {
    const c = base().policy('x/p', 'podSelector: {matchLabels: {app: b}}\npolicyTypes: [Ingress]').build();
    assert.equal(allowed(c, 'x/a', 'x/b'), false, 'ingress to b is denied');
    assert.equal(allowed(c, 'x/b', 'x/a'), true, 'egress from b stays open');
    assert.equal(check(c, 'x/b', 'x/a').egress.isolated, false);
  });

  test('ingress rules of a policy whose policyTypes lacks Ingress are ignored', () => {
    // policyTypes: "If this field is not specified, it will default based on the existence of
    // ingress or egress rules"; when it is specified, only the listed directions take effect.
    const c = base()
      .policy('x/deny-ingress', 'podSelector: {matchLabels: {app: b}}\npolicyTypes: [Ingress]')
      .policy('x/egress-only', 'podSelector: {matchLabels: {app: b}}\npolicyTypes: [Egress]\ningress: [{}]\negress: [{}]')
      .build();
    const v = check(c, 'x/a', 'x/b');
    assert.equal(v.allowed, false);
    assert.deepEqual(v.ingress.isolatingPolicies, [{ namespace: 'x', name: 'deny-ingress' }]);
    assert.deepEqual(v.ingress.allowedBy, []);
  });

  test('egress rules of a policy whose policyTypes lacks Egress are ignored', () => {
    const c = base().policy('x/p', 'podSelector: {matchLabels: {app: b}}\npolicyTypes: [Ingress]\negress: [{to: [{podSelector: {}}]}]').build();
    const v = check(c, 'x/b', '203.0.113.9');
    assert.equal(v.egress.isolated, false);
    assert.equal(v.allowed, true);
  });
});

describe('from peers', () => {
  // NetworkPolicyPeer: podSelector alone "selects particular Pods in the same namespace as the
  // NetworkPolicy"; namespaceSelector alone "selects all Pods in the matching namespaces"; both
  // "selects particular Pods within particular Namespaces"; separate peers are ORed ("If this
  // field is present and contains at least one item, this rule allows traffic only if the
  // traffic matches at least one item in the from list").
  const cluster = (from: string): CompiledCluster =>
    manifests()
      .namespace('x', { team: 'x' })
      .namespace('y', { team: 'y' })
      .namespace('z', { team: 'z' })
      .pod('x/a', { app: 'a' })
      .pod('x/b', { app: 'b' })
      .pod('x/c', { app: 'c' })
      .pod('y/a', { app: 'a' })
      .pod('y/b', { app: 'b' })
      .pod('z/a', { app: 'a' })
      .policy('x/p', `podSelector: {matchLabels: {app: b}}\ningress:\n- from:\n${from.replace(/^/gm, '  ')}`)
      .build();

  const sources = ['x/a', 'x/c', 'y/a', 'y/b', 'z/a'];
  const cases: { rule: string; from: string; allowed: string[] }[] = [
    { rule: 'a podSelector peer alone matches pods in the policy namespace only', from: '- podSelector: {matchLabels: {app: a}}', allowed: ['x/a'] },
    { rule: 'an empty podSelector peer matches every pod in the policy namespace only', from: '- podSelector: {}', allowed: ['x/a', 'x/c'] },
    { rule: 'a namespaceSelector peer alone matches every pod in matching namespaces', from: '- namespaceSelector: {matchLabels: {team: y}}', allowed: ['y/a', 'y/b'] },
    { rule: 'an empty namespaceSelector peer matches every pod in every namespace', from: '- namespaceSelector: {}', allowed: sources },
    {
      rule: 'podSelector and namespaceSelector in one peer are ANDed',
      from: '- namespaceSelector: {matchLabels: {team: y}}\n  podSelector: {matchLabels: {app: a}}',
      allowed: ['y/a'],
    },
    {
      rule: 'podSelector and namespaceSelector in two peers are ORed',
      from: '- namespaceSelector: {matchLabels: {team: y}}\n- podSelector: {matchLabels: {app: a}}',
      allowed: ['x/a', 'y/a', 'y/b'],
    },
    {
      rule: 'namespaceSelector matches the kubernetes.io/metadata.name label the apiserver sets',
      from: '- namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: z}}',
      allowed: ['z/a'],
    },
  ];
  for (const c of cases) {
    test(c.rule, () => {
      const compiled = cluster(c.from);
      const got = sources.filter((s) => allowed(compiled, s, 'x/b'));
      assert.deepEqual(got, c.allowed);
    });
  }
});

describe('ipBlock peers', () => {
  // IPBlock: "describes a particular CIDR ... that is allowed to the pods matched by a
  // NetworkPolicySpec's podSelector. The except entry describes CIDRs that should not be
  // included within this rule." Pod addresses come from status.podIP(s).
  const cluster = (): CompiledCluster =>
    manifests()
      .pod('x/target', { app: 'target' }, { ip: '10.0.9.9' })
      .pod('x/in', {}, { ip: '10.0.1.5' })
      .pod('x/excepted', {}, { ip: '10.0.2.5' })
      .pod('x/outside', {}, { ip: '10.1.0.5' })
      .pod('x/unscheduled', {})
      .policy(
        'x/p',
        `podSelector: {matchLabels: {app: target}}
policyTypes: [Ingress, Egress]
ingress:
- from:
  - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.0/24]}
egress:
- to:
  - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.0/24]}`,
      )
      .build();

  const cases: { rule: string; pod: string; allowed: boolean }[] = [
    { rule: 'ipBlock matches a pod whose podIP is inside cidr', pod: 'x/in', allowed: true },
    { rule: 'ipBlock does not match a pod whose podIP is inside an except block', pod: 'x/excepted', allowed: false },
    { rule: 'ipBlock does not match a pod whose podIP is outside cidr', pod: 'x/outside', allowed: false },
    { rule: 'ipBlock never matches a pod without an IP', pod: 'x/unscheduled', allowed: false },
  ];
  for (const { rule, pod, allowed: want } of cases) {
    test(`${rule} (ingress)`, () => assert.equal(allowed(cluster(), pod, 'x/target'), want));
    test(`${rule} (egress)`, () => assert.equal(allowed(cluster(), 'x/target', pod), want));
  }

  test('a verdict notes that an ipBlock could not match a source without an IP', () => {
    const v = check(cluster(), 'x/unscheduled', 'x/target');
    assert.deepEqual(v.ingress.notes, ['the source has no IP address here, so ipBlock peers cannot match it']);
    assert.equal(v.sourceIP, undefined);
  });

  test('a verdict notes that an ipBlock could not match a destination without an IP', () => {
    const v = check(cluster(), 'x/target', 'x/unscheduled');
    assert.deepEqual(v.egress.notes, ['the destination has no IP address here, so ipBlock peers cannot match it']);
  });

  test('no note when the peer has an IP that is simply outside the block', () => {
    const v = check(cluster(), 'x/outside', 'x/target');
    assert.deepEqual(v.ingress.notes, []);
    assert.equal(v.sourceIP, '10.1.0.5');
    assert.equal(v.destinationIP, '10.0.9.9');
  });

  test('ipBlock matches traffic from an outside address in cidr and not in except', () => {
    const c = cluster();
    assert.equal(allowed(c, '10.0.200.1', 'x/target'), true);
    assert.equal(allowed(c, '10.0.2.1', 'x/target'), false);
    assert.equal(allowed(c, '192.0.2.1', 'x/target'), false);
  });
});

describe('rules without peers and empty rule lists', () => {
  // NetworkPolicyIngressRule.from: "If this field is empty or missing, this rule matches all
  // sources (traffic not restricted by source)". NetworkPolicySpec.ingress: "If this field is
  // empty then this NetworkPolicy does not allow any traffic (and serves solely to ensure that
  // the pods it selects are isolated by default)".
  const cluster = (ingress: string): CompiledCluster =>
    manifests()
      .namespace('other')
      .pod('x/target', { app: 'target' }, { ip: '10.0.0.1' })
      .pod('x/a', {}, { ip: '10.0.0.2' })
      .pod('other/b', {}, { ip: '10.0.0.3' })
      .policy('x/p', `podSelector: {matchLabels: {app: target}}\n${ingress}`)
      .build();

  const cases: { rule: string; ingress: string; expect: Record<string, boolean> }[] = [
    {
      rule: 'a rule with ports and no from matches all sources, in and outside the cluster',
      ingress: 'ingress:\n- ports: [{port: 80}]',
      expect: { 'x/a:80': true, 'other/b:80': true, '198.51.100.1:80': true, 'x/a:81': false },
    },
    {
      rule: 'an empty from list matches all sources',
      ingress: 'ingress:\n- from: []\n  ports: [{port: 80}]',
      expect: { 'x/a:80': true, 'other/b:80': true, '198.51.100.1:80': true, 'x/a:81': false },
    },
    {
      rule: 'an empty ingress list isolates and allows nothing',
      ingress: 'ingress: []',
      expect: { 'x/a:80': false, 'other/b:80': false, '198.51.100.1:80': false, 'x/a:81': false },
    },
    {
      rule: 'ingress: [{}] allows every source on every port',
      ingress: 'ingress: [{}]',
      expect: { 'x/a:80': true, 'other/b:80': true, '198.51.100.1:80': true, 'x/a:81': true },
    },
  ];
  for (const { rule, ingress, expect } of cases) {
    test(rule, () => {
      const c = cluster(ingress);
      const got: Record<string, boolean> = {};
      for (const key of Object.keys(expect)) {
        const [from, port] = key.split(/:(?=[0-9]+$)/);
        got[key] = allowed(c, from, 'x/target', Number(port));
      }
      assert.deepEqual(got, expect);
      assert.equal(check(c, 'x/a', 'x/target').ingress.isolated, true);
    });
  }
});

describe('ports', () => {
  // NetworkPolicyPort: protocol "If not specified, this field defaults to TCP"; port "can either
  // be a numerical or named port on a pod"; endPort: "indicates that the range of ports from port
  // to endPort if set, inclusive, should be allowed by the policy".
  const cluster = (ports: string): CompiledCluster =>
    manifests()
      .pod('x/src')
      .pod('x/dst', { app: 'dst' })
      .policy('x/p', `podSelector: {matchLabels: {app: dst}}\ningress:\n- ports: ${ports}`)
      .build();

  const cases: { rule: string; ports: string; allowed: string[]; denied: string[] }[] = [
    { rule: 'protocol defaults to TCP', ports: '[{port: 80}]', allowed: ['80/TCP'], denied: ['80/UDP', '80/SCTP'] },
    { rule: 'a numeric port matches that port only', ports: '[{port: 80, protocol: TCP}]', allowed: ['80/TCP'], denied: ['79/TCP', '81/TCP'] },
    { rule: 'an explicit protocol matches that protocol only', ports: '[{port: 53, protocol: UDP}]', allowed: ['53/UDP'], denied: ['53/TCP'] },
    { rule: 'a port entry without port matches every port of its protocol', ports: '[{protocol: UDP}]', allowed: ['1/UDP', '65535/UDP'], denied: ['53/TCP'] },
    {
      rule: 'endPort makes an inclusive range',
      ports: '[{port: 8000, endPort: 8080}]',
      allowed: ['8000/TCP', '8040/TCP', '8080/TCP'],
      denied: ['7999/TCP', '8081/TCP', '8000/UDP'],
    },
    { rule: 'several port entries are ORed', ports: '[{port: 80}, {port: 443}]', allowed: ['80/TCP', '443/TCP'], denied: ['81/TCP'] },
  ];
  for (const { rule, ports, allowed: yes, denied: no } of cases) {
    test(rule, () => {
      const c = cluster(ports);
      const at = (pp: string): boolean => {
        const [port, protocol] = pp.split('/');
        return allowed(c, 'x/src', 'x/dst', Number(port), protocol as Protocol);
      };
      assert.deepEqual(yes.filter((p) => !at(p)), [], 'should be allowed');
      assert.deepEqual(no.filter((p) => at(p)), [], 'should be denied');
    });
  }

  describe('named ports resolve against the destination pod', () => {
    const named = (): CompiledCluster =>
      manifests()
        .pod('x/b', { app: 'server' }, { ports: ['http:8080'] })
        .pod('x/c', { app: 'server' }, { ports: ['http:9090'] })
        .pod('x/d', { app: 'server' }, { ports: ['http:8080/UDP'] })
        .pod('x/client', { app: 'client' }, { ports: ['http:7070'] })
        .policy('x/in', 'podSelector: {matchLabels: {app: server}}\ningress:\n- ports: [{port: http}]')
        .policy('x/out', 'podSelector: {matchLabels: {app: client}}\negress:\n- ports: [{port: http}]')
        .build();

    test('one named-port rule means different numbers on different pods', () => {
      const c = named();
      assert.equal(allowed(c, 'x/client', 'x/b', 8080), true);
      assert.equal(allowed(c, 'x/client', 'x/b', 9090), false);
      assert.equal(allowed(c, 'x/client', 'x/c', 9090), true);
      assert.equal(allowed(c, 'x/client', 'x/c', 8080), false);
    });

    test('a named port needs the same name and protocol on the destination', () => {
      const c = named();
      // x/d names 8080/UDP "http"; the rule's protocol defaults to TCP.
      assert.equal(check(c, 'x/client', 'x/d', 8080, 'TCP').ingress.allowed, false);
      assert.equal(check(c, 'x/client', 'x/d', 8080, 'UDP').ingress.allowed, false);
    });

    test('egress named ports resolve on the destination, not on the source', () => {
      const c = named();
      assert.equal(check(c, 'x/client', 'x/b', 8080).egress.allowed, true);
      assert.equal(check(c, 'x/client', 'x/c', 9090).egress.allowed, true);
      // 7070 is the client's own "http"; it means nothing for traffic to x/b.
      assert.equal(check(c, 'x/client', 'x/b', 7070).egress.allowed, false);
    });

    test('an egress named port never matches traffic to an outside address', () => {
      assert.equal(check(named(), 'x/client', '203.0.113.1', 8080).egress.allowed, false);
    });
  });
});

describe('combining policies', () => {
  test('several policies selecting a pod allow the union of their rules', () => {
    // "Network policies do not conflict; they are additive. If any policy or policies apply to a
    // given pod for a given direction, the connections allowed ... is the union of what the
    // applicable policies allow." (concepts/services-networking/network-policies)
    const c = manifests()
      .pod('x/a', { app: 'a' })
      .pod('x/c', { app: 'c' })
      .pod('x/b', { app: 'b' })
      .policy('x/p1', 'podSelector: {matchLabels: {app: b}}\ningress:\n- from: [{podSelector: {matchLabels: {app: a}}}]\n  ports: [{port: 80}]')
      .policy('x/p2', 'podSelector: {matchLabels: {app: b}}\ningress:\n- from: [{podSelector: {matchLabels: {app: c}}}]\n  ports: [{port: 81}]')
      .build();
    const table: [string, number, boolean][] = [
      ['x/a', 80, true],
      ['x/a', 81, false],
      ['x/c', 81, true],
      ['x/c', 80, false],
    ];
    assert.deepEqual(
      table.map(([from, port]) => [from, port, allowed(c, from, 'x/b', port)]),
      table,
    );
  });

  test('a connection needs both the source egress and the destination ingress', () => {
    // "both the egress policy on the source pod and the ingress policy on the destination pod
    // need to allow the connection. If either side does not allow the connection, it will not
    // happen." (concepts/services-networking/network-policies)
    const cases: { egress: boolean; ingress: boolean }[] = [
      { egress: true, ingress: true },
      { egress: true, ingress: false },
      { egress: false, ingress: true },
      { egress: false, ingress: false },
    ];
    for (const { egress, ingress } of cases) {
      const c = manifests()
        .pod('x/a', { app: 'a' })
        .pod('x/b', { app: 'b' })
        .policy('x/egress', `podSelector: {matchLabels: {app: a}}\npolicyTypes: [Egress]\negress: ${egress ? '[{}]' : '[]'}`)
        .policy('x/ingress', `podSelector: {matchLabels: {app: b}}\npolicyTypes: [Ingress]\ningress: ${ingress ? '[{}]' : '[]'}`)
        .build();
      const v = check(c, 'x/a', 'x/b');
      assert.deepEqual(
        { egress: v.egress.allowed, ingress: v.ingress.allowed, allowed: v.allowed },
        { egress, ingress, allowed: egress && ingress },
      );
    }
  });
});

describe('hostNetwork pods', () => {
  // Pods with hostNetwork share the node's network namespace: NetworkPolicy does not isolate
  // them, and pod/namespace selectors do not match their traffic (it carries the node's address);
  // upstream leaves this to the implementation (types.go NetworkPolicyPeer notes), Podwall makes
  // the conservative, common choice.
  const cluster = (): CompiledCluster =>
    manifests()
      .pod('x/host', { app: 'b' }, { hostNetwork: true, ip: '192.168.1.10' })
      .pod('x/a', { app: 'a' }, { ip: '10.0.0.2' })
      .pod('x/b', { app: 'b' }, { ip: '10.0.0.3' })
      .pod('x/c', { app: 'c' }, { ip: '10.0.0.4' })
      .policy('x/deny-b', 'podSelector: {matchLabels: {app: b}}\npolicyTypes: [Ingress, Egress]')
      .policy(
        'x/to-a',
        `podSelector: {matchLabels: {app: a}}
ingress:
- from:
  - podSelector: {}
  - namespaceSelector: {}
  ports: [{port: 80}]
- from: [{ipBlock: {cidr: 192.168.1.0/24}}]
  ports: [{port: 81}]`,
      )
      .build();

  test('a hostNetwork pod is not isolated by a policy whose selector matches its labels', () => {
    const c = cluster();
    assert.deepEqual(isolatedFor(c, 'x/host', 'Ingress'), []);
    const v = check(c, 'x/a', 'x/host', 81);
    assert.equal(v.ingress.notSubject, 'hostNetwork');
    assert.equal(v.ingress.allowed, true);
    assert.equal(check(c, 'x/host', '203.0.113.5').egress.notSubject, 'hostNetwork');
  });

  test('a hostNetwork pod is not matched by pod or namespace selectors', () => {
    const c = cluster();
    assert.equal(allowed(c, 'x/host', 'x/a', 80), false);
    assert.equal(allowed(c, 'x/c', 'x/a', 80), true, 'an ordinary pod in the namespace is matched');
  });

  test('a hostNetwork pod is matched by an ipBlock holding its address', () => {
    assert.equal(allowed(cluster(), 'x/host', 'x/a', 81), true);
  });
});

describe('traffic to and from outside the cluster', () => {
  const cluster = (ingress: string, egress: string): CompiledCluster =>
    manifests()
      .pod('x/a', { app: 'a' }, { ip: '10.0.0.2' })
      .pod('x/b', { app: 'b' }, { ip: '10.0.0.3' })
      .policy('x/in', `podSelector: {matchLabels: {app: b}}\npolicyTypes: [Ingress]\ningress: ${ingress}`)
      .policy('x/out', `podSelector: {matchLabels: {app: a}}\npolicyTypes: [Egress]\negress: ${egress}`)
      .build();

  const inbound: { rule: string; ingress: string; allowed: boolean }[] = [
    { rule: 'pod selectors do not match an outside address', ingress: '[{from: [{podSelector: {}}]}]', allowed: false },
    { rule: 'an empty namespaceSelector does not match an outside address', ingress: '[{from: [{namespaceSelector: {}}]}]', allowed: false },
    { rule: 'an ipBlock matches an outside address in its cidr', ingress: '[{from: [{ipBlock: {cidr: 203.0.113.0/24}}]}]', allowed: true },
    { rule: 'a rule without peers matches an outside address', ingress: '[{ports: [{port: 80}]}]', allowed: true },
  ];
  for (const { rule, ingress, allowed: want } of inbound) {
    test(`from outside: ${rule}`, () => {
      const v = check(cluster(ingress, '[]'), '203.0.113.7', 'x/b');
      assert.equal(v.allowed, want);
      assert.equal(v.egress.notSubject, 'external', 'an outside source has no egress policy');
      assert.equal(v.sourceIP, '203.0.113.7');
    });
  }

  const outbound: { rule: string; egress: string; allowed: boolean }[] = [
    { rule: 'an egress-isolated pod may not reach an outside address without a rule', egress: '[]', allowed: false },
    { rule: 'pod selectors do not match an outside destination', egress: '[{to: [{namespaceSelector: {}}]}]', allowed: false },
    { rule: 'an ipBlock allows an outside destination', egress: '[{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]', allowed: true },
    { rule: 'a rule without peers allows an outside destination', egress: '[{}]', allowed: true },
  ];
  for (const { rule, egress, allowed: want } of outbound) {
    test(`to outside: ${rule}`, () => {
      const v = check(cluster('[]', egress), 'x/a', '198.51.100.20');
      assert.equal(v.allowed, want);
      assert.equal(v.ingress.notSubject, 'external');
      assert.equal(v.destinationIP, '198.51.100.20');
    });
  }

  test('to outside: a pod without egress policies may reach any outside address', () => {
    assert.equal(allowed(cluster('[]', '[]'), 'x/b', '198.51.100.20'), true);
  });
});

describe('dual-stack pods', () => {
  // status.podIPs: "Pods may be allocated at most 1 value for each of IPv4 and IPv6"; a
  // connection uses one family, so the source address is the one of the destination's family.
  const cluster = (cidr: string): CompiledCluster =>
    manifests()
      .pod('x/client', { app: 'client' }, { ip: ['10.0.0.1', 'fd00::1'] })
      .pod('x/server', { app: 'server' }, { ip: ['fd00::2', '10.0.0.2'] })
      .pod('x/v4only', { app: 'v4' }, { ip: '10.0.0.3' })
      .policy('x/p', `podSelector: {matchLabels: {app: server}}\ningress:\n- from: [{ipBlock: {cidr: "${cidr}"}}]`)
      .build();

  test('an IPv6 ipBlock matches a dual-stack source connecting to an IPv6 primary address', () => {
    const v = check(cluster('fd00::/64'), 'x/client', 'x/server');
    assert.equal(v.allowed, true);
    assert.equal(v.sourceIP, 'fd00::1');
    assert.equal(v.destinationIP, 'fd00::2');
  });

  test('an IPv4 ipBlock does not match a connection made over IPv6', () => {
    assert.equal(allowed(cluster('10.0.0.0/8'), 'x/client', 'x/server'), false);
  });

  test('addressing the destination at its IPv4 address makes the source use IPv4', () => {
    const c = cluster('10.0.0.0/8');
    const v = check(c, 'x/client', 'x/server@10.0.0.2');
    assert.equal(v.allowed, true);
    assert.equal(v.sourceIP, '10.0.0.1');
  });

  test('a single-stack IPv4 source has no IPv6 address to match an IPv6 ipBlock', () => {
    const v = check(cluster('fd00::/64'), 'x/v4only', 'x/server');
    assert.equal(v.allowed, false);
    assert.deepEqual(v.ingress.notes, ['the source has no IP address here, so ipBlock peers cannot match it']);
  });
});

describe('verdict reasons', () => {
  const cluster = (): CompiledCluster =>
    manifests()
      .namespace('x')
      .namespace('y')
      .pod('x/a', { app: 'a' })
      .pod('x/b', { app: 'b' })
      .pod('y/b', { app: 'b' })
      .policy(
        'x/p-a',
        `podSelector: {matchLabels: {app: b}}
ingress:
- from: [{podSelector: {matchLabels: {app: c}}}]
  ports: [{port: 81}]
- from: [{podSelector: {matchLabels: {app: a}}}]
  ports: [{port: 80}]
- from: [{podSelector: {matchLabels: {app: a}}}]
  ports: [{port: 82}]`,
      )
      .policy('x/p-b', 'podSelector: {}\ningress:\n- ports: [{port: 80}]')
      .policy('x/p-none', 'podSelector: {matchLabels: {app: b}}\npolicyTypes: [Egress]\negress:\n- ports: [{port: 53, protocol: UDP}]')
      .policy('x/p-other', 'podSelector: {matchLabels: {app: zzz}}\ningress: [{}]')
      .policy('y/p-y', 'podSelector: {}\ningress: [{}]')
      .build();

  test('isolatingPolicies lists exactly the policies selecting the pod for that direction', () => {
    const v = check(cluster(), 'x/a', 'x/b');
    assert.deepEqual(v.ingress.isolatingPolicies, [
      { namespace: 'x', name: 'p-a' },
      { namespace: 'x', name: 'p-b' },
    ]);
    assert.deepEqual(v.egress.isolatingPolicies, []);
    assert.equal(v.egress.isolated, false);
  });

  test('allowedBy lists every rule that allows the connection, with its policy and index', () => {
    const v = check(cluster(), 'x/a', 'x/b');
    assert.deepEqual(v.ingress.allowedBy, [
      { tier: 'NetworkPolicy', policy: { namespace: 'x', name: 'p-a' }, direction: 'Ingress', index: 1 },
      { tier: 'NetworkPolicy', policy: { namespace: 'x', name: 'p-b' }, direction: 'Ingress', index: 0 },
    ]);
    assert.deepEqual(v.egress.allowedBy, [], 'an unisolated side names no rule');
  });

  test('a denied connection has no allowedBy but still names the isolating policies', () => {
    const v = check(cluster(), 'x/a', 'x/b', 81);
    assert.equal(v.allowed, false);
    assert.deepEqual(v.ingress.allowedBy, []);
    assert.equal(v.ingress.isolated, true);
    assert.equal(v.ingress.isolatingPolicies.length, 2);
  });

  test('egress reasons name the egress rule on the source', () => {
    const v = check(cluster(), 'x/b', '192.0.2.53', 53, 'UDP');
    assert.deepEqual(v.egress.isolatingPolicies, [{ namespace: 'x', name: 'p-none' }]);
    assert.deepEqual(v.egress.allowedBy, [
      { tier: 'NetworkPolicy', policy: { namespace: 'x', name: 'p-none' }, direction: 'Egress', index: 0 },
    ]);
    assert.equal(v.tier, 'NetworkPolicy');
  });
});

describe('explainEndpoints', () => {
  const cluster = (): CompiledCluster =>
    manifests()
      .pod('x/web', { app: 'web' }, { ports: ['http:80'] })
      .pod('x/api', { app: 'api' }, { ports: ['api:5000'] })
      .pod('x/db', { app: 'db' }, { ports: ['3306'] })
      .policy('x/db-policy', 'podSelector: {matchLabels: {app: db}}\ningress:\n- from: [{podSelector: {matchLabels: {app: api}}}]\n  ports: [{port: 3306}]')
      .policy('x/api-egress', 'podSelector: {matchLabels: {app: api}}\npolicyTypes: [Egress]\negress:\n- to: [{podSelector: {matchLabels: {app: db}}}]')
      .build();

  test('explain reports isolation, selecting policies and rules of an isolated pod', () => {
    const c = cluster();
    const [db] = explainEndpoints(c, [c.endpointsById.get('x/db')!]);
    assert.deepEqual(db.selectedBy, [{ policy: { namespace: 'x', name: 'db-policy' }, policyTypes: ['Ingress'] }]);
    assert.equal(db.hostNetwork, false);
    assert.equal(db.ingress.isolated, true);
    assert.deepEqual(db.ingress.isolatingPolicies, [{ namespace: 'x', name: 'db-policy' }]);
    assert.deepEqual(
      db.ingress.rules.map((r) => r.rule),
      [{ tier: 'NetworkPolicy', policy: { namespace: 'x', name: 'db-policy' }, direction: 'Ingress', index: 0 }],
    );
    assert.equal(db.ingress.external, 'none');
    assert.equal(db.egress.isolated, false);
    assert.equal(db.egress.external, 'all');
  });

  test('explain reach lists who may connect and where to, on declared ports', () => {
    const c = cluster();
    const byId = new Map(explainEndpoints(c).map((e) => [e.endpoint.id, e]));
    assert.deepEqual(byId.get('x/db')!.ingress.reach, [{ endpoint: 'x/api', ports: [{ port: 3306, protocol: 'TCP' }] }]);
    // api may only reach db; db admits api on 3306.
    assert.deepEqual(byId.get('x/api')!.egress.reach, [{ endpoint: 'x/db', ports: [{ port: 3306, protocol: 'TCP' }] }]);
    assert.deepEqual(byId.get('x/web')!.egress.reach, [
      { endpoint: 'x/api', ports: [{ port: 5000, protocol: 'TCP' }] },
      { endpoint: 'x/web', ports: [{ port: 80, protocol: 'TCP' }] },
    ]);
    assert.deepEqual(byId.get('x/web')!.ingress.reach, [
      { endpoint: 'x/db', ports: [{ port: 80, protocol: 'TCP' }] },
      { endpoint: 'x/web', ports: [{ port: 80, protocol: 'TCP' }] },
    ]);
    assert.equal(byId.get('x/api')!.egress.isolated, true);
    assert.equal(byId.get('x/api')!.egress.external, 'none');
  });
});
