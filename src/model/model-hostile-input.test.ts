// Hostile and odd input to the model: it costs linear time, ends in positioned diagnostics (never an
// exception), pollutes no prototype, and what kubectl and the apiserver accept or refuse is accepted
// or refused. Upstream: apimachinery pkg/apis/meta/v1/unstructured (decodeToList), pkg/api/validation
// (ValidateAnnotations, TotalAnnotationSizeLimitB), pkg/util/validation/field (TooLong), and the
// strict decoding of meta/v1 ObjectMeta and the k8s.io/api status types.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { admitObject, clusterFromObjects, formatDiagnostic, loadTexts, MAX_ALIAS_COUNT, MAX_NESTING_DEPTH, type BuildResult } from './index.js';

function load(text: string, file = 'h.yaml'): BuildResult {
  return loadTexts([{ file, text }]);
}

function errorsOf(text: string): string[] {
  return load(text)
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);
}

/** `line:col` (1-based) of the first occurrence of `marker` in `text`. */
function pos(text: string, marker: string): string {
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `marker ${JSON.stringify(marker)} not in text`);
  const before = text.slice(0, at).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

const POD = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n';
const CONTAINERS = 'spec:\n  containers: [{name: c, image: nginx, ports: [{containerPort: 80}]}]\n';

describe('YAML at a linear cost', () => {
  /** The faster of two runs, after a warm-up: a complexity check, not a speed target. */
  function fastest(run: () => void): number {
    let best = Infinity;
    for (let i = 0; i < 2; i++) {
      const t = performance.now();
      run();
      best = Math.min(best, performance.now() - t);
    }
    return best;
  }

  const cases: { rule: string; text: (n: number) => string }[] = [
    {
      rule: 'duplicate-key detection is linear in the keys of a map (a map of 40,000 annotations)',
      text: (n) => `${POD}  annotations:\n${Array.from({ length: n }, (_, i) => `    k${i}: v`).join('\n')}\n${CONTAINERS}`,
    },
    {
      rule: 'locating an error per key of a large map is linear too (40,000 unknown metadata fields)',
      text: (n) => `${POD}${Array.from({ length: n }, (_, i) => `  k${i}: v`).join('\n')}\n${CONTAINERS}`,
    },
  ];
  for (const c of cases) {
    test(c.rule, () => {
      const small = c.text(5_000);
      const large = c.text(40_000);
      load(small);
      const ratio = fastest(() => load(large)) / fastest(() => load(small));
      // 8 times the keys: about 8 times the time when linear, 64 when quadratic.
      assert.ok(ratio < 24, `40,000 keys took ${ratio.toFixed(1)} times as long as 5,000`);
    });
  }

  test('duplicate keys are still refused, where and as the yaml library words it', () => {
    const block = `${POD}  name: api\n`;
    const flow = 'apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: a, app: b}}\n';
    const nested = `${POD}  labels:\n    app: a\n    tier: x\n    app: b\n`;
    assert.deepEqual(errorsOf(block), [`h.yaml:${pos(block, 'name: api')}: YAML syntax error: Map keys must be unique`]);
    assert.deepEqual(errorsOf(flow), [`h.yaml:${pos(flow, 'app: b')}: YAML syntax error: Map keys must be unique`]);
    assert.deepEqual(errorsOf(nested), [`h.yaml:${pos(nested, 'app: b')}: YAML syntax error: Map keys must be unique`]);
  });
});

describe('hostile YAML becomes a diagnostic, never an exception', () => {
  const lols = (levels: number): string => {
    const lines = ['  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < levels; i++) lines.push(`  l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
    return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n${lines.join('\n')}\n`;
  };

  test('an alias bomb ("billion laughs") is refused with its file, document and line', () => {
    const bomb = lols(9);
    const text = `${POD}${CONTAINERS}---\n${bomb}`;
    let result: BuildResult | undefined;
    assert.doesNotThrow(() => (result = load(text)));
    assert.equal(result!.cluster, undefined);
    assert.deepEqual(result!.diagnostics.map(formatDiagnostic), [
      `h.yaml:${pos(text, '*l0')} (document 2): YAML: document contains excessive aliasing (more than ${MAX_ALIAS_COUNT} alias expansions)`,
    ]);
  });

  test('a few aliases, as real manifests use them, are expanded', () => {
    const text = `${POD}  labels: &labels {app: web}\n  annotations: *labels\n${CONTAINERS}`;
    assert.deepEqual(errorsOf(text), []);
  });

  const deep = (n: number, open: string, close: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: ${open.repeat(n)}1${close.repeat(n)}\n`;
  const deepCases: { rule: string; text: string }[] = [
    { rule: `nesting just past ${MAX_NESTING_DEPTH} levels is refused`, text: deep(MAX_NESTING_DEPTH + 1, '[', ']') },
    { rule: 'nesting deep enough to exhaust the stack (100,000 flow sequences) is one diagnostic', text: deep(100_000, '[', ']') },
    { rule: 'nesting of flow maps deep enough to exhaust the stack is one diagnostic', text: deep(20_000, '{a: ', '}') },
  ];
  for (const c of deepCases) {
    test(c.rule, () => {
      const errors = errorsOf(c.text);
      assert.equal(errors.length, 1, errors.slice(0, 3).join('\n'));
      assert.match(errors[0], new RegExp(`^h\\.yaml:4:\\d+: YAML: nested more than ${MAX_NESTING_DEPTH} levels deep$`));
    });
  }

  test('200,000 List items, or as many errors, are loaded without overflowing the stack', () => {
    const items = load(`apiVersion: v1\nkind: ConfigMapList\nitems: [${'{}, '.repeat(200_000)}]\n`);
    assert.deepEqual([...items.skipped], [['ConfigMap', 200_000]]);
    const errors = load(`apiVersion: v1\nkind: List\nitems: [${'~, '.repeat(200_000)}]\n`);
    assert.equal(errors.diagnostics.length, 200_000);
  });

  test('nesting a real object could have (100 levels) is read', () => {
    assert.deepEqual(errorsOf(deep(100, '[', ']')), []);
  });
});

describe('__proto__ and other inherited names are plain keys', () => {
  const cases: { rule: string; text: string; errors: string[] }[] = [
    {
      rule: 'a __proto__ label key is refused as a label key (it does not vanish)',
      text: `${POD}  labels: {__proto__: x}\n${CONTAINERS}`,
      errors: [
        "metadata.labels: Invalid value: \"__proto__\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ],
    },
    { rule: 'a __proto__ field in metadata is an unknown field', text: `${POD}  __proto__: {polluted: yes}\n${CONTAINERS}`, errors: ['metadata.__proto__: unknown field "metadata.__proto__"'] },
    { rule: 'a __proto__ field at the top of a Pod is an unknown field', text: `${POD}__proto__: {polluted: yes}\n${CONTAINERS}`, errors: ['__proto__: unknown field "__proto__"'] },
    {
      rule: 'a __proto__ field in a NetworkPolicy spec is an unknown field',
      text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\nspec:\n  podSelector: {}\n  __proto__: {polluted: yes}\n',
      errors: ['spec.__proto__: unknown field "spec.__proto__"'],
    },
  ];
  for (const c of cases) {
    test(c.rule, () => {
      assert.deepEqual(
        load(c.text).diagnostics.map((d) => `${d.field}: ${d.message}`),
        c.errors,
      );
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  }

  test('no object prototype is polluted, from YAML or JSON, strict or lenient', () => {
    const json = JSON.parse('{"apiVersion":"v1","kind":"Pod","__proto__":{"polluted":1},"metadata":{"name":"a","__proto__":{"polluted":1},"labels":{"__proto__":{"polluted":1}}},"status":{"__proto__":{"polluted":1}}}') as Record<string, unknown>;
    loadTexts([{ file: 'p.json', text: JSON.stringify(json) }]);
    clusterFromObjects([json]);
    admitObject('Pod', json, 'default');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  });

  test('kind: constructor is a kind Podwall does not model, not a built-in one', () => {
    const r = load('apiVersion: v1\nkind: constructor\nmetadata: {name: a}\n');
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual([...r.skipped], [['constructor', 1]]);
  });
});

describe('lists, as kubectl decodes them', () => {
  test('kind: List whose items is not a list is refused at items', () => {
    const text = 'apiVersion: v1\nkind: List\nitems: {a: 1}\n';
    assert.deepEqual(errorsOf(text), [`h.yaml:${pos(text, '{a: 1}')}: items: Invalid value: {"a":1}: must be a list`]);
    const scalar = 'apiVersion: v1\nkind: PodList\nitems: web\n';
    assert.deepEqual(errorsOf(scalar), [`h.yaml:${pos(scalar, 'web')}: items: Invalid value: "web": must be a list`]);
  });

  const typed: { rule: string; text: string; endpoints: string[]; policies: string[]; namespaces: string[] }[] = [
    {
      rule: 'a PodList as the API returns it (items without kind and apiVersion) gives Pods',
      text: 'apiVersion: v1\nkind: PodList\nmetadata: {resourceVersion: "7"}\nitems:\n- metadata: {name: web, namespace: shop}\n  spec: {containers: [{name: c, image: i}]}\n- metadata: {name: db, namespace: shop}\n  spec: {containers: [{name: c, image: i}]}\n',
      endpoints: ['shop/db', 'shop/web'],
      policies: [],
      namespaces: [],
    },
    {
      rule: 'a NetworkPolicyList gives NetworkPolicies in networking.k8s.io/v1',
      text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nitems:\n- metadata: {name: deny}\n  spec: {podSelector: {}}\n',
      endpoints: [],
      policies: ['default/deny'],
      namespaces: [],
    },
    {
      rule: 'a NamespaceList gives Namespaces',
      text: 'apiVersion: v1\nkind: NamespaceList\nitems:\n- metadata: {name: shop, labels: {team: a}}\n',
      endpoints: [],
      policies: [],
      namespaces: ['shop'],
    },
    {
      rule: 'an item that names its own kind keeps it',
      text: 'apiVersion: v1\nkind: PodList\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: shop}\n',
      endpoints: [],
      policies: [],
      namespaces: ['shop'],
    },
  ];
  for (const c of typed) {
    test(c.rule, () => {
      const r = load(c.text);
      assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
      assert.deepEqual(r.cluster!.endpoints.map((e) => e.id), c.endpoints);
      assert.deepEqual(r.cluster!.policies.map((p) => `${p.namespace}/${p.name}`), c.policies);
      assert.deepEqual(r.cluster!.namespaces.filter((n) => n.declared).map((n) => n.name), c.namespaces);
    });
  }

  test('kind: List gives no kind to its items: an item without one is refused', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n- metadata: {name: web}\n';
    assert.deepEqual(errorsOf(text), [`h.yaml:${pos(text, 'metadata: {name')}: items[0].kind: Required value: kind must be set`]);
  });
});

describe('strict metadata (ObjectMeta) and status (PodStatus, workload statuses)', () => {
  const cases: { rule: string; text: string; errors: string[] }[] = [
    { rule: 'an unknown metadata field is refused', text: `${POD}  lables: {app: web}\n${CONTAINERS}`, errors: ['metadata.lables: unknown field "metadata.lables"'] },
    { rule: 'clusterName, a tombstone since 1.25, is an unknown metadata field', text: `${POD}  clusterName: c\n${CONTAINERS}`, errors: ['metadata.clusterName: unknown field "metadata.clusterName"'] },
    {
      rule: 'an unknown field of an owner reference is refused',
      text: `${POD}  ownerReferences: [{apiVersion: v1, kind: ReplicaSet, name: r, uid: u, controlled: true}]\n${CONTAINERS}`,
      errors: ['metadata.ownerReferences[0].controlled: unknown field "metadata.ownerReferences[0].controlled"'],
    },
    {
      rule: 'an unknown field of a managedFields entry is refused',
      text: `${POD}  managedFields: [{manager: kubectl, operation: Apply, fieldz: {}}]\n${CONTAINERS}`,
      errors: ['metadata.managedFields[0].fieldz: unknown field "metadata.managedFields[0].fieldz"'],
    },
    {
      rule: 'an unknown field in a pod template metadata is refused',
      text: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}, lables: {}}\n    spec: {containers: [{name: c, image: i}]}\n',
      errors: ['spec.template.metadata.lables: unknown field "spec.template.metadata.lables"'],
    },
    { rule: 'an unknown field at the top of a Pod is refused', text: `${POD}${CONTAINERS}spek: {}\n`, errors: ['spek: unknown field "spek"'] },
    { rule: 'an unknown PodStatus field is refused', text: `${POD}${CONTAINERS}status: {phase: Running, podIp: 10.0.0.1}\n`, errors: ['status.podIp: unknown field "status.podIp"'] },
    {
      rule: 'an unknown field of a pod condition is refused',
      text: `${POD}${CONTAINERS}status: {conditions: [{type: Ready, status: "True", lastProbe: x}]}\n`,
      errors: ['status.conditions[0].lastProbe: unknown field "status.conditions[0].lastProbe"'],
    },
    {
      rule: 'an unknown field of a container state is refused',
      text: `${POD}${CONTAINERS}status: {containerStatuses: [{name: c, ready: true, restartCount: 0, image: i, imageID: "", state: {running: {startedAt: x, pid: 1}}}]}\n`,
      errors: ['status.containerStatuses[0].state.running.pid: unknown field "status.containerStatuses[0].state.running.pid"'],
    },
    {
      rule: 'an unknown field of a pod address is refused',
      text: `${POD}${CONTAINERS}status: {podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1, family: 4}], hostIPs: [{ip: 10.0.0.9, family: 4}]}\n`,
      errors: ['status.podIPs[0].family: unknown field "status.podIPs[0].family"', 'status.hostIPs[0].family: unknown field "status.hostIPs[0].family"'],
    },
    {
      rule: 'an unknown DeploymentStatus field is refused, a known condition field is not',
      text: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: i}]}\nstatus: {replicas: 1, readyPods: 1, conditions: [{type: Available, status: "True", lastUpdateTime: x}]}\n',
      errors: ['status.readyPods: unknown field "status.readyPods"'],
    },
    { rule: 'an unknown Namespace status field is refused', text: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\nstatus: {phase: Active, ready: true}\n', errors: ['status.ready: unknown field "status.ready"'] },
  ];
  for (const c of cases) {
    test(c.rule, () => {
      assert.deepEqual(
        load(c.text).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.field}: ${d.message}`),
        c.errors,
      );
    });
  }

  test('a pod status as the lab pod runner and a kubelet write it is accepted', () => {
    const status = {
      observedGeneration: 1,
      phase: 'Running',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: '2024-01-01T00:00:00Z' },
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'not ready', observedGeneration: 1 },
      ],
      hostIP: '10.244.0.1',
      hostIPs: [{ ip: '10.244.0.1' }],
      podIP: '10.244.0.2',
      podIPs: [{ ip: '10.244.0.2' }],
      startTime: '2024-01-01T00:00:00Z',
      message: 'm',
      reason: 'r',
      nominatedNodeName: 'n',
      qosClass: 'BestEffort',
      containerStatuses: [
        {
          name: 'c',
          image: 'nginx',
          imageID: '',
          containerID: 'containerd://x',
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: '2024-01-01T00:00:00Z' } },
          lastState: { terminated: { exitCode: 0, signal: 0, reason: 'Completed', message: '', startedAt: 'x', finishedAt: 'y', containerID: 'z' } },
          volumeMounts: [],
        },
      ],
      initContainerStatuses: [{ name: 'i', ready: false, restartCount: 0, image: 'x', imageID: '', state: { waiting: { reason: 'PodInitializing', message: '' } } }],
    };
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', uid: 'u', resourceVersion: '1', generation: 1, creationTimestamp: 'x', annotations: {} }, spec: { containers: [{ name: 'c', image: 'nginx' }] }, status };
    assert.deepEqual(load(JSON.stringify(pod)).diagnostics.map(formatDiagnostic), []);
    assert.deepEqual(admitObject('Pod', pod, 'default').errors, []);
  });

  test('objects an apiserver returns (lenient) keep their unknown metadata and status fields to themselves', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', fromTheFuture: 1 }, spec: { containers: [{ name: 'c', image: 'i' }] }, status: { newField: 1, podIP: '10.0.0.1' } };
    const r = clusterFromObjects([pod]);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.cluster!.endpoints.map((e) => e.ips), [['10.0.0.1']]);
  });

  test('the lab API refuses an unknown status field as Unknown (strict decoding)', () => {
    const admitted = admitObject('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [] }, status: { phaze: 'Running' } }, 'default');
    assert.deepEqual(admitted.errors.map((e) => [e.type, e.detail]), [['Unknown', 'unknown field "status.phaze"']]);
  });
});

describe('annotations (ValidateAnnotations)', () => {
  const annotated = (annotations: Record<string, string>): string => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', annotations }, spec: { containers: [{ name: 'c', image: 'i' }] } });
  const messages = (text: string): string[] => load(text).diagnostics.map((d) => `${d.field}: ${d.message}`);
  const KiB = 1024;

  const cases: { rule: string; annotations: Record<string, string>; errors: string[] }[] = [
    {
      rule: 'an annotation key that is not a qualified name is refused',
      annotations: { 'not a key': 'x' },
      errors: [
        "metadata.annotations: Invalid value: \"not a key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ],
    },
    {
      rule: 'an annotation key prefix that is not a DNS subdomain is refused',
      annotations: { 'exa_mple.com/key': 'x' },
      errors: [
        "metadata.annotations: Invalid value: \"exa_mple.com/key\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ],
    },
    { rule: "case does not matter in an annotation key's prefix", annotations: { 'Example.COM/Key': 'x' }, errors: [] },
    { rule: 'annotations of exactly 256 KiB in all are accepted', annotations: { a: 'x'.repeat(256 * KiB - 1) }, errors: [] },
    { rule: 'annotations over 256 KiB in all are refused, without their value', annotations: { a: 'x'.repeat(128 * KiB), b: 'x'.repeat(128 * KiB) }, errors: ['metadata.annotations: Too long: may not be more than 262144 bytes'] },
    { rule: 'the annotation size counts bytes, not characters', annotations: { a: 'é'.repeat(128 * KiB) }, errors: ['metadata.annotations: Too long: may not be more than 262144 bytes'] },
  ];
  for (const c of cases) test(c.rule, () => assert.deepEqual(messages(annotated(c.annotations)), c.errors));
});
