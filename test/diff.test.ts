// `podwall diff OLD NEW` end to end: files, directories and git:REF:PATH in a temporary repository,
// text, JSON and Markdown, exit codes (0 no change, 1 changes, 2 bad input), and the same flows
// as the UI editor's preview on the same edits (three-tier and wild apps).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileCluster } from '../src/engine/index.js';
import { startTestServer, type TestServer } from '../src/lab/api/testing.js';
import { loadManifests, type Cluster, type Manifest } from '../src/model/index.js';
import { handleApi, staticSource, type FlowKey, type PreviewView } from '../src/web/index.js';
import { diffFlows } from '../src/web/views.js';
import { runCli as run } from './support/cli.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const threeTier = resolve(repo, 'examples/three-tier');
const wild = resolve(repo, '../shared/wild');
const entry = resolve(repo, 'src/cli/entry.ts');
/** tsx by path: the CLI runs in repositories outside this one. */
const tsx = pathToFileURL(resolve(repo, 'node_modules/tsx/dist/loader.mjs')).href;

const scratch = mkdtempSync(join(tmpdir(), 'podwall-diff-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The real CLI as a process, in `cwd` (git reads the repository it is run in). */
function cli(args: readonly string[], cwd: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', tsx, entry, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PODWALL_DEBUG: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let copies = 0;
/** A copy of a manifest directory with one policy document rewritten; returns it and that document alone (the editor's text). */
function edited(source: string, policy: string, change: (doc: string) => string): { dir: string; text: string } {
  const dir = join(scratch, `copy-${copies++}`);
  cpSync(source, dir, { recursive: true });
  for (const name of readdirSync(dir)) {
    if (!/\.ya?ml$/.test(name)) continue;
    const docs = readFileSync(join(dir, name), 'utf8').split(/^---$/m);
    const k = docs.findIndex((d) => /kind: NetworkPolicy/.test(d) && new RegExp(`^  name: ${policy}$`, 'm').test(d));
    if (k < 0) continue;
    const text = change(docs[k]);
    assert.notEqual(text, docs[k], `the edit of ${policy} changes it`);
    docs[k] = text;
    writeFileSync(join(dir, name), docs.join('---'));
    return { dir, text };
  }
  throw new Error(`no NetworkPolicy ${policy} in ${source}`);
}

function load(dir: string, namespace = 'default'): Cluster {
  const r = loadManifests([dir], { namespace });
  assert.ok(r.cluster);
  return r.cluster;
}

interface DiffJSON {
  old: string;
  new: string;
  changed: boolean;
  summary: { opened: number; closed: number; openedGroups: number; closedGroups: number; added: number; removed: number };
  ports: { port: number; protocol: string }[];
  opened: Group[];
  closed: Group[];
  added: unknown[];
  removed: unknown[];
  policies: { added: string[]; removed: string[]; changed: string[] };
}
type Peer = { kind: 'endpoints'; group: string; endpoints: string[] } | { kind: 'outside'; addresses: string[]; text: string };
interface Group {
  change: string;
  from: Peer;
  to: Peer;
  protocol: string;
  port: number;
  endPort?: number;
  flows: number;
}

/** `podwall diff -o json` groups as the editor's flow keys: every pair, outside -> endpoint on its port. */
function keys(groups: readonly Group[]): string[] {
  const out = new Set<string>();
  for (const g of groups) {
    if (g.to.kind !== 'endpoints') continue;
    const sources = g.from.kind === 'outside' ? ['outside'] : g.from.endpoints;
    for (const f of sources) for (const t of g.to.endpoints) if (f !== t) out.add(`${f} -> ${t} ${g.port}/${g.protocol}`);
  }
  return [...out].sort();
}
const flowKeys = (ks: readonly FlowKey[]): string[] => ks.map((k) => `${k.from} -> ${k.to} ${k.port}/${k.protocol}`).sort();

describe('diff: the same flows as the UI editor on the same edits', () => {
  const cases: {
    name: string;
    app: string;
    namespace?: string;
    policy: string;
    change: (doc: string) => string;
    expect?: { opened: string[]; closed: string[] };
    /** Outside flows the engine's diff sees and the earlier UI diff did not: it took the outside as one source. */
    finer?: { opened: string[]; closed: string[] };
  }[] = [
    {
      name: 'three-tier: web may call api on 5001 only',
      app: threeTier,
      policy: 'web-policy',
      change: (d) => d.replace('port: 5000', 'port: 5001'),
      expect: { opened: [], closed: ['default/web -> default/api 5000/TCP'] },
    },
    {
      name: 'three-tier: db takes web too',
      app: threeTier,
      policy: 'db-policy',
      change: (d) => d.replace(/( *)- podSelector:\n( *)matchLabels:\n( *)name: api-pod/, (m, a, b, c) => `${m}\n${a}- podSelector:\n${b}matchLabels:\n${c}role: web`),
      expect: { opened: [], closed: [] },
    },
    {
      name: 'three-tier: web takes port 80 from one range only',
      app: threeTier,
      policy: 'web-policy',
      change: (d) => d.replace('  ingress:\n  - ports:', '  ingress:\n  - from:\n    - ipBlock:\n        cidr: 192.0.2.0/24\n    ports:'),
      expect: { opened: [], closed: ['default/db -> default/web 80/TCP', 'outside -> default/web 80/TCP'] },
      finer: { opened: [], closed: ['outside -> default/web 80/TCP'] },
    },
    {
      name: 'sock-shop: cart-access selects the pods labelled carts',
      app: resolve(wild, 'sock-shop'),
      policy: 'cart-access',
      change: (d) => d.replace(/matchLabels:\n {6}name: cart\n/, 'matchLabels:\n      name: carts\n'),
    },
    {
      name: 'sock-shop: cortex-access stops isolating every pod of the namespace',
      app: resolve(wild, 'sock-shop'),
      policy: 'cortex-access',
      change: (d) => d.replace(/podSelector:\n {4}matchLabels:\n/, 'podSelector:\n    matchLabels:\n      name: cortex\n'),
    },
    {
      name: 'sock-shop: front-end-access on 8080 instead of 8079',
      app: resolve(wild, 'sock-shop'),
      policy: 'front-end-access',
      change: (d) => d.replace('port: 8079', 'port: 8080'),
    },
    {
      name: 'online-boutique: frontend no longer takes everything',
      app: resolve(wild, 'online-boutique'),
      policy: 'frontend',
      change: (d) => d.replace('  ingress:\n  - {}', '  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          app: loadgenerator'),
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const namespace = c.namespace ?? 'default';
      const { dir, text } = edited(c.app, c.policy, c.change);
      const r = await run(['diff', c.app, dir, '-o', 'json', '-n', namespace]);
      const d = JSON.parse(r.out) as DiffJSON;
      const ui = await handleApi({ source: staticSource(load(c.app, namespace), 'app'), namespace }, 'POST', new URL('http://x/api/preview'), { text });
      const preview = ui.body as PreviewView;
      assert.ok(preview.ok);
      assert.deepEqual({ opened: keys(d.opened), closed: keys(d.closed) }, { opened: flowKeys(preview.opened), closed: flowKeys(preview.closed) });
      // The flows the UI computed before it called the engine, flow by flow: an independent check.
      const byViews = diffFlows(compileCluster(load(c.app, namespace)), compileCluster(load(dir, namespace)));
      const finer = c.finer ?? { opened: [], closed: [] };
      assert.deepEqual(
        { opened: keys(d.opened), closed: keys(d.closed) },
        { opened: [...flowKeys(byViews.opened), ...finer.opened].sort(), closed: [...flowKeys(byViews.closed), ...finer.closed].sort() },
      );
      assert.ok(d.opened.length + d.closed.length > 0 || c.expect, 'every edit but the pinned ones changes something');
      if (c.expect) assert.deepEqual({ opened: keys(d.opened), closed: keys(d.closed) }, c.expect);
      assert.equal(r.code, d.changed ? 1 : 0);
      assert.deepEqual(d.policies.changed, [`${c.app.endsWith('three-tier') || c.app.endsWith('boutique') ? 'default' : 'sock-shop'}/${c.policy}`]);
    });
  }
});

describe('diff: output', () => {
  const narrowed = edited(threeTier, 'web-policy', (d) => d.replace('port: 5000', 'port: 5001'));

  test('text: each change with the rule responsible before and after; exit 1', async () => {
    const r = await run(['diff', threeTier, narrowed.dir]);
    assert.equal(r.code, 1);
    assert.deepEqual(r.out.split('\n').slice(2, 7), [
      '',
      'Closed:',
      '- default/web -> default/api 5000/TCP (api)',
      '    before: allowed: egress by default/web-policy egress[0]; ingress by default/api-policy ingress[0]',
      '    after:  denied: egress isolated by default/web-policy: no rule allows it',
    ]);
    assert.match(r.out.split('\n')[0], /: closes 1 flow; policies: 1 changed$/);
  });

  test('text: sources alike in everything but their name read as one line with a count', async () => {
    const sockShop = resolve(wild, 'sock-shop');
    const moved = edited(sockShop, 'front-end-access', (d) => d.replace('port: 8079', 'port: 8080'));
    const r = await run(['diff', sockShop, moved.dir]);
    assert.equal(r.code, 1);
    const lines = r.out.split('\n');
    assert.equal(lines[0], `${sockShop} -> ${moved.dir}: closes 16 flows; policies: 1 changed`);
    assert.deepEqual(lines.slice(4, 8), [
      '- 15 sources -> sock-shop/deployment/front-end 8079/TCP: 15 flows',
      '    from:   monitoring/daemonset/node-directory-size-metrics, monitoring/deployment/prometheus-deployment, sock-shop/deployment/carts, sock-shop/deployment/carts-db, sock-shop/deployment/catalogue, sock-shop/deployment/catalogue-db and 9 more',
      '    before: allowed: egress not isolated; ingress by sock-shop/front-end-access ingress[0]',
      '    after:  denied: ingress isolated by sock-shop/cortex-access, sock-shop/front-end-access: no rule allows it',
    ]);
    assert.equal(lines[8], '- outside (anywhere) -> sock-shop/deployment/front-end 8079/TCP');
  });

  test('nothing changes: exit 0 and says so', async () => {
    const r = await run(['diff', threeTier, threeTier]);
    assert.equal(r.code, 0);
    assert.match(r.out, /no flow changes on 3 declared ports/);
  });

  test('json: the documented keys, every group with its flows, stable from run to run', async () => {
    const a = await run(['diff', threeTier, narrowed.dir, '-o', 'json']);
    const b = await run(['diff', threeTier, narrowed.dir, '-o', 'json']);
    assert.equal(a.out, b.out);
    const d = JSON.parse(a.out) as DiffJSON;
    assert.deepEqual(Object.keys(d), ['old', 'new', 'changed', 'summary', 'ports', 'opened', 'closed', 'added', 'removed', 'policies']);
    assert.deepEqual(d.summary, { opened: 0, closed: 1, openedGroups: 0, closedGroups: 1, added: 0, removed: 0 });
    assert.deepEqual(d.closed[0].from, { kind: 'endpoints', group: 'default/web', endpoints: ['default/web'] });
  });

  test('md: a heading, a summary, tables, several names folded in a cell, and long tables folded into <details>', async () => {
    // Twelve servers on twelve ports, then a default deny: 24 rows that cannot merge (12 ports, from pods and from outside).
    const pods = Array.from({ length: 12 }, (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: s${i}, labels: {app: s${i}}}\nspec: {containers: [{name: c, image: i, ports: [{containerPort: ${8000 + i}}]}]}\n`).join('---\n');
    const old = join(scratch, 'servers-old');
    const denied = join(scratch, 'servers-new');
    mkdirSync(old);
    mkdirSync(denied);
    writeFileSync(join(old, 'pods.yaml'), pods);
    writeFileSync(join(denied, 'pods.yaml'), pods);
    writeFileSync(join(denied, 'deny.yaml'), 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec: {podSelector: {}}\n');
    const r = await run(['diff', old, denied, '-o', 'md']);
    assert.equal(r.code, 1);
    const lines = r.out.split('\n');
    assert.equal(lines[0], '### podwall diff: closes 144 flows; policies: 1 added');
    assert.ok(lines.includes('#### Closed (144 flows)'));
    assert.ok(lines.includes('| from | to | port | flows | before | after |'));
    const fold = lines.findIndex((l) => l.startsWith('<details><summary>'));
    assert.equal(lines[fold], '<details><summary>14 more (34 flows)</summary>');
    assert.ok(lines.slice(fold).includes('</details>'));
    const rows = (ls: string[]): string[] => ls.filter((l) => l.startsWith('| ') && !l.startsWith('| from '));
    assert.equal(rows(lines.slice(0, fold)).length, 10);
    assert.equal(rows(lines).length, 24);
    assert.ok(rows(lines)[0].startsWith('| <details><summary>11 sources</summary>default/s0<br>default/s10<br>'), rows(lines)[0]);
  });

  test('md: pipes in a cell are escaped so the table holds', async () => {
    const r = await run(['diff', threeTier, narrowed.dir, '-o', 'md']);
    for (const row of r.out.split('\n').filter((l) => l.startsWith('| default/'))) assert.equal(row.split(/(?<!\\)\|/).length, 8, row);
  });
});

describe('diff: git:REF:PATH and bad input', () => {
  const git = (cwd: string, ...args: string[]): string => {
    const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const work = join(scratch, 'repo');
  mkdirSync(join(work, 'k8s'), { recursive: true });
  cpSync(threeTier, join(work, 'k8s'), { recursive: true });
  writeFileSync(join(work, 'k8s', 'README.md'), 'not a manifest\n');
  git(work, 'init', '-q', '-b', 'main');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'three-tier');
  const policy = join(work, 'k8s', 'web-policy.yaml');
  writeFileSync(policy, readFileSync(policy, 'utf8').replace('port: 5000', 'port: 5001'));

  test('a directory at a ref against the working tree: the change, read through git show', () => {
    const r = cli(['diff', 'git:main:k8s', 'k8s'], work);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /^git:main:k8s -> k8s: closes 1 flow/);
    assert.match(r.out, /- default\/web -> default\/api 5000\/TCP \(api\)/);
  });

  test('one file at a ref, paths relative to the current directory with ./, and the same ref twice', () => {
    // A policy file alone: no pods, so no flow changes (exit 0), but the changed policy is named.
    const one = cli(['diff', 'git:HEAD:./web-policy.yaml', 'web-policy.yaml', '-o', 'json'], join(work, 'k8s'));
    assert.equal(one.code, 0, one.err);
    assert.deepEqual((JSON.parse(one.out) as DiffJSON).policies.changed, ['default/web-policy']);
    assert.equal(cli(['diff', 'git:HEAD:k8s/', 'git:main:k8s'], work).code, 0);
  });

  test('bad input is exit 2 naming what is wrong', async () => {
    const cases: [string[], string, RegExp][] = [
      [['diff', 'git:nope:k8s', 'k8s'], work, /OLD "git:nope:k8s": unknown git revision "nope"/],
      [['diff', 'k8s', 'git:main:missing'], work, /NEW "git:main:missing": no path "missing" at main/],
      [['diff', 'git:--output=/tmp/x:k8s', 'k8s'], work, /a git revision may not start with "-"/],
      [['diff', 'git:main:-x', 'k8s'], work, /a path may not start with "-"/],
      [['diff', 'git:main', 'k8s'], work, /expected git:REF:PATH/],
      [['diff', 'k8s', 'nowhere'], work, /NEW "nowhere": no such file or directory/],
      [['diff', 'git:main:k8s', 'k8s'], scratch, /not inside a git repository/],
      [['diff', 'k8s', 'k8s', '-o', 'yaml'], work, /-o: "yaml" is not one of text, json, md/],
      [['diff', 'k8s', 'k8s', '--kubeconfig', '/nowhere'], work, /neither does/],
    ];
    for (const [args, cwd, message] of cases) {
      const r = cli(args, cwd);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
      assert.equal(r.out, '');
    }
  });

  test('an invalid manifest at a ref is exit 2 with its diagnostics, naming the file at the ref', () => {
    writeFileSync(join(work, 'bad.yaml'), 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec: {podSelector: {}, ingres: []}\n');
    git(work, 'add', 'bad.yaml');
    git(work, 'commit', '-q', '-m', 'bad');
    const r = cli(['diff', 'git:HEAD:bad.yaml', 'k8s'], work);
    assert.equal(r.code, 2);
    assert.match(r.err, /HEAD:bad\.yaml.*ingres/);
  });
});

describe('diff: the running cluster as OLD or NEW (the lab\'s API server, in process)', () => {
  let t: TestServer;
  let kubeconfig: string;
  before(async () => {
    t = await startTestServer();
    kubeconfig = t.kubeconfig();
    // The three-tier pods and policies, as `kubectl apply -f examples/three-tier` would write them.
    for (const f of readdirSync(threeTier).sort()) {
      for (const doc of parseAllDocuments(readFileSync(join(threeTier, f), 'utf8'))) {
        const o = doc.toJS() as Manifest;
        if (o.kind !== 'Pod' && o.kind !== 'NetworkPolicy') continue;
        const path = o.kind === 'Pod' ? '/api/v1/namespaces/default/pods' : '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies';
        const r = await t.api.call('POST', path, o);
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
    }
  });
  after(async () => t.close());

  test('the cluster against the manifests it was built from: no change; against an edit: the edit', async () => {
    const same = await run(['diff', 'cluster', threeTier, '--kubeconfig', kubeconfig]);
    assert.equal(same.code, 0, same.err);
    assert.match(same.out, /^cluster -> .*three-tier: no flow changes on 3 declared ports/);
    const edit = edited(threeTier, 'web-policy', (d) => d.replace('port: 5000', 'port: 5001'));
    const changed = await run(['diff', 'cluster', edit.dir, '--kubeconfig', kubeconfig, '-o', 'json']);
    assert.equal(changed.code, 1, changed.err);
    assert.deepEqual(keys((JSON.parse(changed.out) as DiffJSON).closed), ['default/web -> default/api 5000/TCP']);
    const reverse = await run(['diff', edit.dir, 'cluster', '--kubeconfig', kubeconfig, '-o', 'json']);
    assert.deepEqual(keys((JSON.parse(reverse.out) as DiffJSON).opened), ['default/web -> default/api 5000/TCP']);
  });
});
