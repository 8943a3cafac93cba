// `podwall matrix` as people read it: natural order, names heading the columns (written downwards,
// or cut with a legend), cells where nothing declares the port, the outside row, the summary line,
// --summary, and -o csv parsed back and compared with the JSON; on three-tier and the wild apps.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { main } from '../src/cli/main.js';
import { columnHeadings, csvRecord, headingLines, naturalCompare, naturalOrder } from '../src/cli/matrix-render.js';
import type { Output } from '../src/cli/output.js';
import type { Endpoint } from '../src/model/index.js';
import { runCli as run } from './support/cli.js';

const threeTier = fileURLToPath(new URL('../examples/three-tier', import.meta.url));
const wild = (name: string): string => fileURLToPath(new URL(`../../shared/wild/${name}`, import.meta.url));

const scratch = mkdtempSync(join(tmpdir(), 'podwall-matrix-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

function pod(name: string, options: { labels?: Record<string, string>; ports?: number[]; namespace?: string } = {}): string {
  const ports = (options.ports ?? []).map((p) => `{containerPort: ${p}}`).join(', ');
  const labels = JSON.stringify(options.labels ?? { app: name });
  return `---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${options.namespace ?? 'default'}, labels: ${labels}}\nspec: {containers: [{name: c, image: i, ports: [${ports}]}]}\n`;
}

function endpoint(id: string): Endpoint {
  const [namespace, ...rest] = id.split('/');
  return { id, kind: rest.length > 1 ? 'Deployment' : 'Pod', namespace, name: rest[rest.length - 1], labels: {}, ports: [], ips: [], hostNetwork: false };
}

/** RFC 4180 read independently of the writer: quoted fields, doubled quotes, CRLF between records. */
function parseCSV(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let k = 0; k < text.length; k++) {
    const c = text[k];
    if (quoted) {
      if (c === '"' && text[k + 1] === '"') {
        field += '"';
        k++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[k + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      k++;
    } else field += c;
  }
  assert.equal(field + record.join(''), '', 'the text ends with CRLF');
  return records;
}

interface GridJSON {
  port: number;
  protocol: string;
  pods: string[];
  allowed: boolean[][];
  listening: boolean[];
  outside: ('all' | 'some' | 'none')[];
  summary: { endpoints: number; isolated: { ingress: number; egress: number }; pairs: number; allowed: number; allowedListening: number; outside: number; outsideListening: number };
}

describe('natural order', () => {
  const table: [string, string, number][] = [
    ['api-8', 'api-10', -1],
    ['api-10', 'api-9', 1],
    ['api-2', 'api-2', 0],
    ['api', 'api-1', -1],
    ['pod-1-10', 'pod-1-9', 1],
    ['a-1', 'a-01', -1],
    ['db', 'api-10', 1],
    ['web-99999999999999999999', 'web-100000000000000000000', -1],
  ];
  for (const [a, b, sign] of table) {
    test(`numbers inside names compare as numbers: ${a} ${sign < 0 ? 'before' : sign > 0 ? 'after' : 'equals'} ${b}`, () => {
      assert.equal(Math.sign(naturalCompare(a, b)), sign);
      assert.equal(Math.sign(naturalCompare(b, a)), sign === 0 ? 0 : -sign);
    });
  }

  test('endpoints go by namespace, then name, each in natural order', () => {
    const ids = ['ns-10/api-1', 'ns-9/api-10', 'ns-9/api-8', 'ns-9/deployment/api-9'];
    const order = naturalOrder(ids.map(endpoint));
    assert.deepEqual(order.map((k) => ids[k]), ['ns-9/api-8', 'ns-9/deployment/api-9', 'ns-9/api-10', 'ns-10/api-1']);
  });

  test('rows, columns, json and csv put api-8 before api-10', async () => {
    const path = file('natural.yaml', ['api-10', 'api-9', 'api-8'].map((n) => pod(n, { ports: [80] })).join(''));
    const json = JSON.parse((await run(['matrix', '-f', path, '-o', 'json'])).out) as GridJSON[];
    assert.deepEqual(json[0].pods, ['default/api-8', 'default/api-9', 'default/api-10']);
    const text = (await run(['matrix', '-f', path])).out.split('\n');
    assert.deepEqual(text.filter((l) => l.startsWith('default/')).map((l) => l.split(' ')[0]), ['default/api-8', 'default/api-9', 'default/api-10']);
    assert.deepEqual(text.slice(1, 7), ['from \\ to       a a a', '                p p p', '                i i i', '                - - -', '                8 9 1', '                    0']);
    const csv = parseCSV((await run(['matrix', '-f', path, '-o', 'csv'])).out);
    assert.deepEqual([...new Set(csv.slice(1).map((r) => r[2]))], ['default/api-8', 'default/api-9', 'default/api-10', 'outside']);
  });

  test('--services: endpoint rows and Service columns in natural order, outside still last', async () => {
    const service = (name: string): string => `---\napiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: default}\nspec: {type: NodePort, selector: {app: ${name}}, ports: [{port: 80}]}\n`;
    const names = ['api-10', 'api-9', 'api-8'];
    const path = file('natural-services.yaml', names.map((n) => pod(n, { ports: [80] }) + service(n)).join(''));
    const json = JSON.parse((await run(['matrix', '-f', path, '--services', '-o', 'json'])).out) as { services: { service: string }[]; sources: string[]; allowed: boolean[][] };
    assert.deepEqual(json.sources, ['default/api-8', 'default/api-9', 'default/api-10', 'outside']);
    assert.deepEqual(json.services.map((s) => s.service), ['default/service/api-8', 'default/service/api-9', 'default/service/api-10']);
    assert.deepEqual(json.allowed, Array.from({ length: 4 }, () => [true, true, true]));
  });
});

describe('column headings', () => {
  test('names that fit are written downwards, one character a line, top-aligned above each column', () => {
    const h = columnHeadings(['default/api', 'default/db', 'default/web'].map(endpoint));
    assert.deepEqual(h, { labels: ['api', 'db', 'web'], legend: [], height: 3 });
    assert.deepEqual(headingLines(h.labels, h.height), ['a d w', 'p b e', 'i   b']);
  });

  test('a name is qualified only as far as it must be to tell endpoints apart', () => {
    const h = columnHeadings(['a/api', 'b/api', 'b/deployment/web', 'b/statefulset/web', 'b/db'].map(endpoint), 40);
    assert.deepEqual(h.labels, ['a/api', 'b/api', 'b/deployment/web', 'b/statefulset/web', 'db']);
  });

  const cases: { rule: string; ids: string[]; height: number; labels: string[]; legend: string[]; prefix?: string }[] = [
    {
      rule: 'past the height, a name is cut to its start and … and the legend names it whole',
      ids: ['sock-shop/deployment/carts', 'monitoring/deployment/prometheus-deployment'],
      height: 14,
      labels: ['carts', 'prometheus-de…'],
      legend: ['prometheus-de… = monitoring/deployment/prometheus-deployment'],
    },
    {
      rule: 'when starts collide, the cut keeps the end too (ingress…create, ingress…-patch)',
      ids: ['n/job/ingress-nginx-admission-create', 'n/job/ingress-nginx-admission-patch', 'n/deployment/ingress-nginx-controller', 'm/deployment/web'],
      height: 14,
      labels: ['ingress…create', 'ingress…-patch', 'ingress…roller', 'web'],
      legend: ['ingress…create = n/job/ingress-nginx-admission-create', 'ingress…-patch = n/job/ingress-nginx-admission-patch', 'ingress…roller = n/deployment/ingress-nginx-controller'],
    },
    {
      rule: 'a word prefix every name shares is left out before cutting (argocd-)',
      ids: ['argocd/statefulset/argocd-application-controller', 'argocd/deployment/argocd-applicationset-controller', 'argocd/deployment/argocd-server'],
      height: 14,
      labels: ['application-c…', 'applicationse…', 'server'],
      legend: ['application-c… = argocd/statefulset/argocd-application-controller', 'applicationse… = argocd/deployment/argocd-applicationset-controller'],
      prefix: 'argocd-',
    },
    {
      rule: 'names that cut alike at both ends are numbered',
      ids: ['x/aaaaaaaaaaaa-one-zzzzzz', 'x/aaaaaaaaaaaa-two-zzzzzz', 'x/b'],
      height: 14,
      labels: ['aaaaaa1…zzzzzz', 'aaaaaa2…zzzzzz', 'b'],
      legend: ['aaaaaa1…zzzzzz = x/aaaaaaaaaaaa-one-zzzzzz', 'aaaaaa2…zzzzzz = x/aaaaaaaaaaaa-two-zzzzzz'],
    },
  ];
  for (const c of cases) {
    test(c.rule, () => {
      const h = columnHeadings(c.ids.map(endpoint), c.height);
      assert.deepEqual(h.labels, c.labels);
      assert.deepEqual(h.legend.map((l) => `${l.label} = ${l.id}`), c.legend);
      assert.equal(h.droppedPrefix, c.prefix);
      assert.ok(h.height <= c.height);
      assert.equal(new Set(h.labels).size, h.labels.length, 'labels tell columns apart');
    });
  }

  test('any set of names gets distinct headings no taller than asked', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/);
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 12 }), fc.integer({ min: 6, max: 20 }), (names, height) => {
        const h = columnHeadings(names.map((n) => endpoint(`ns/${n}`)), height);
        assert.ok(h.height <= height);
        assert.equal(new Set(h.labels).size, names.length);
      }),
    );
  });

  test('the wild apps read in 80 to 120 columns: no grid line wider than 120, headings at most 14 lines', async () => {
    for (const [app, extra] of [['sock-shop', []], ['argocd', []], ['aks-regulated', []], ['eks-retail-store', []], ['online-boutique', ['-n', 'default']], ['calico-stars', []]] as const) {
      const r = await run(['matrix', '-f', wild(app), ...extra]);
      assert.equal(r.code, 0, r.err);
      for (const grid of r.out.split('\n\n')) {
        const lines = grid.split('\n').filter((l) => l !== '');
        const first = lines.findIndex((l) => l.startsWith('from \\ to'));
        const rows = lines.findIndex((l, k) => k > first && /[✓○·~]$/.test(l));
        assert.ok(rows - first <= 14, `${app}: ${rows - first} heading lines`);
        for (const l of lines.slice(first, -1)) assert.ok([...l].length <= 120, `${app}: ${l}`);
      }
    }
  });
});

describe('three-tier, as the README shows it', () => {
  test('every grid: names above the columns, an outside row, and a summary line', async () => {
    const r = await run(['matrix', '-f', threeTier]);
    assert.equal(r.code, 0);
    const grid = (port: string, rows: string[], outside: string, summary: string): string =>
      [
        `${port}  rows: from, columns: to; ✓ allowed, ○ allowed but the destination declares no ${port}, · denied`,
        'from \\ to    a d w',
        '             p b e',
        '             i   b',
        ...rows,
        `outside      ${outside}`,
        `${port}: 3 endpoints (3 isolated for ingress, 2 for egress); 1 of 9 pairs allowed, 1 to an endpoint declaring ${port}; ${summary}`,
      ].join('\n');
    assert.equal(
      r.out,
      [
        grid('80/TCP', ['default/api  · · ·', 'default/db   · · ✓', 'default/web  · · ·'], '· · ✓', 'outside may reach 1 endpoint, 1 declaring it'),
        grid('3306/TCP', ['default/api  · ✓ ·', 'default/db   · · ·', 'default/web  · · ·'], '· · ·', 'outside may reach 0 endpoints, 0 declaring it'),
        grid('5000/TCP', ['default/api  · · ·', 'default/db   · · ·', 'default/web  ✓ · ·'], '· · ·', 'outside may reach 0 endpoints, 0 declaring it'),
      ].join('\n\n') + '\n',
    );
  });

  test('--summary: per grid the summary line, who is unreachable and who is reached the most; no cells', async () => {
    const r = await run(['matrix', '-f', threeTier, '--summary', '--port', '80']);
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      '80/TCP: 3 endpoints (3 isolated for ingress, 2 for egress); 1 of 9 pairs allowed, 1 to an endpoint declaring 80/TCP; outside may reach 1 endpoint, 1 declaring it\n' +
        '  unreachable on 80/TCP (declared, but no endpoint nor outside may connect): none\n' +
        '  most reachable: default/web (from 1 endpoint and outside)\n',
    );
    const json = JSON.parse((await run(['matrix', '-f', threeTier, '--summary', '-o', 'json'])).out) as { port: number; allowed?: unknown; mostReachable: { pod: string }[] }[];
    assert.deepEqual(json.map((g) => [g.port, g.mostReachable.map((m) => m.pod), 'allowed' in g]), [[80, ['default/web'], false], [3306, ['default/db'], false], [5000, ['default/api'], false]]);
    const md = (await run(['matrix', '-f', threeTier, '--summary', '-o', 'md', '--port', '3306'])).out;
    assert.match(md, /^- \*\*3306\/TCP\*\*: 3 endpoints .*\n {2}- unreachable \(declared, but no endpoint nor outside may connect\): none\n {2}- most reachable: default\/db \(from 1 endpoint\)\n$/);
  });

  test('markdown has the outside row and the summary line after the table', async () => {
    const r = await run(['matrix', '-f', threeTier, '--port', '80', '-o', 'md']);
    assert.match(r.out, /\| outside \| ✗ \| ✗ \| ✓ \|\n\n80\/TCP: 3 endpoints/);
  });
});

describe('cells where nothing listens, and the outside row', () => {
  const POLICY = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-office, namespace: default}
spec:
  podSelector: {matchLabels: {app: office}}
  policyTypes: [Ingress]
  ingress:
  - from: [{ipBlock: {cidr: 192.0.2.0/24}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: closed, namespace: default}
spec:
  podSelector: {matchLabels: {app: closed}}
  policyTypes: [Ingress]
`;
  const path = (): string =>
    file('listen.yaml', pod('open', { ports: [80] }) + pod('quiet') + pod('office', { ports: [80] }) + pod('office-quiet', { labels: { app: 'office' } }) + pod('closed', { ports: [80] }) + POLICY);

  test('a destination that declares no such port is marked ○ apart from ✓, in text, md, json and csv', async () => {
    const text = (await run(['matrix', '-f', path()])).out.split('\n');
    // Columns: closed, office, office-quiet, open, quiet.
    assert.equal(text.find((l) => l.startsWith('default/open ')), 'default/open          · · · ✓ ○');
    assert.match(text[0], /✓ allowed, ○ allowed but the destination declares no 80\/TCP, · denied, ~ only some outside addresses$/);
    assert.match((await run(['matrix', '-f', path(), '-o', 'md'])).out, /\| default\/open \| ✗ \| ✗ \| ✗ \| ✓ \| ○ \|/);
    const json = JSON.parse((await run(['matrix', '-f', path(), '--port', '80', '-o', 'json'])).out) as GridJSON;
    assert.deepEqual(json.listening, [true, true, false, true, false]);
  });

  test('outside: ✓ every address, ~ only some (ipBlock), ○ admitted where nothing declares the port, · none', async () => {
    const text = (await run(['matrix', '-f', path()])).out.split('\n');
    assert.equal(text.find((l) => l.startsWith('outside')), 'outside               · ~ ○ ✓ ○');
    const json = JSON.parse((await run(['matrix', '-f', path(), '--port', '80', '-o', 'json'])).out) as GridJSON;
    assert.deepEqual(json.outside, ['none', 'some', 'some', 'all', 'all']);
    assert.deepEqual(json.summary, { endpoints: 5, isolated: { ingress: 3, egress: 0 }, pairs: 25, allowed: 10, allowedListening: 5, outside: 4, outsideListening: 2 });
  });

  test('the summary line counts isolation, allowed pairs and outside reach', async () => {
    const text = (await run(['matrix', '-f', path()])).out.trimEnd().split('\n');
    assert.equal(text.at(-1), '80/TCP: 5 endpoints (3 isolated for ingress, 0 for egress); 10 of 25 pairs allowed, 5 to an endpoint declaring 80/TCP; outside may reach 4 endpoints, 2 declaring it');
    const summary = (await run(['matrix', '-f', path(), '--summary'])).out.split('\n');
    assert.equal(summary[1], '  unreachable on 80/TCP (declared, but no endpoint nor outside may connect): 1: default/closed');
    assert.equal(summary[2], '  most reachable: default/open (from 5 endpoints and outside), default/office (from 0 endpoints and some outside addresses)');
  });
});

describe('the summary with admin tiers', () => {
  test('a pod reaching its own pod IP is counted by its own answer, not by its class cell: an Admin Deny between two replicas leaves each its own pair', async () => {
    const cnp = `---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: no-pod-traffic}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {}}
  ingress:
  - {action: Deny, from: [{namespaces: {}}]}
`;
    const input = file('replicas.yaml', pod('a', { labels: { app: 'x' }, ports: [80] }) + pod('b', { labels: { app: 'x' }, ports: [80] }) + cnp);
    const json = JSON.parse((await run(['matrix', '-f', input, '--port', '80', '-o', 'json'])).out);
    // a -> b and b -> a are denied; a -> a and b -> b are a pod to its own pod IP, which the admin tiers do not judge.
    assert.equal(json.summary.allowed, 2);
    const text = (await run(['matrix', '-f', input, '--port', '80'])).out;
    assert.match(text, /2 of 4 pairs allowed/);
  });
});

describe('-o csv', () => {
  test('one record per (port, protocol, from, to) with allowed and listening, equal to the json, outside included', async () => {
    for (const [input, extra] of [[threeTier, []], [wild('sock-shop'), []], [wild('online-boutique'), ['-n', 'default']]] as const) {
      const csv = parseCSV((await run(['matrix', '-f', input, ...extra, '-o', 'csv'])).out);
      assert.deepEqual(csv[0], ['port', 'protocol', 'from', 'to', 'allowed', 'listening']);
      const grids = JSON.parse((await run(['matrix', '-f', input, ...extra, '-o', 'json'])).out) as GridJSON[];
      const expected: string[][] = [];
      for (const g of grids) {
        g.pods.forEach((from, i) => g.pods.forEach((to, j) => expected.push([String(g.port), g.protocol, from, to, String(g.allowed[i][j]), String(g.listening[j])])));
        g.pods.forEach((to, j) => expected.push([String(g.port), g.protocol, 'outside', to, g.outside[j] === 'all' ? 'true' : g.outside[j] === 'none' ? 'false' : 'some', String(g.listening[j])]));
      }
      assert.deepEqual(csv.slice(1), expected, input);
    }
  });

  test('fields are quoted as RFC 4180 asks: commas, quotes and line breaks survive a round trip', () => {
    assert.equal(csvRecord(['a,b', 'say "hi"', 'x\r\ny', 80, true]), '"a,b","say ""hi""","x\r\ny",80,true\r\n');
    fc.assert(fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 6 }), (fields) => assert.deepEqual(parseCSV(csvRecord(fields)), [fields])));
  });

  test('--summary and --services have no csv form: bad usage, exit 2', async () => {
    for (const args of [['--summary', '-o', 'csv'], ['--services', '-o', 'csv'], ['--services', '--summary']]) {
      const r = await run(['matrix', '-f', threeTier, ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, /^error: matrix --(summary|services) has no/);
      assert.equal(r.out, '');
    }
  });

  test('a large grid streams in bounded pieces as csv too', async () => {
    const path = file('grid.yaml', Array.from({ length: 300 }, (_, i) => pod(`p${i}`, { ports: [80] })).join(''));
    const pieces: number[] = [];
    const io: Output = { out: () => assert.fail('streamed output uses write'), err: () => undefined, color: false, write: (chunk) => (pieces.push(chunk.length), Promise.resolve()) };
    assert.equal(await main(['matrix', '-f', path, '-o', 'csv'], io), 0);
    assert.ok(pieces.length > 5 && Math.max(...pieces) < 80 * 1024, `pieces of ${Math.max(...pieces)} characters`);
  });
});

describe('the wild apps', () => {
  test('--summary on sock-shop names carts unreachable on 80: cart-access selects `name: cart`, not carts, so front-end and orders may not reach it', async () => {
    const r = await run(['matrix', '-f', wild('sock-shop'), '--port', '80', '--summary']);
    assert.match(r.out, /^ {2}unreachable on 80\/TCP \(declared, but no endpoint nor outside may connect\): 2: sock-shop\/deployment\/carts, sock-shop\/deployment\/queue-master$/m);
  });

  test('aks-regulated 443: ingress-nginx names cut at both ends with a legend; outside reaches the controller', async () => {
    const r = await run(['matrix', '-f', wild('aks-regulated'), '--port', '443']);
    const lines = r.out.split('\n');
    assert.deepEqual(lines.slice(1, 5), [
      'columns cut to 14 characters:',
      '  ingress…create = ingress-nginx/job/ingress-nginx-admission-create',
      '  ingress…-patch = ingress-nginx/job/ingress-nginx-admission-patch',
      '  ingress…roller = ingress-nginx/deployment/ingress-nginx-controller',
    ]);
    assert.equal(lines.find((l) => l.startsWith('outside')), 'outside                                            · · · · ○ ○ ✓');
  });
});
