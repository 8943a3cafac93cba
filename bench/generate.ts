// Deterministic generator of realistic clusters for the engine benchmark, as manifest TEXT
// (multi-document YAML, one file per namespace, what users feed `podwall -f dir/`).
//
// Shape: ~pods/100 namespaces labelled team/env (plus kube-system with CoreDNS and a monitoring
// namespace), pods grouped in "apps" (Deployment-like: app/tier/version labels and one
// pod-template-hash per app; StatefulSet-like for a fraction: a per-pod
// statefulset.kubernetes.io/pod-name label), container ports (mostly named), unique status.podIP
// in 10.0.0.0/8 allocated per node /24; and policies mixing default-deny, app-to-app allows,
// namespaceSelector+podSelector peers, matchExpressions, ipBlock with except, named ports,
// endPort ranges, DNS egress to kube-system, monitoring scrapes, allow-all rules.
//
// Same (pods, policies, seed) -> byte-identical text.

export interface GenerateOptions {
  readonly pods: number;
  readonly policies: number;
  readonly seed?: number;
}

export interface GeneratedCluster {
  readonly texts: { file: string; text: string }[];
  readonly pods: number;
  readonly policies: number;
  readonly namespaces: number;
  readonly apps: number;
  readonly bytes: number;
}

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (mulberry32) and helpers.

export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  /** Picks by weight; weights need not sum to 1. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [v, w] of entries) {
      r -= w;
      if (r < 0) return v;
    }
    return entries[entries.length - 1][0];
  }
  sample<T>(xs: readonly T[], k: number): T[] {
    const copy = [...xs];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy.slice(0, k);
  }
  token(length: number, alphabet = 'bcdfghjklmnpqrstvwxz2456789'): string {
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }
}

// ---------------------------------------------------------------------------------------------
// A tiny block-style YAML emitter (kubectl-like layout). Strings that YAML could read as anything
// but a string are double-quoted (JSON strings are valid YAML double-quoted scalars).

type Value = string | number | boolean | null | Value[] | { [key: string]: Value | undefined };

const PLAIN = /^[A-Za-z_/][A-Za-z0-9._/-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;

function scalar(v: string | number | boolean | null): string {
  if (typeof v === 'string') return PLAIN.test(v) && !RESERVED.test(v) ? v : JSON.stringify(v);
  return String(v);
}

function isEmpty(v: Value): boolean {
  return (Array.isArray(v) && v.length === 0) || (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
}

function emit(v: Value, indent: string, out: string[]): void {
  // Called for a map or a sequence already known to be non-empty; writes complete lines.
  if (Array.isArray(v)) {
    for (const item of v) {
      if (item !== null && typeof item === 'object' && !isEmpty(item)) {
        const lines: string[] = [];
        emit(item, indent + '  ', lines);
        out.push(indent + '- ' + lines[0].slice(indent.length + 2), ...lines.slice(1));
      } else {
        out.push(`${indent}- ${inline(item)}`);
      }
    }
    return;
  }
  const obj = v as { [key: string]: Value | undefined };
  for (const key of Object.keys(obj)) {
    const child = obj[key];
    if (child === undefined) continue;
    const k = scalar(key);
    if (child !== null && typeof child === 'object' && !isEmpty(child)) {
      out.push(`${indent}${k}:`);
      // kubectl style: sequences under a key are not indented further.
      emit(child, Array.isArray(child) ? indent : indent + '  ', out);
    } else {
      out.push(`${indent}${k}: ${inline(child)}`);
    }
  }
}

function inline(v: Value): string {
  if (Array.isArray(v)) return '[]';
  if (v !== null && typeof v === 'object') return '{}';
  return scalar(v);
}

export function toYAML(docs: readonly Value[]): string {
  const out: string[] = [];
  docs.forEach((doc, i) => {
    if (i > 0) out.push('---');
    emit(doc, '', out);
  });
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// The cluster model the generator builds before writing manifests.

type Tier = 'frontend' | 'backend' | 'db' | 'cache' | 'worker' | 'gateway';

interface PortSpec {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol?: 'TCP' | 'UDP';
}

interface App {
  readonly namespace: string;
  readonly name: string;
  readonly tier: Tier;
  readonly version: string;
  readonly stateful: boolean;
  readonly hash: string;
  readonly replicas: number;
  readonly ports: readonly PortSpec[];
  readonly extraLabels: Record<string, string>;
  readonly podNames: string[];
}

interface Ns {
  readonly name: string;
  readonly team: string;
  readonly env: string;
  readonly labels: Record<string, string>;
  readonly apps: App[];
}

const TIER_PORTS: Record<Tier, readonly (readonly PortSpec[])[]> = {
  frontend: [[{ name: 'http', containerPort: 8080 }], [{ name: 'http', containerPort: 80 }, { name: 'metrics', containerPort: 9090 }]],
  gateway: [[{ name: 'http', containerPort: 8080 }, { name: 'https', containerPort: 8443 }, { name: 'metrics', containerPort: 9090 }]],
  backend: [
    [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }],
    [{ name: 'grpc', containerPort: 9000 }, { name: 'http', containerPort: 8080 }],
    [{ name: 'http', containerPort: 5000 }, { containerPort: 9090 }],
    [{ containerPort: 8080 }],
  ],
  db: [
    [{ name: 'postgres', containerPort: 5432 }, { name: 'metrics', containerPort: 9187 }],
    [{ name: 'mysql', containerPort: 3306 }],
    [{ name: 'mongodb', containerPort: 27017 }],
  ],
  cache: [[{ name: 'redis', containerPort: 6379 }], [{ name: 'memcached', containerPort: 11211 }, { name: 'metrics', containerPort: 9150 }]],
  worker: [[], [{ name: 'metrics', containerPort: 9090 }], [{ name: 'http', containerPort: 8081 }]],
};

const APP_WORDS = [
  'web', 'api', 'auth', 'cart', 'checkout', 'payment', 'search', 'catalog', 'orders', 'users',
  'billing', 'notify', 'email', 'media', 'reports', 'ledger', 'inventory', 'shipping', 'profile',
  'session', 'feed', 'ranker', 'events', 'audit', 'gateway', 'pricing', 'promo', 'reviews',
];

/** The address plan: pods sit on nodes, each node owns a /24 of 10.16.0.0/12 (10.16.0.0 - 10.31.255.255). */
class IpAllocator {
  private readonly used: number[];
  constructor(
    private readonly rng: Rng,
    readonly nodes: number,
  ) {
    this.used = new Array<number>(nodes).fill(0);
  }
  nodeSubnet(node: number): string {
    return `10.${16 + (node >> 8)}.${node & 255}.0/24`;
  }
  next(): { ip: string; node: number } {
    let node = this.rng.int(0, this.nodes - 1);
    while (this.used[node] >= 250) node = (node + 1) % this.nodes;
    const host = 2 + this.used[node]++;
    return { ip: `10.${16 + (node >> 8)}.${node & 255}.${host}`, node };
  }
}

export function generateCluster(options: GenerateOptions): GeneratedCluster {
  const rng = new Rng(options.seed ?? 0x5eed);
  const podTarget = options.pods;
  const nsCount = Math.max(4, Math.round(podTarget / 100));
  const teams = Array.from({ length: Math.max(2, Math.ceil(nsCount / 4)) }, (_, i) => `team-${i}`);

  // Namespaces: kube-system (DNS), monitoring, then application namespaces.
  const namespaces: Ns[] = [];
  namespaces.push({ name: 'kube-system', team: 'platform', env: 'prod', labels: {}, apps: [] });
  namespaces.push({ name: 'monitoring', team: 'platform', env: 'prod', labels: { team: 'platform', purpose: 'monitoring' }, apps: [] });
  for (let i = 0; namespaces.length < nsCount; i++) {
    const team = rng.pick(teams);
    const env = rng.weighted<string>([['prod', 3], ['staging', 2], ['dev', 1]]);
    const labels: Record<string, string> = { team, env };
    if (rng.chance(0.3)) labels['istio-injection'] = 'enabled';
    if (rng.chance(0.2)) labels['compliance'] = rng.pick(['pci', 'hipaa', 'none']);
    namespaces.push({ name: `${team}-${env}-${i}`, team, env, labels, apps: [] });
  }

  const ips = new IpAllocator(rng, Math.max(4, Math.ceil(podTarget / 110)));
  const apps: App[] = [];
  // kube-system holds 3 pods; the rest are shared evenly by the other namespaces.
  const share = Math.max(0, podTarget - 3);
  const podsPerNs = (index: number): number =>
    Math.floor(share / (nsCount - 1)) + (index - 1 < share % (nsCount - 1) ? 1 : 0);

  // CoreDNS and friends in kube-system.
  const dnsPorts: PortSpec[] = [
    { name: 'dns', containerPort: 53, protocol: 'UDP' },
    { name: 'dns-tcp', containerPort: 53 },
    { name: 'metrics', containerPort: 9153 },
  ];
  const mkApp = (ns: Ns, name: string, tier: Tier, replicas: number, stateful: boolean, ports: readonly PortSpec[], extra: Record<string, string> = {}): App => {
    const app: App = {
      namespace: ns.name,
      name,
      tier,
      version: rng.pick(['v1', 'v1', 'v2', 'v3']),
      stateful,
      hash: rng.token(10),
      replicas,
      ports,
      extraLabels: extra,
      podNames: [],
    };
    ns.apps.push(app);
    apps.push(app);
    return app;
  };
  mkApp(namespaces[0], 'coredns', 'backend', 2, false, dnsPorts, { 'k8s-app': 'kube-dns' });
  mkApp(namespaces[0], 'metrics-server', 'backend', 1, false, [{ name: 'https', containerPort: 4443 }], { 'k8s-app': 'metrics-server' });

  for (let index = 1; index < namespaces.length; index++) {
    const ns = namespaces[index];
    let budget = podsPerNs(index);
    const used = new Set<string>();
    if (ns.name === 'monitoring') {
      mkApp(ns, 'prometheus', 'backend', 2, true, [{ name: 'web', containerPort: 9090 }]);
      mkApp(ns, 'grafana', 'frontend', 1, false, [{ name: 'http', containerPort: 3000 }]);
      budget -= 3;
    }
    while (budget > 0) {
      const tier = rng.weighted<Tier>([['backend', 5], ['frontend', 2], ['db', 1.5], ['cache', 1], ['worker', 2], ['gateway', 0.5]]);
      let name = rng.pick(APP_WORDS) + (tier === 'db' ? '-db' : tier === 'cache' ? '-cache' : tier === 'worker' ? '-worker' : '');
      while (used.has(name)) name = `${name}-${rng.int(2, 9)}`;
      used.add(name);
      const stateful = tier === 'db' || (tier === 'cache' && rng.chance(0.5)) || rng.chance(0.05);
      const replicas = Math.min(budget, stateful ? rng.int(1, 3) : rng.weighted<number>([[1, 2], [2, 3], [3, 4], [4, 2], [6, 2], [10, 1], [20, 0.5]]));
      const extra: Record<string, string> = {};
      if (rng.chance(0.15)) extra['app.kubernetes.io/part-of'] = rng.pick(['shop', 'platform', 'analytics']);
      if (rng.chance(0.1)) extra['sidecar.istio.io/inject'] = 'true';
      mkApp(ns, name, tier, replicas, stateful, rng.pick(TIER_PORTS[tier]), extra);
      budget -= replicas;
    }
  }

  // Pods.
  const docsByNs = new Map<string, Value[]>(namespaces.map((n) => [n.name, []]));
  let podCount = 0;
  for (const app of apps) {
    for (let r = 0; r < app.replicas; r++) {
      const podName = app.stateful ? `${app.name}-${r}` : `${app.name}-${app.hash}-${rng.token(5)}`;
      app.podNames.push(podName);
      const labels: Record<string, string> = { app: app.name, tier: app.tier, version: app.version, ...app.extraLabels };
      if (app.stateful) {
        labels['controller-revision-hash'] = `${app.name}-${app.hash}`;
        labels['statefulset.kubernetes.io/pod-name'] = podName;
      } else {
        labels['pod-template-hash'] = app.hash;
      }
      const { ip } = ips.next();
      const containers: Value[] = [
        {
          name: app.name.slice(0, 40),
          image: `registry.example.com/${app.namespace}/${app.name}:${app.version}`,
          ports: app.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol ?? 'TCP' })),
        },
      ];
      if (labels['sidecar.istio.io/inject'] === 'true') {
        containers.push({ name: 'istio-proxy', image: 'istio/proxyv2:1.22', ports: [{ name: 'http-envoy-prom', containerPort: 15090, protocol: 'TCP' }] });
      }
      docsByNs.get(app.namespace)!.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: podName,
          namespace: app.namespace,
          labels,
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: app.stateful ? 'StatefulSet' : 'ReplicaSet',
              name: app.stateful ? app.name : `${app.name}-${app.hash}`,
              uid: [8, 4, 4, 4, 12].map((k) => rng.token(k, "0123456789abcdef")).join("-"),
              controller: true,
            },
          ],
        },
        spec: { containers, nodeName: `node-${rng.int(0, ips.nodes - 1)}` },
        status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
      });
      podCount++;
    }
  }

  // Policies: first a default-deny per namespace (as far as the budget goes), then a weighted mix.
  const appNamespaces = namespaces.slice(2);
  const policyDocs = new Map<string, Value[]>(namespaces.map((n) => [n.name, []]));
  const names = new Set<string>();
  let policyCount = 0;
  const addPolicy = (ns: Ns, baseName: string, spec: Value): void => {
    let name = baseName;
    for (let k = 2; names.has(`${ns.name}/${name}`); k++) name = `${baseName}-${k}`;
    names.add(`${ns.name}/${name}`);
    policyDocs.get(ns.name)!.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns.name }, spec });
    policyCount++;
  };
  const P = options.policies;
  const nsSel = (labels: Record<string, string>): Value => ({ matchLabels: labels });
  const appSel = (app: App): Value => ({ matchLabels: { app: app.name } });
  const portsOf = (app: App): PortSpec[] => app.ports.filter((p) => (p.protocol ?? 'TCP') === 'TCP');
  const portRef = (app: App): Value[] | undefined => {
    const ps = portsOf(app);
    if (ps.length === 0) return undefined;
    const p = rng.pick(ps);
    // Named ports where the pod names them, most of the time.
    return [{ protocol: 'TCP', port: p.name && rng.chance(0.7) ? p.name : p.containerPort }];
  };
  const DNS_EGRESS: Value = {
    to: [{ namespaceSelector: nsSel({ 'kubernetes.io/metadata.name': 'kube-system' }), podSelector: nsSel({ 'k8s-app': 'kube-dns' }) }],
    ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
  };
  // A few node ranges that policies single out (e.g. ingress-controller nodes): ipBlocks that
  // cut through pod IPs, so classes depend on addresses too.
  const specialNodes = rng.sample(Array.from({ length: ips.nodes }, (_, i) => i), Math.min(4, ips.nodes));

  for (const ns of appNamespaces) {
    if (policyCount >= P) break;
    addPolicy(ns, 'default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
  }

  const kinds: (readonly [string, number])[] = [
    ['app-to-app', 30],
    ['cross-ns', 10],
    ['expr', 8],
    ['ipblock-ingress', 5],
    ['egress-lockdown', 8],
    ['egress-to-db', 8],
    ['egress-external', 4],
    ['port-range', 5],
    ['monitoring', 6],
    ['allow-all-app', 3],
    ['statefulset-primary', 3],
    ['same-namespace', 4],
  ];
  let guard = 0;
  while (appNamespaces.length > 0 && policyCount < P && guard++ < P * 50) {
    const ns = rng.pick(appNamespaces);
    if (ns.apps.length === 0) continue;
    const target = rng.pick(ns.apps);
    const kind = rng.weighted(kinds);
    switch (kind) {
      case 'app-to-app': {
        const sources = rng.sample(ns.apps.filter((a) => a !== target), rng.int(1, 3));
        if (sources.length === 0) break;
        addPolicy(ns, `${target.name}-from-${sources[0].name}`, {
          podSelector: appSel(target),
          policyTypes: ['Ingress'],
          ingress: [{ from: sources.map((s) => ({ podSelector: appSel(s) })), ports: portRef(target) }],
        });
        break;
      }
      case 'cross-ns': {
        const other = rng.pick(appNamespaces);
        const from: Value[] = rng.chance(0.5)
          ? [{ namespaceSelector: nsSel({ team: other.team }), podSelector: nsSel({ tier: rng.pick(['frontend', 'gateway', 'backend']) }) }]
          : [{ namespaceSelector: nsSel({ 'kubernetes.io/metadata.name': other.name }), podSelector: other.apps.length ? appSel(rng.pick(other.apps)) : {} }];
        addPolicy(ns, `${target.name}-from-${other.team}`, {
          podSelector: appSel(target),
          policyTypes: ['Ingress'],
          ingress: [{ from, ports: portRef(target) }],
        });
        break;
      }
      case 'expr': {
        addPolicy(ns, `${target.tier}-tiers`, {
          podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: [target.tier, rng.pick((['cache', 'db', 'worker'] as Tier[]).filter((t) => t !== target.tier))] }] },
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [
                {
                  namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: [ns.env, 'staging'] }, { key: 'compliance', operator: 'NotIn', values: ['pci'] }] },
                  podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }, { key: 'app', operator: 'Exists' }] },
                },
                { podSelector: { matchExpressions: [{ key: 'app.kubernetes.io/part-of', operator: 'Exists' }, { key: 'version', operator: 'NotIn', values: ['v3'] }] } },
              ],
              ports: portRef(target),
            },
          ],
        });
        break;
      }
      case 'ipblock-ingress': {
        const node = rng.pick(specialNodes);
        addPolicy(ns, `${target.name}-from-lb`, {
          podSelector: appSel(target),
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [
                { ipBlock: { cidr: ips.nodeSubnet(node) } },
                { ipBlock: { cidr: '10.0.0.0/8', except: ['10.16.0.0/12', '10.8.0.0/16'] } },
                { ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.100.0/24'] } },
              ],
              ports: portRef(target),
            },
          ],
        });
        break;
      }
      case 'egress-lockdown': {
        addPolicy(ns, 'default-deny-egress', {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [DNS_EGRESS, { to: [{ podSelector: {} }] }],
        });
        break;
      }
      case 'egress-to-db': {
        const dbs = ns.apps.filter((a) => a.tier === 'db' || a.tier === 'cache');
        const to: Value[] = dbs.length
          ? rng.sample(dbs, rng.int(1, 2)).map((d) => ({ podSelector: appSel(d) }))
          : [{ podSelector: nsSel({ tier: 'db' }) }];
        addPolicy(ns, `${target.name}-egress`, {
          podSelector: appSel(target),
          policyTypes: ['Egress'],
          egress: [
            DNS_EGRESS,
            { to, ports: [{ protocol: 'TCP', port: rng.pick([5432, 3306, 6379, 27017]) }] },
            { to: [{ namespaceSelector: nsSel({ team: ns.team }) }], ports: [{ protocol: 'TCP', port: 8080 }] },
          ],
        });
        break;
      }
      case 'egress-external': {
        addPolicy(ns, `${target.name}-internet`, {
          podSelector: appSel(target),
          policyTypes: ['Egress'],
          egress: [
            DNS_EGRESS,
            { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } }], ports: [{ protocol: 'TCP', port: 443 }] },
            { to: [{ ipBlock: { cidr: '10.16.0.0/12', except: [ips.nodeSubnet(rng.pick(specialNodes))] } }], ports: [{ protocol: 'TCP', port: 8080, endPort: 8090 }] },
          ],
        });
        break;
      }
      case 'port-range': {
        addPolicy(ns, `${target.name}-ports`, {
          podSelector: { matchLabels: { app: target.name, tier: target.tier } },
          ingress: [
            {
              from: [{ namespaceSelector: nsSel({ env: ns.env }) }],
              ports: [(() => {
                const port = rng.pick([8000, 8080, 9000]);
                return { protocol: 'TCP', port, endPort: port + rng.pick([10, 100, 999]) };
              })(), { protocol: 'UDP', port: 30000, endPort: 32767 }],
            },
          ],
        });
        break;
      }
      case 'monitoring': {
        addPolicy(ns, 'allow-prometheus', {
          podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] },
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [{ namespaceSelector: nsSel({ purpose: 'monitoring' }), podSelector: nsSel({ app: 'prometheus' }) }],
              ports: [{ protocol: 'TCP', port: 'metrics' }, { protocol: 'TCP', port: 'http-envoy-prom' }],
            },
          ],
        });
        break;
      }
      case 'allow-all-app': {
        addPolicy(ns, `${target.name}-public`, { podSelector: appSel(target), ingress: [{}] });
        break;
      }
      case 'statefulset-primary': {
        const stateful = ns.apps.filter((a) => a.stateful && a.podNames.length > 0);
        if (stateful.length === 0) break;
        const db = rng.pick(stateful);
        const writers = rng.sample(ns.apps.filter((a) => a.tier === 'backend'), 2);
        addPolicy(ns, `${db.name}-primary-writers`, {
          podSelector: { matchLabels: { 'statefulset.kubernetes.io/pod-name': db.podNames[0] } },
          policyTypes: ['Ingress'],
          ingress: [{ from: writers.length ? writers.map((w) => ({ podSelector: appSel(w) })) : [{ podSelector: {} }], ports: portRef(db) }],
        });
        break;
      }
      case 'same-namespace': {
        addPolicy(ns, 'allow-same-namespace', {
          podSelector: { matchLabels: { tier: rng.pick(['frontend', 'backend', 'worker']) } },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: {} }] }],
        });
        break;
      }
    }
  }

  // Files: namespaces.yaml, then one file per namespace (pods, then policies).
  const texts: { file: string; text: string }[] = [];
  texts.push({
    file: 'namespaces.yaml',
    text: toYAML(namespaces.map((n) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n.name, labels: Object.keys(n.labels).length ? n.labels : undefined } }))),
  });
  for (const n of namespaces) {
    const docs = [...docsByNs.get(n.name)!, ...policyDocs.get(n.name)!];
    if (docs.length > 0) texts.push({ file: `${n.name}.yaml`, text: toYAML(docs) });
  }
  return {
    texts,
    pods: podCount,
    policies: policyCount,
    namespaces: namespaces.length,
    apps: apps.length,
    bytes: texts.reduce((s, t) => s + Buffer.byteLength(t.text), 0),
  };
}
