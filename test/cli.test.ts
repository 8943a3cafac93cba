// End-to-end runs of the `podwall` commands through main(), with captured output and exit codes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';
import { useColor, type Output } from '../src/cli/output.js';

const threeTier = fileURLToPath(new URL('../examples/three-tier', import.meta.url));

async function run(args: string[], color = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Output = { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), color };
  const code = await main(args, io);
  return { code, out, err };
}

const scratch = mkdtempSync(join(tmpdir(), 'podwall-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('matrix', () => {
  test('json for one port has exactly the documented shape, pods sorted by namespace then name', async () => {
    const r = await run(['matrix', '-f', threeTier, '--port', '3306', '-o', 'json']);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), {
      port: 3306,
      protocol: 'TCP',
      pods: ['default/api', 'default/db', 'default/web'],
      allowed: [
        [false, true, false],
        [false, false, false],
        [false, false, false],
      ],
    });
  });

  test('without --port, json is an array covering every declared port', async () => {
    const r = await run(['matrix', '-f', threeTier, '-o', 'json']);
    const grids = JSON.parse(r.out) as { port: number; protocol: string; allowed: boolean[][] }[];
    assert.deepEqual(
      grids.map((g) => `${g.port}/${g.protocol}`),
      ['80/TCP', '3306/TCP', '5000/TCP'],
    );
    // The seed's flow: user -> web:80 (db may call web: db's egress is open), web -> api:5000, api -> db:3306.
    const at = (port: number) => grids.find((g) => g.port === port)!.allowed;
    assert.equal(at(5000)[2][0], true, 'web -> api:5000');
    assert.equal(at(3306)[0][1], true, 'api -> db:3306');
    assert.equal(at(3306)[2][1], false, 'web -> db:3306 is denied');
  });

  test('text grid labels rows and columns and has no colour when not on a terminal', async () => {
    const r = await run(['matrix', '-f', threeTier, '--port', '5000']);
    assert.match(r.out, /5000\/TCP/);
    assert.match(r.out, /3 default\/web\s+✓ · ·/);
    assert.ok(!r.out.includes('\u001b['), 'no ANSI escapes');
  });

  test('colour is used when asked for (a terminal without NO_COLOR)', async () => {
    const r = await run(['matrix', '-f', threeTier, '--port', '5000'], true);
    assert.ok(r.out.includes('\u001b[32m✓'), 'green tick');
  });

  test('markdown output is a table', async () => {
    const r = await run(['matrix', '-f', threeTier, '--port', '3306', '-o', 'md']);
    assert.match(r.out, /\| default\/api \| ✗ \| ✓ \| ✗ \|/);
  });

  test('--protocol UDP gives the UDP matrix of a port', async () => {
    const r = await run(['matrix', '-f', threeTier, '--port', '3306', '--protocol', 'udp', '-o', 'json']);
    const m = JSON.parse(r.out);
    assert.equal(m.protocol, 'UDP');
    // db-policy only admits TCP 3306, so UDP to db is denied from everyone.
    assert.deepEqual(m.allowed.map((row: boolean[]) => row[1]), [false, false, false]);
  });
});

describe('check', () => {
  test('an allowed connection exits 0 and names the rule on each side', async () => {
    const r = await run(['check', '-f', threeTier, '--from', 'default/api', '--to', 'default/db', '--port', '3306']);
    assert.equal(r.code, 0);
    assert.match(r.out, /ALLOWED/);
    assert.match(r.out, /allowed by default\/api-policy egress\[0\]/);
    assert.match(r.out, /allowed by default\/db-policy ingress\[0\]/);
  });

  test('a denied connection exits 1 and says no rule allows it', async () => {
    const r = await run(['check', '-f', threeTier, '--from', 'web', '--to', 'db', '--port', '3306']);
    assert.equal(r.code, 1);
    assert.match(r.out, /DENIED/);
    assert.match(r.out, /egress from default\/web: isolated by default\/web-policy; no egress rule allows it/);
    assert.match(r.out, /ingress to default\/db: isolated by default\/db-policy; no ingress rule allows it/);
  });

  test('json gives the reasons as data', async () => {
    const r = await run(['check', '-f', threeTier, '--from', 'default/web', '--to', 'default/api', '--port', '5000', '-o', 'json']);
    const v = JSON.parse(r.out);
    assert.equal(v.allowed, true);
    assert.deepEqual(v.egress.allowedBy, [{ policy: 'default/web-policy', direction: 'Egress', rule: 0, tier: 'NetworkPolicy' }]);
    assert.deepEqual(v.ingress.isolatingPolicies, ['default/api-policy']);
  });

  test('traffic from outside the cluster is checked against ingress only', async () => {
    const r = await run(['check', '-f', threeTier, '--from', '203.0.113.9', '--to', 'default/web', '--port', '80']);
    assert.equal(r.code, 0);
    assert.match(r.out, /outside the cluster, not subject to NetworkPolicy/);
    const denied = await run(['check', '-f', threeTier, '--from', '203.0.113.9', '--to', 'default/db', '--port', '3306']);
    assert.equal(denied.code, 1);
  });

  test('an unknown endpoint is bad input (exit 2) and lists what is known', async () => {
    const r = await run(['check', '-f', threeTier, '--from', 'default/nope', '--to', 'default/db', '--port', '3306']);
    assert.equal(r.code, 2);
    assert.match(r.err, /no endpoint "default\/nope".*default\/api/);
  });

  test('a missing --port is a usage error (exit 2)', async () => {
    const r = await run(['check', '-f', threeTier, '--from', 'web', '--to', 'db']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--port/);
  });
});

describe('explain', () => {
  test('explains isolation, rules and reach of one endpoint', async () => {
    const r = await run(['explain', '-f', threeTier, 'default/db']);
    assert.equal(r.code, 0);
    assert.match(r.out, /selected by: default\/db-policy \[Ingress\]/);
    assert.match(r.out, /ingress: isolated by default\/db-policy/);
    assert.match(r.out, /may be reached by: default\/api \(3306\/TCP\)/);
    assert.match(r.out, /egress: not isolated/);
  });

  test('says that a hostNetwork pod is not subject to policies', async () => {
    const file = join(scratch, 'host.yaml');
    writeFileSync(
      file,
      'apiVersion: v1\nkind: Pod\nmetadata: {name: agent, labels: {role: db}}\nspec:\n  hostNetwork: true\n  containers: [{name: a, image: x}]\n',
    );
    const r = await run(['explain', '-f', threeTier, '-f', file, 'default/agent']);
    assert.match(r.out, /hostNetwork: uses the node's network, so NetworkPolicy does not apply/);
    assert.match(r.out, /selected by: no policy/);
  });
});

describe('input errors', () => {
  test('every validation error is printed with file, line, object and field path; exit 2; nothing computed', async () => {
    const file = join(scratch, 'db-policy.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: networking.k8s.io/v1',
        'kind: NetworkPolicy',
        'metadata:',
        '  name: db-policy',
        'spec:',
        '  podSelector: {}',
        '  ingress:',
        '  - ports:',
        '    - port: 80',
        '      endPort: 79',
        '    - protocol: ICMP',
        '',
      ].join('\n'),
    );
    const r = await run(['matrix', '-f', file, '-o', 'json']);
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.match(r.err, /db-policy\.yaml:10:16: NetworkPolicy default\/db-policy: spec\.ingress\[0\]\.ports\[0\]\.endPort: Invalid value: 79: must be greater than or equal to `port`/);
    assert.match(r.err, /spec\.ingress\[0\]\.ports\[1\]\.protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"/);
    assert.match(r.err, /2 errors: nothing was computed/);
  });

  test('a missing path is an error naming it', async () => {
    const r = await run(['matrix', '-f', join(scratch, 'missing.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /the path ".*missing\.yaml" does not exist/);
  });

  test('kinds Podwall does not model are skipped with a one-line notice', async () => {
    const file = join(scratch, 'svc.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
    const r = await run(['matrix', '-f', threeTier, '-f', file, '--port', '80', '-o', 'json']);
    assert.equal(r.code, 0);
    assert.equal(r.err.trim(), 'notice: skipped 2 objects Podwall does not model: ConfigMap, Service');
  });

  test('-n places objects without a namespace', async () => {
    const r = await run(['matrix', '-f', threeTier, '-n', 'shop', '--port', '80', '-o', 'json']);
    assert.deepEqual(JSON.parse(r.out).pods, ['shop/api', 'shop/db', 'shop/web']);
  });
});

describe('the podwall executable', () => {
  test('bin/podwall.js (the compiled CLI) runs check and exits with its verdict', () => {
    const bin = fileURLToPath(new URL('../bin/podwall.js', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'check', '-f', threeTier, '--from', 'web', '--to', 'db', '--port', '3306'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /DENIED/);
  });

  test('colour only on a terminal, and never with NO_COLOR or TERM=dumb', () => {
    assert.equal(useColor({ isTTY: true }, {}), true);
    assert.equal(useColor({ isTTY: false }, {}), false);
    assert.equal(useColor({ isTTY: true }, { NO_COLOR: '' }), false);
    assert.equal(useColor({ isTTY: true }, { TERM: 'dumb' }), false);
  });
});
