// End-to-end runs of the `podwall` commands, through main() with captured output and through the
// real process, for their output and their exit codes: 0 yes/allowed, 1 a verdict, 2 bad input,
// 3 an internal failure (never 1: a crash must not read as a verdict).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exitCodeFor, main } from '../src/cli/main.js';
import { useColor, type Output } from '../src/cli/output.js';
import { runCli as run } from './support/cli.js';

const threeTier = fileURLToPath(new URL('../examples/three-tier', import.meta.url));
const entry = fileURLToPath(new URL('../src/cli/entry.ts', import.meta.url));
const bin = fileURLToPath(new URL('../bin/podwall.js', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));

const scratch = mkdtempSync(join(tmpdir(), 'podwall-cli-'));
// Readable by the unprivileged user of the permission test.
chmodSync(scratch, 0o755);
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The real CLI as a process of its own (src/cli/entry.ts through tsx), as a user runs it. */
function cli(args: readonly string[], options: SpawnSyncOptions = {}, prefix: readonly string[] = []): { code: number | null; out: string; err: string } {
  const [command, ...rest] = [...prefix, process.execPath, '--import', 'tsx', entry, ...args];
  const r = spawnSync(command, rest, { cwd: repo, encoding: 'utf8', timeout: 60_000, ...options, env: { ...process.env, PODWALL_DEBUG: '', ...options.env } });
  return { code: r.status, out: String(r.stdout ?? ''), err: String(r.stderr ?? '') };
}

/** Runs a command whose standard output is closed by its reader at once (`podwall ... | head -c0`). */
function withClosedOutput(command: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PODWALL_DEBUG: '', ...env } });
    child.stdout.destroy();
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, err }));
  });
}

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

function dir(name: string, files: Record<string, string> = {}): string {
  const path = join(scratch, name);
  mkdirSync(path, { recursive: true });
  for (const [n, text] of Object.entries(files)) writeFileSync(join(path, n), text);
  return path;
}

/** The three-tier example plus a FIFO named like a manifest, which nothing will ever write to. */
function dirWithFifo(): string {
  const path = dir('with-fifo');
  for (const f of readdirSync(threeTier)) copyFileSync(join(threeTier, f), join(path, f));
  if (!existsSync(join(path, 'zz-pipe.yaml'))) spawnSync('mkfifo', [join(path, 'zz-pipe.yaml')]);
  return path;
}

function aliasBomb(): string {
  const lines = ['  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 9; i++) lines.push(`  l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n${lines.join('\n')}\n`;
}

describe('matrix', () => {
  test('json for one port has exactly the documented shape, pods in natural order of namespace then name', async () => {
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
      listening: [false, true, false],
      outside: ['none', 'none', 'none'],
      summary: { endpoints: 3, isolated: { ingress: 3, egress: 2 }, pairs: 9, allowed: 1, allowedListening: 1, outside: 0, outsideListening: 0 },
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
    assert.match(r.out, /^default\/web\s+✓ · ·$/m);
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

  test('a List whose items is not a list is refused, naming the file and the field', async () => {
    const r = await run(['matrix', '-f', file('list.yaml', 'apiVersion: v1\nkind: List\nitems: {a: 1}\n')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /list\.yaml:3:8: items: Invalid value: \{"a":1\}: must be a list/);
  });

  test('a PodList as kubectl get -o yaml writes it is read: its items are Pods', async () => {
    const list = file('podlist.yaml', 'apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: web}\n  spec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}\n');
    const r = await run(['matrix', '-f', list, '--port', '80', '-o', 'json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out).pods, ['default/web']);
  });

  test('a missing path is an error naming it', async () => {
    const r = await run(['matrix', '-f', join(scratch, 'missing.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /the path ".*missing\.yaml" does not exist/);
  });

  test('kinds Podwall does not model are skipped with a one-line notice', async () => {
    const file = join(scratch, 'svc.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Service\nmetadata: {name: extra}\nspec: {ports: [{port: 80}]}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
    const r = await run(['matrix', '-f', threeTier, '-f', file, '--port', '80', '-o', 'json']);
    assert.equal(r.code, 0);
    assert.equal(r.err.trim(), 'notice: skipped 1 object Podwall does not model: ConfigMap');
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

describe('exit codes: 0 yes, 1 a verdict, 2 bad input, 3 an internal failure', () => {
  interface Row {
    readonly rule: string;
    readonly args: () => string[];
    readonly options?: () => SpawnSyncOptions;
    readonly code: number;
    readonly err: RegExp;
  }
  const rows: Row[] = [
    { rule: 'check: an allowed connection exits 0', args: () => ['check', '-f', threeTier, '--from', 'api', '--to', 'db', '--port', '3306'], code: 0, err: /^$/ },
    { rule: 'check: a denied connection exits 1, the verdict', args: () => ['check', '-f', threeTier, '--from', 'web', '--to', 'db', '--port', '3306'], code: 1, err: /^$/ },
    { rule: 'matrix: an empty file is bad input naming it (not an empty answer)', args: () => ['matrix', '-f', file('empty.yaml', '')], code: 2, err: /^error: no objects in: \S*empty\.yaml\n$/ },
    { rule: 'check: an empty file is bad input naming it', args: () => ['check', '-f', file('empty.yaml', ''), '--from', 'a', '--to', 'b', '--port', '80'], code: 2, err: /^error: no objects in: \S*empty\.yaml\n$/ },
    { rule: 'explain: a file of comments only is bad input naming it', args: () => ['explain', '-f', file('comments.yaml', '# nothing\n---\n# here\n')], code: 2, err: /^error: no objects in: \S*comments\.yaml\n$/ },
    {
      rule: 'explain: a file of admin policies only is input, not "no objects"',
      args: () => ['explain', '-f', fileURLToPath(new URL('../examples/admin-tiers/admin-deny-web-to-db.yaml', import.meta.url))],
      code: 0,
      err: /^$/,
    },
    { rule: 'matrix: empty standard input is bad input', args: () => ['matrix', '-f', '-'], options: () => ({ input: '' }), code: 2, err: /^error: no objects in: stdin\n$/ },
    { rule: 'matrix: a directory with no manifests is bad input naming it', args: () => ['matrix', '-f', dir('no-manifests', { 'README.md': '# not a manifest\n' })], code: 2, err: /^error: no objects in: \S*no-manifests\n$/ },
    {
      rule: 'matrix: standard input from a directory is bad input (EISDIR in words)',
      args: () => ['matrix', '-f', '-'],
      options: () => ({ stdio: [openSync(scratch, 'r'), 'pipe', 'pipe'] }),
      code: 2,
      err: /^error: <stdin>: cannot read: is a directory\n1 error: nothing was computed\n$/,
    },
    {
      rule: 'matrix: a FIFO inside a -f directory is skipped with a notice, never waited on',
      args: () => ['matrix', '-f', dirWithFifo(), '--port', '80', '-o', 'json'],
      code: 0,
      err: /^notice: \S*zz-pipe\.yaml: skipped: not a regular file\n$/,
    },
    { rule: 'matrix: an invalid -n namespace is bad input', args: () => ['matrix', '-f', threeTier, '-n', 'Bad_NS'], code: 2, err: /^error: -n: "Bad_NS" is not a valid namespace name: a lowercase RFC 1123 label must consist of/ },
    {
      rule: 'check: neither end in the cluster is bad input, and says so',
      args: () => ['check', '-f', threeTier, '--from', '1.2.3.4', '--to', '5.6.7.8', '--port', '80'],
      code: 2,
      err: /^error: neither end is in the cluster: --from 1\.2\.3\.4 and --to 5\.6\.7\.8 are outside it/,
    },
    {
      rule: 'matrix: a YAML alias bomb is bad input naming file and line (not a crash)',
      args: () => ['matrix', '-f', file('bomb.yaml', aliasBomb())],
      code: 2,
      err: /^error: \S*bomb\.yaml:6:\d+: YAML: document contains excessive aliasing \(more than 1000 alias expansions\)\n1 error: nothing was computed\n$/,
    },
    {
      rule: 'matrix: nesting that would exhaust the stack is bad input naming file and line (not a crash)',
      args: () => ['matrix', '-f', file('deep.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`)],
      code: 2,
      err: /^error: \S*deep\.yaml:4:\d+: YAML: nested more than 500 levels deep\n1 error: nothing was computed\n$/,
    },
    { rule: 'matrix: a missing file is bad input naming it', args: () => ['matrix', '-f', join(scratch, 'missing.yaml')], code: 2, err: /the path "\S*missing\.yaml" does not exist/ },
    { rule: 'an unknown flag is bad usage', args: () => ['matrix', '-f', threeTier, '--frobnicate'], code: 2, err: /unknown option '--frobnicate'/ },
    {
      rule: 'matrix: more endpoints than --max-endpoints is refused in one line before anything is computed',
      args: () => ['matrix', '-f', threeTier, '--max-endpoints', '2'],
      code: 2,
      err: /^error: matrix: 3 endpoints make 9 cells per grid, more than --max-endpoints 2 allows: [^\n]*\n$/,
    },
  ];
  for (const row of rows) {
    test(row.rule, () => {
      const options = row.options?.() ?? {};
      const r = cli(row.args(), options);
      const fd = (options.stdio as unknown[] | undefined)?.[0];
      if (typeof fd === 'number') closeSync(fd);
      assert.equal(r.code, row.code, r.err);
      assert.match(r.err, row.err);
    });
  }

  test('an unreadable file or directory is bad input naming it (permission denied, not a raw EACCES)', (t) => {
    // Root reads everything: the check runs as an unprivileged user.
    const asRoot = process.getuid?.() === 0;
    const runuser = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((p) => existsSync(p));
    if (asRoot && !runuser) return t.skip('root without runuser: EACCES cannot happen here');
    const secret = file('secret.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: secret}\n');
    chmodSync(secret, 0o600);
    const locked = dir('locked', { 'ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: locked}\n' });
    chmodSync(locked, 0o700);
    const r = cli(['matrix', '-f', secret, '-f', locked], {}, asRoot ? [runuser!, '-u', 'nobody', '--'] : []);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err, `error: ${secret}: cannot read: permission denied\nerror: ${locked}: cannot read: permission denied\n2 errors: nothing was computed\n`);
  });

  // An honest internal failure through the real process: the reader closes standard output before
  // the answer is written (EPIPE). Before, the unhandled error exited 1, reading as DENIED.
  // bin/podwall.js runs the compiled CLI in dist/, which may predate --debug: it is asked through
  // PODWALL_DEBUG, which its own handler reads.
  for (const [name, command, debugFlag, debugEnv] of [
    ['src/cli/entry.ts', [process.execPath, '--import', 'tsx', entry], ['--debug'], {}],
    ['bin/podwall.js', [process.execPath, bin], [], { PODWALL_DEBUG: '1' }],
  ] as const) {
    test(`${name}: a failure to write the answer of an allowed check exits 3 in one line, with the stack only when debugging`, async () => {
      const args = ['check', '-f', threeTier, '--from', 'api', '--to', 'db', '--port', '3306'];
      const plain = await withClosedOutput([...command, ...args]);
      assert.equal(plain.code, 3, plain.err);
      assert.equal(plain.err, 'error: standard output was closed before everything was written (EPIPE)\n');
      const debug = await withClosedOutput([...command, ...debugFlag, ...args], debugEnv);
      assert.equal(debug.code, 3, debug.err);
      assert.match(debug.err, /^error: standard output was closed before everything was written \(EPIPE\)\nError: write EPIPE\n\s+at /);
    });
  }

  test('matrix: a failure to stream a large grid exits 3 in one line', async () => {
    const pods = Array.from({ length: 400 }, (_, i) => `---\napiVersion: v1\nkind: Pod\nmetadata: {name: p${i}, labels: {app: a${i % 7}}}\nspec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}\n`).join('');
    const r = await withClosedOutput([process.execPath, '--import', 'tsx', entry, 'matrix', '-f', file('many.yaml', pods)]);
    assert.equal(r.code, 3, r.err);
    assert.equal(r.err, 'error: standard output was closed before everything was written (EPIPE)\n');
  });

  test('in process: an internal failure exits 3 with one line; its stack only with --debug or PODWALL_DEBUG', async () => {
    const attempt = async (args: string[], env?: string): Promise<{ code: number; err: string[] }> => {
      const lines: string[] = [];
      const io: Output = {
        out: () => {
          throw new TypeError('the output broke\nin two lines');
        },
        err: (s) => lines.push(...s.split('\n')),
        color: false,
      };
      const saved = process.env.PODWALL_DEBUG;
      if (env === undefined) delete process.env.PODWALL_DEBUG;
      else process.env.PODWALL_DEBUG = env;
      try {
        return { code: await main(args, io), err: lines };
      } finally {
        if (saved === undefined) delete process.env.PODWALL_DEBUG;
        else process.env.PODWALL_DEBUG = saved;
      }
    };
    const args = ['check', '-f', threeTier, '--from', 'web', '--to', 'db', '--port', '3306'];
    const plain = await attempt(args);
    assert.deepEqual(plain, { code: 3, err: ['error: internal error (TypeError): the output broke; in two lines'] });
    for (const [how, argv, env] of [
      ['--debug', ['--debug', ...args], undefined],
      ['--debug after the command', [...args, '--debug'], undefined],
      ['PODWALL_DEBUG=1', args, '1'],
    ] as const) {
      const debug = await attempt([...argv], env);
      assert.equal(debug.code, 3, how);
      assert.equal(debug.err[0], 'error: internal error (TypeError): the output broke; in two lines', how);
      assert.match(debug.err.slice(1).join('\n'), /^TypeError: the output broke\nin two lines\n\s+at /, how);
    }
  });

  test('errors are mapped by name (the lab is never imported to recognise its errors)', () => {
    const named = (name: string, message = 'what happened\nand what was written'): Error => Object.assign(new Error(message), { name });
    const table: [Error, number, string][] = [
      [named('UsageError', 'bad flag'), 2, 'error: bad flag'],
      [named('LabInputError', 'no lab "x" is up'), 2, 'error: no lab "x" is up'],
      [named('LabPrerequisiteError', 'nft is missing'), 2, 'error: nft is missing'],
      [named('InvalidInputError'), 2, ''],
      [named('LabChangeInterrupted'), 3, 'error: what happened; and what was written'],
      [named('LabPodsNotReady', '1 pod is not running: default/web (FailedCreatePodSandBox)'), 3, 'error: 1 pod is not running: default/web (FailedCreatePodSandBox)'],
      [new RangeError('Maximum call stack size exceeded'), 3, 'error: internal error (RangeError): Maximum call stack size exceeded'],
      [named('Error', ''), 3, 'error: internal error (Error): (no message)'],
    ];
    for (const [err, code, line] of table) {
      const lines: string[] = [];
      const io: Output = { out: () => undefined, err: (s) => lines.push(s), color: false };
      assert.equal(exitCodeFor(err, io, false), code, err.name);
      assert.deepEqual(lines, line ? [line] : [], err.name);
    }
  });
});

describe('matrix output streams', () => {
  test('json is exactly JSON.stringify of the documented shape', async () => {
    const r = await run(['matrix', '-f', threeTier, '--port', '3306', '-o', 'json']);
    const shape = {
      port: 3306,
      protocol: 'TCP',
      pods: ['default/api', 'default/db', 'default/web'],
      allowed: [[false, true, false], [false, false, false], [false, false, false]],
      listening: [false, true, false],
      outside: ['none', 'none', 'none'],
      summary: { endpoints: 3, isolated: { ingress: 3, egress: 2 }, pairs: 9, allowed: 1, allowedListening: 1, outside: 0, outsideListening: 0 },
    };
    assert.equal(r.out, `${JSON.stringify(shape)}\n`);
  });

  test('a large grid is written in pieces of bounded size, never built whole', async () => {
    const pods = Array.from({ length: 600 }, (_, i) => `---\napiVersion: v1\nkind: Pod\nmetadata: {name: p${i}}\nspec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}\n`).join('');
    const path = file('grid.yaml', pods);
    for (const format of ['text', 'json', 'md']) {
      const pieces: number[] = [];
      let text = '';
      const io: Output = {
        out: (s) => (text += `${s}\n`),
        err: () => undefined,
        color: false,
        write: (chunk) => {
          pieces.push(chunk.length);
          text += chunk;
          return Promise.resolve();
        },
      };
      assert.equal(await main(['matrix', '-f', path, '-o', format], io), 0);
      const total = pieces.reduce((a, b) => a + b, 0);
      assert.ok(total > 600 * 1200, `${format}: ${total} characters`);
      assert.ok(pieces.length > 5 && Math.max(...pieces) < 80 * 1024, `${format}: pieces of ${Math.max(...pieces)} characters`);
      if (format === 'json') assert.equal((JSON.parse(text) as { allowed: boolean[][] }[])[0].allowed.length, 600);
      else assert.ok(text.endsWith('\n') && !text.endsWith('\n\n'), format);
    }
  });
});

describe('admin tiers through the CLI (AdminNetworkPolicy, ClusterNetworkPolicy, BaselineAdminNetworkPolicy)', () => {
  // The seed's three tiers, plus: an admin Deny of api -> db whatever the teams write, an admin
  // Pass of web's egress to api (NetworkPolicy decides), and a baseline that denies pods' ingress
  // from other pods where no NetworkPolicy isolates it (the debug pod).
  const ADMIN = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: no-api-to-db
spec:
  priority: 5
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {name: db-pod}}}}
  ingress:
  - name: block-api
    action: Deny
    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {name: api-pod}}}}]
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: web-pass
spec:
  tier: Admin
  priority: 1
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {name: web-pod}}}}
  egress:
  - name: to-api
    action: Pass
    to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {name: api-pod}}}}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata:
  name: default
spec:
  subject: {namespaces: {}}
  ingress:
  - name: no-pods
    action: Deny
    from: [{namespaces: {}}]
`;
  const DEBUG = `apiVersion: v1
kind: Pod
metadata: {name: debug, labels: {role: debug}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}
`;
  const threeTierFiles = Object.fromEntries(readdirSync(threeTier).map((n) => [n, readFileSync(join(threeTier, n), 'utf8')]));
  const tiers = dir('admin-tiers', { ...threeTierFiles, 'admin.yaml': ADMIN, 'debug.yaml': DEBUG });
  const plain = dir('admin-tiers-before', { ...threeTierFiles, 'debug.yaml': DEBUG });
  const DENY = 'AdminNetworkPolicy/no-api-to-db (Admin tier, priority 5) ingress[0] "block-api": Deny';

  test('check: a side an Admin-tier Deny decides exits 1 and names the rule, and that NetworkPolicy was not consulted', async () => {
    const r = await run(['check', '-f', tiers, '--from', 'api', '--to', 'db', '--port', '3306']);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /DENIED/);
    assert.ok(r.out.includes(`ingress to default/db: ${DENY}, so denied (the Admin tier decides before NetworkPolicy: default/db-policy isolating it is not consulted)`), r.out);
    assert.match(r.out, /egress from default\/api: isolated by default\/api-policy; allowed by default\/api-policy egress\[0\]/);
  });

  test('check: a Pass on the way to NetworkPolicy is said before the NetworkPolicy rule that decided; exit 0', async () => {
    const r = await run(['check', '-f', tiers, '--from', 'web', '--to', 'api', '--port', '5000']);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.includes('egress from default/web: passed on by ClusterNetworkPolicy/web-pass (Admin tier, priority 1) egress[0] "to-api": Pass; isolated by default/web-policy; allowed by default/web-policy egress[0]'), r.out);
  });

  test('check: the Baseline tier decides for a pod no NetworkPolicy isolates, and a side no tier decides says so', async () => {
    const r = await run(['check', '-f', tiers, '--from', 'db', '--to', 'debug', '--port', '8080']);
    assert.equal(r.code, 1, r.err);
    assert.ok(r.out.includes('ingress to default/debug: not isolated for ingress by NetworkPolicy, so the Baseline tier decides: BaselineAdminNetworkPolicy/default (Baseline tier) ingress[0] "no-pods": Deny, so denied'), r.out);
    assert.ok(r.out.includes('egress from default/db: not isolated for egress (no policy selects it for Egress) and no admin or baseline rule matches: no tier decided, so allowed'), r.out);
  });

  test('check -o json carries the tier, the deciding rule and the Pass rules of each side', async () => {
    const denied = JSON.parse((await run(['check', '-f', tiers, '--from', 'api', '--to', 'db', '--port', '3306', '-o', 'json'])).out);
    assert.equal(denied.tier, 'Admin');
    assert.equal(denied.ingress.tier, 'Admin');
    assert.deepEqual(denied.ingress.decidedBy, { kind: 'AdminNetworkPolicy', policy: 'no-api-to-db', tier: 'Admin', priority: 5, direction: 'Ingress', rule: 0, name: 'block-api', action: 'Deny', text: DENY });
    assert.equal(denied.egress.tier, 'NetworkPolicy');
    const passed = JSON.parse((await run(['check', '-f', tiers, '--from', 'web', '--to', 'api', '--port', '5000', '-o', 'json'])).out);
    assert.deepEqual(passed.egress.passedBy.map((p: { text: string }) => p.text), ['ClusterNetworkPolicy/web-pass (Admin tier, priority 1) egress[0] "to-api": Pass']);
    assert.equal(passed.egress.decidedBy, null);
  });

  test('explain lists, per direction, the admin policies selecting the endpoint before its NetworkPolicy rules, and the baseline after', async () => {
    const r = await run(['explain', '-f', tiers, 'db']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    const at = (text: string): number => lines.findIndex((l) => l.includes(text));
    assert.ok(at('admin and baseline policies selecting it: AdminNetworkPolicy/no-api-to-db (Admin tier, priority 5), BaselineAdminNetworkPolicy/default (Baseline tier)') > 0, r.out);
    assert.ok(at('ingress: isolated by default/db-policy') < at(`${DENY} from pods with name=api-pod in all namespaces, on all ports`), r.out);
    assert.ok(at(`${DENY} from`) < at('default/db-policy ingress[0] allows from'), r.out);
    assert.ok(at('default/db-policy ingress[0] allows from') < at('Baseline tier, last: not consulted for ingress, since NetworkPolicy isolates it:'), r.out);
    const json = JSON.parse((await run(['explain', '-f', tiers, 'db', '-o', 'json'])).out)[0];
    assert.deepEqual(json.ingress.admin.map((p: { kind: string; policy: string; rules: { text: string }[] }) => [p.kind, p.policy, p.rules.map((x) => x.text)]), [['AdminNetworkPolicy', 'no-api-to-db', [DENY]]]);
    assert.deepEqual(json.ingress.baseline.map((p: { policy: string }) => p.policy), ['default']);
  });

  test('explain without admin policies has no tier lines or fields', async () => {
    const r = await run(['explain', '-f', threeTier, 'db']);
    assert.ok(!/tier/i.test(r.out), r.out);
    assert.equal(JSON.parse((await run(['explain', '-f', threeTier, 'db', '-o', 'json'])).out)[0].ingress.admin, undefined);
  });

  test('matrix marks the cells an Admin-tier rule denies, and --summary counts the pairs per deciding tier', async () => {
    const grid = await run(['matrix', '-f', tiers, '--port', '3306']);
    assert.match(grid.out, /⊘ denied by an Admin-tier rule \(before NetworkPolicy\)/);
    assert.match(grid.out, /^default\/api\s+· ⊘ · ·$/m);
    const summary = await run(['matrix', '-f', tiers, '--port', '3306', '--summary']);
    assert.match(summary.out, /decided by: Admin tier 1 pair \(1 denied\); NetworkPolicy \d+ pairs/);
    const json = JSON.parse((await run(['matrix', '-f', tiers, '--port', '3306', '--summary', '-o', 'json'])).out);
    assert.deepEqual(json.decidedBy.Admin, { allowed: 0, denied: 1 });
    const full = JSON.parse((await run(['matrix', '-f', tiers, '--port', '3306', '-o', 'json'])).out);
    assert.deepEqual(full.decidedBy, json.decidedBy);
    const without = await run(['matrix', '-f', threeTier, '--port', '3306', '--summary']);
    assert.ok(!without.out.includes('decided by'), 'no tier counts without admin policies');
  });

  test('diff: a flow an admin policy closes says which rule decided after; the admin policies are listed by kind; exit 1', async () => {
    const r = await run(['diff', plain, tiers]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /policies added: AdminNetworkPolicy\/no-api-to-db, BaselineAdminNetworkPolicy\/default, ClusterNetworkPolicy\/web-pass/);
    assert.ok(r.out.includes(`after:  denied: ingress by ${DENY}`), r.out);
    assert.ok(r.out.includes('after:  denied: ingress by BaselineAdminNetworkPolicy/default (Baseline tier) ingress[0] "no-pods": Deny'), r.out);
  });

  test('fix: where an Admin-tier Deny decides, no NetworkPolicy is proposed and the answer says only a cluster administrator can change it; exit 1', async () => {
    const r = await run(['fix', '-f', tiers, '--from', 'api', '--to', 'db', '--port', '3306']);
    assert.equal(r.code, 1, r.err);
    assert.ok(r.out.includes(`the ingress of default/db is denied by ${DENY}`), r.out);
    assert.match(r.out, /only a cluster administrator can change the AdminNetworkPolicy/);
    assert.ok(!r.out.includes('kind: NetworkPolicy'), 'no policy proposed');
  });

  test('test --expect: a case an admin rule breaks fails (exit 1) with the rule among its reasons', async () => {
    const expect = file('admin-expect.yaml', 'apiVersion: podwall.dev/v1alpha1\nkind: Expectations\ncases:\n- allow: {from: api, to: db, port: 3306}\n');
    const r = await run(['test', '-f', tiers, '--expect', expect]);
    assert.equal(r.code, 1, r.err);
    assert.ok(r.out.includes(DENY), r.out);
  });
});
