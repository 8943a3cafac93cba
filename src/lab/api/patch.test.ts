// The patch types against apimachinery's semantics (strategicpatch's mergeMap/mergeSlice, RFC
// 7386, RFC 6902), case by case: list merge keys as kubectl sends them (containers by name, ports
// by containerPort), directives ($patch replace/delete, $retainKeys, $deleteFromPrimitiveList,
// $setElementOrder), and the answers for patches that are malformed (400) or do not apply (422).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jsonPatch, MAX_JSON_PATCH_COPY_BYTES, MAX_JSON_PATCH_OPERATIONS, mergePatch, PatchError, strategicMergePatch } from './patch.js';
import { MAX_BODY_BYTES } from './body.js';

type Json = unknown;

const podWith = (spec: Record<string, Json>, metadata: Record<string, Json> = { name: 'web' }) => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });
const web = podWith({
  containers: [
    { name: 'app', image: 'nginx', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }], env: [{ name: 'A', value: '1' }] },
    { name: 'sidecar', image: 'envoy' },
  ],
  tolerations: [{ key: 'a', operator: 'Exists' }],
});

interface Case {
  readonly name: string;
  readonly target: Json;
  readonly patch: Json;
  readonly want?: Json;
  /** The code a failing patch answers with: 400 malformed, 413 too many operations, 422 does not apply. */
  readonly fails?: 400 | 413 | 422;
  /** What the failure says, when the code alone could come from elsewhere. */
  readonly message?: RegExp;
}

const strategicCases: Case[] = [
  {
    name: 'maps merge key by key; null deletes a key',
    target: podWith({}, { name: 'web', labels: { app: 'web', tier: 'front' } }),
    patch: { metadata: { labels: { tier: null, team: 'a' } } },
    want: podWith({}, { name: 'web', labels: { app: 'web', team: 'a' } }),
  },
  {
    name: 'containers merge by name: a known one is merged, a new one appended (kubectl set image)',
    target: web,
    patch: { spec: { containers: [{ name: 'sidecar', image: 'envoy:2' }, { name: 'debug', image: 'busybox' }] } },
    want: podWith({
      containers: [
        { name: 'app', image: 'nginx', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }], env: [{ name: 'A', value: '1' }] },
        { name: 'sidecar', image: 'envoy:2' },
        { name: 'debug', image: 'busybox' },
      ],
      tolerations: [{ key: 'a', operator: 'Exists' }],
    }),
  },
  {
    name: 'ports merge by containerPort, env by name, inside the container they belong to (as kubectl apply sends them, with $setElementOrder)',
    target: web,
    patch: {
      spec: {
        '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }],
        containers: [{ '$setElementOrder/ports': [{ containerPort: 80 }, { containerPort: 443 }, { containerPort: 8080 }], name: 'app', ports: [{ containerPort: 80, name: 'web' }, { containerPort: 8080 }], env: [{ name: 'B', value: '2' }] }],
      },
    },
    want: podWith({
      containers: [
        { name: 'app', image: 'nginx', ports: [{ containerPort: 80, name: 'web' }, { containerPort: 443 }, { containerPort: 8080 }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
        { name: 'sidecar', image: 'envoy' },
      ],
      tolerations: [{ key: 'a', operator: 'Exists' }],
    }),
  },
  {
    name: 'an item with $patch: delete removes the item its merge key names',
    target: web,
    patch: { spec: { containers: [{ name: 'app', ports: [{ containerPort: 443, $patch: 'delete' }] }, { name: 'sidecar', $patch: 'delete' }] } },
    want: podWith({
      containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 80, name: 'http' }], env: [{ name: 'A', value: '1' }] }],
      tolerations: [{ key: 'a', operator: 'Exists' }],
    }),
  },
  {
    name: 'an item with $patch: replace makes the list exactly the other items',
    target: web,
    patch: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] } },
    want: podWith({ containers: [{ name: 'only', image: 'x' }], tolerations: [{ key: 'a', operator: 'Exists' }] }),
  },
  {
    name: 'a map with $patch: replace replaces the map',
    target: podWith({}, { name: 'web', labels: { a: '1', b: '2' } }),
    patch: { metadata: { labels: { $patch: 'replace', c: '3' } } },
    want: podWith({}, { name: 'web', labels: { c: '3' } }),
  },
  {
    name: 'a map with $patch: delete becomes empty (handleDirectiveInMergeMap)',
    target: podWith({}, { name: 'web', labels: { a: '1' } }),
    patch: { metadata: { labels: { $patch: 'delete' } } },
    want: podWith({}, { name: 'web', labels: {} }),
  },
  {
    name: 'lists without a merge strategy are replaced whole (tolerations, NetworkPolicy rules)',
    target: { ...web, spec: { ...web.spec, tolerations: [{ key: 'a' }, { key: 'b' }] } },
    patch: { spec: { tolerations: [{ key: 'c' }] } },
    want: { ...web, spec: { ...web.spec, tolerations: [{ key: 'c' }] } },
  },
  {
    name: 'a NetworkPolicy\'s ingress rules are replaced whole',
    target: { spec: { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }, { ports: [{ port: 81 }] }] } },
    patch: { spec: { ingress: [{ ports: [{ port: 82 }] }] } },
    want: { spec: { podSelector: {}, ingress: [{ ports: [{ port: 82 }] }] } },
  },
  {
    name: 'finalizers merge as a set of strings; $deleteFromPrimitiveList removes from it',
    target: podWith({}, { name: 'web', finalizers: ['a', 'b'] }),
    patch: { metadata: { finalizers: ['b', 'c'], '$deleteFromPrimitiveList/finalizers': ['a'] } },
    want: podWith({}, { name: 'web', finalizers: ['b', 'c'] }),
  },
  {
    name: 'conditions merge by type, podIPs by ip (the status subresource)',
    target: { status: { conditions: [{ type: 'Ready', status: 'False' }], podIPs: [{ ip: '10.0.0.1' }] } },
    patch: { status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True' }] } },
    want: { status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True' }], podIPs: [{ ip: '10.0.0.1' }] } },
  },
  {
    name: '$retainKeys clears the keys of the map it does not list',
    target: podWith({ volumes: [{ name: 'v', emptyDir: {}, hostPath: { path: '/x' } }] }),
    patch: { spec: { volumes: [{ name: 'v', $retainKeys: ['name', 'emptyDir'], emptyDir: { medium: 'Memory' } }] } },
    want: podWith({ volumes: [{ name: 'v', emptyDir: { medium: 'Memory' } }] }),
  },
  { name: '$retainKeys that does not list a key the patch sets is 400', target: podWith({}), patch: { spec: { $retainKeys: ['a'], b: 1 } }, fails: 400 },
  { name: '$retainKeys that is not a list is 400', target: podWith({}), patch: { spec: { $retainKeys: 'a' } }, fails: 400 },
  { name: 'an unknown $patch directive on a map is 400', target: web, patch: { metadata: { labels: { $patch: 'frobnicate' } } }, fails: 400 },
  { name: 'an unknown $patch directive on a list item is 400', target: web, patch: { spec: { containers: [{ name: 'app', $patch: 'frobnicate' }] } }, fails: 400 },
  { name: '$patch: merge on a list item is 400 (merging lists cannot yet be specified in the patch)', target: web, patch: { spec: { containers: [{ $patch: 'merge' }] } }, fails: 400 },
  { name: 'a list item without its merge key is 400', target: web, patch: { spec: { containers: [{ image: 'x' }] } }, fails: 400 },
  { name: 'a delete item without its merge key is 400', target: web, patch: { spec: { containers: [{ $patch: 'delete' }] } }, fails: 400 },
  { name: 'a patch that is not an object is 400', target: web, patch: [1, 2], fails: 400 },
  { name: 'a __proto__ key is 400', target: web, patch: JSON.parse('{"metadata":{"__proto__":{"x":1}}}'), fails: 400 },
  {
    name: 'other $ keys are fields like any other (admission refuses them as unknown)',
    target: podWith({}),
    patch: { spec: { $unknown: 1 } },
    want: podWith({ $unknown: 1 }),
  },
  {
    name: 'constructor and prototype are plain keys, not a way into Object.prototype',
    target: podWith({}),
    patch: { spec: { constructor: { prototype: { polluted: true } } } },
    want: podWith({ constructor: { prototype: { polluted: true } } }),
  },
];

const mergeCases: Case[] = [
  { name: 'RFC 7386: objects merge, null deletes, scalars replace', target: { a: 'b', c: { d: 'e', f: 'g' } }, patch: { a: 'z', c: { f: null } }, want: { a: 'z', c: { d: 'e' } } },
  { name: 'RFC 7386: lists are replaced whole, even containers', target: web, patch: { spec: { containers: [{ name: 'x' }] } }, want: { ...web, spec: { ...web.spec, containers: [{ name: 'x' }] } } },
  { name: 'RFC 7386: a non-object patch replaces the target', target: { a: 1 }, patch: ['c'], want: ['c'] },
  { name: 'a __proto__ key is 400', target: {}, patch: JSON.parse('{"a":{"__proto__":{"x":1}}}'), fails: 400 },
];

const jsonPatchCases: Case[] = [
  { name: 'RFC 6902: add, replace, remove, in order', target: { a: [1, 2], b: 'x' }, patch: [{ op: 'add', path: '/a/-', value: 3 }, { op: 'replace', path: '/b', value: 'y' }, { op: 'remove', path: '/a/0' }], want: { a: [2, 3], b: 'y' } },
  { name: 'RFC 6902: ~1 and ~0 escape / and ~ in a label key', target: { labels: {} }, patch: [{ op: 'add', path: '/labels/example.com~1a~0b', value: 'v' }], want: { labels: { 'example.com/a~b': 'v' } } },
  { name: 'a failed test op does not apply: 422', target: { a: 1 }, patch: [{ op: 'test', path: '/a', value: 2 }], fails: 422 },
  { name: 'a path that does not exist does not apply: 422', target: { a: 1 }, patch: [{ op: 'replace', path: '/b/c', value: 2 }], fails: 422 },
  { name: 'a patch that is not a list is 400', target: {}, patch: { op: 'add' }, fails: 400 },
  { name: 'an unknown op is 400', target: {}, patch: [{ op: 'merge', path: '/a', value: 1 }], fails: 400 },
  { name: 'add without a value is 400', target: {}, patch: [{ op: 'add', path: '/a' }], fails: 400 },
  { name: 'move without from is 400', target: { a: 1 }, patch: [{ op: 'move', path: '/b' }], fails: 400 },
  { name: 'a path through __proto__ is 400', target: {}, patch: [{ op: 'add', path: '/__proto__/x', value: 1 }], fails: 400 },
  { name: 'a path through constructor/prototype is 400', target: {}, patch: [{ op: 'add', path: '/constructor/prototype/x', value: 1 }], fails: 400 },
  { name: 'a from through __proto__ is 400', target: {}, patch: [{ op: 'copy', from: '/__proto__', path: '/x' }], fails: 400 },
  {
    // Each copy doubles x (24 of them would build 2^24 copies of it from a 2 KB patch); here the
    // fourth brings the copies to 960 KiB.
    name: `copies past ${MAX_JSON_PATCH_COPY_BYTES} bytes in all do not apply: 422 (JSONPatchMaxCopyBytes)`,
    target: { x: { v: 'y'.repeat(64 * 1024 - 8) } },
    patch: Array.from({ length: 4 }, (_, i) => ({ op: 'copy', from: '/x', path: `/x/k${i}` })),
    fails: 422,
    message: /^Unable to complete the copy, the accumulated size increase of copy is \d+, exceeding the limit 524288$/,
  },
  {
    name: 'copies within the limit apply',
    target: { x: { v: 'y' } },
    patch: [{ op: 'copy', from: '/x', path: '/x/k' }, { op: 'copy', from: '/x/v', path: '/w' }],
    want: { x: { v: 'y', k: { v: 'y' } }, w: 'y' },
  },
  {
    name: `more than ${MAX_JSON_PATCH_OPERATIONS} operations is 413 (maxJSONPatchOperations)`,
    target: { a: 1 },
    patch: Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '/a', value: 1 })),
    fails: 413,
  },
];

function run(apply: (target: Json, patch: Json) => Json, cases: readonly Case[]): void {
  for (const c of cases) {
    test(c.name, () => {
      const target = structuredClone(c.target);
      if (c.fails) {
        assert.throws(() => apply(target, c.patch), (err: unknown) => err instanceof PatchError && err.code === c.fails && (c.message?.test(err.message) ?? true));
      } else {
        assert.deepEqual(apply(target, c.patch), c.want);
      }
      assert.deepEqual(target, c.target, 'the target is not changed');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(({} as Record<string, unknown>).x, undefined);
    });
  }
}

describe('strategic merge patch', () => {
  run(strategicMergePatch, strategicCases);

  test('a list merges by key in linear time (a patch of n containers into n costs n, not n * n)', () => {
    // 40,000 each: pairwise that is 800 million comparisons (seconds); by key, a few tens of ms.
    const n = 40_000;
    const target = podWith({ containers: Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image: 'a' })) });
    const patch = { spec: { containers: [{ name: 'c1', $patch: 'delete' }, ...Array.from({ length: n }, (_, i) => ({ name: `c${n - 1 - i}`, image: 'b' })).filter((c) => c.name !== 'c1'), { name: 'new', image: 'b' }] } };
    const started = performance.now();
    const out = strategicMergePatch(target, patch) as { spec: { containers: { name: string; image: string }[] } };
    assert.ok(performance.now() - started < 2000, `took ${Math.round(performance.now() - started)} ms`);
    const containers = out.spec.containers;
    assert.equal(containers.length, n, 'one deleted, one appended');
    assert.deepEqual(containers.slice(0, 3), [{ name: 'c0', image: 'b' }, { name: 'c2', image: 'b' }, { name: 'c3', image: 'b' }]);
    assert.deepEqual(containers[n - 1], { name: 'new', image: 'b' });
  });
});
describe('JSON merge patch', () => run(mergePatch, mergeCases));
describe('JSON patch', () => {
  run(jsonPatch, jsonPatchCases);

  test('the copy limit is the body limit, as upstream ties JSONPatchMaxCopyBytes to MaxRequestBodyBytes', () => {
    assert.equal(MAX_JSON_PATCH_COPY_BYTES, MAX_BODY_BYTES);
  });
});
