// The UI's server shell: who may ask (Host names against DNS rebinding; Origin, Sec-Fetch-Site and
// JSON bodies against other sites' pages), bounded bodies (a real 413), edits evaluated off the
// event loop, the event stream, and `podwall ui`'s flags (--address beyond loopback, bad input).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runUi } from '../src/cli/ui.js';
import { loadManifests, type Cluster } from '../src/model/index.js';
import { allowedHost, allowedOrigin } from '../src/web/guard.js';
import { MAX_BODY_BYTES } from '../src/web/server.js';
import { labSource, startUiServer, staticSource, type ClusterSource, type UiServer, type UiServerOptions } from '../src/web/index.js';
import { capturingOutput, raw } from './ui-fixtures.js';

function threeTier(): Cluster {
  const r = loadManifests(['examples/three-tier']);
  assert.ok(r.cluster);
  return r.cluster;
}

async function withServer(fn: (server: UiServer) => Promise<void>, options: Partial<UiServerOptions> = {}): Promise<void> {
  const server = await startUiServer({ source: staticSource(threeTier(), 't'), port: 0, clientDir: '/nonexistent', ...options });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

const POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-policy
spec:
  podSelector:
    matchLabels:
      role: web
  ingress:
  - ports:
    - port: 80
`;
const PREVIEW = JSON.stringify({ text: POLICY });
const JSON_TYPE = { 'content-type': 'application/json' };

/** A non-loopback address of this machine (eth0's, say) of the family, or undefined. */
function externalAddress(family: 'IPv4' | 'IPv6'): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === family && !i.internal && !i.address.startsWith('fe80:'))?.address;
}

describe('ui server: Host names (no DNS rebinding)', () => {
  it('on loopback it answers loopback names at its port and refuses every other Host, the page included', async () => {
    await withServer(async ({ port }) => {
      const cases: [string, string | undefined, number][] = [
        ['127.0.0.1', `127.0.0.1:${port}`, 200],
        ['localhost', `localhost:${port}`, 200],
        ['localhost in capitals', `LOCALHOST:${port}`, 200],
        ['[::1] (the connection came over loopback)', `[::1]:${port}`, 200],
        ['another site name (a DNS-rebinding page)', `evil.example:${port}`, 421],
        ['another site name without a port', 'evil.example', 421],
        ['a loopback name without the port (80)', '127.0.0.1', 421],
        ['another port', `127.0.0.1:${port + 1}`, 421],
        ['an address this connection did not reach', `192.0.2.77:${port}`, 421],
        ['localhost. (another name)', `localhost.:${port}`, 421],
        ['user info', `evil@127.0.0.1:${port}`, 421],
        ['no Host at all (HTTP/1.1 requires one)', undefined, 400],
      ];
      for (const [what, host, status] of cases) {
        const headers: Record<string, string> = host === undefined ? {} : { host };
        assert.equal((await raw(port, { path: '/api/model', headers, setHost: false })).status, status, what);
      }
      assert.equal((await raw(port, { path: '/', headers: { host: `evil.example:${port}` } })).status, 421, 'the page too');
    });
  });

  it('the Host and Origin rules, case by case', () => {
    const loopback = { port: 80, exposed: false, hostName: 'vm' };
    const exposed = { port: 80, exposed: true, hostName: 'vm' };
    const hosts: [string, string, string, typeof loopback, boolean][] = [
      ['a loopback name, reached over loopback', 'localhost', '127.0.0.1', loopback, true],
      ['a loopback name on a connection from elsewhere', 'localhost:80', '192.0.2.2', exposed, false],
      ['the address reached', '192.0.2.2:80', '192.0.2.2', exposed, true],
      ['the IPv4 address reached through a dual-stack socket', '192.0.2.2:80', '::ffff:192.0.2.2', exposed, true],
      ['the IPv6 address reached', '[fd00::2]:80', 'fd00::2', exposed, true],
      ['the IPv6 address reached, written otherwise', '[FD00:0::2]:80', 'fd00::2', exposed, true],
      ['another address of the network', '192.0.2.3:80', '192.0.2.2', exposed, false],
      ["this machine's name, exposed", 'VM:80', '192.0.2.2', exposed, true],
      ["this machine's name, on loopback", 'vm:80', '127.0.0.1', loopback, false],
      ['any other name, exposed', 'evil.example:80', '192.0.2.2', exposed, false],
    ];
    for (const [what, host, local, listening, allowed] of hosts) assert.equal(allowedHost(host, local, listening), allowed, what);
    const origins: [string, string | undefined, string, boolean][] = [
      ['no Origin (curl, a same-origin read)', undefined, '127.0.0.1:7780', true],
      ['its own origin', 'http://127.0.0.1:7780', '127.0.0.1:7780', true],
      ['its own origin, in capitals', 'http://LOCALHOST:7780', 'localhost:7780', true],
      ['its own origin on port 80', 'http://127.0.0.1', '127.0.0.1:80', true],
      ['another name of the same server is another origin', 'http://127.0.0.1:7780', 'localhost:7780', false],
      ['another scheme', 'https://127.0.0.1:7780', '127.0.0.1:7780', false],
      ['another site', 'http://evil.example', '127.0.0.1:7780', false],
      ['a sandboxed frame or a file:// page', 'null', '127.0.0.1:7780', false],
    ];
    for (const [what, origin, host, allowed] of origins) assert.equal(allowedOrigin(origin, host), allowed, what);
  });

  for (const [bind, family] of [
    ['0.0.0.0', 'IPv4'],
    ['::', 'IPv6'],
  ] as const) {
    it(`--address ${bind} warns, says where it is reached, and answers at a non-loopback ${family} address of this machine; other names get 421`, async (t) => {
      const external = externalAddress(family);
      if (!external) return t.skip(`this machine has no non-loopback ${family} address`);
      const cap = capturingOutput();
      const controller = new AbortController();
      const done = runUi({ filename: ['examples/three-tier'], namespace: 'default', port: '0', address: bind }, cap.io, controller.signal);
      try {
        const first = await Promise.race([cap.line(/^Podwall UI: /), done.then(() => assert.fail(cap.lines.join('\n')))]);
        const port = Number(/:(\d+)\/$/.exec(first)![1]);
        assert.match(cap.lines.join('\n'), new RegExp(`^warning: listening on ${bind.replace(/\./g, '\\.')}, not loopback: anyone who can reach port ${port} .* no login`, 'm'));
        const at = family === 'IPv6' ? `[${external}]:${port}` : `${external}:${port}`;
        assert.ok(cap.lines.some((l) => l.startsWith('also at: ') && l.includes(`http://${at}/`)), cap.lines.join('\n'));
        const ask = (host: string, address = external): Promise<number> => raw(port, { address, path: '/api/model', headers: { host } }).then((r) => r.status);
        assert.equal(await ask(at), 200, 'the address reached');
        assert.equal(await ask(`${hostname()}:${port}`), 200, "this machine's name");
        assert.equal(await ask(`evil.example:${port}`), 421, 'a DNS-rebinding name');
        assert.equal(await ask(`localhost:${port}`), 421, 'a loopback name on a connection from elsewhere');
        assert.equal(await ask(at, family === 'IPv6' ? '::1' : '127.0.0.1'), 421, 'an address the connection did not reach');
        const posted = await raw(port, { address: external, method: 'POST', path: '/api/preview', headers: { host: at, origin: `http://${at}`, ...JSON_TYPE }, body: PREVIEW });
        assert.equal(posted.status, 200, 'its own page at that address');
      } finally {
        controller.abort();
      }
      assert.equal(await done, 0);
    });
  }

  it('--address of one non-loopback address answers there, under that address', async (t) => {
    const external = externalAddress('IPv4');
    if (!external) return t.skip('this machine has no non-loopback IPv4 address');
    await withServer(
      async (server) => {
        assert.equal(server.url, `http://${external}:${server.port}/`);
        assert.equal(server.exposed, true);
        assert.equal((await raw(server.port, { address: external, path: '/api/model', headers: { host: `${external}:${server.port}` } })).status, 200);
      },
      { address: external },
    );
  });
});

describe('ui server: only its own page may ask', () => {
  it('a request from another origin or site is refused (403) whatever its method and content type; probing is a POST; nothing is probed', async () => {
    let probes = 0;
    const source: ClusterSource = labSource({ cluster: threeTier, probe: async () => (probes++, []), counters: async () => new Map(), close: () => undefined }, 'lab', { intervalMs: 60_000, countersMs: 60_000 });
    await withServer(
      async ({ port }) => {
        const own = `http://127.0.0.1:${port}`;
        const cases: [string, string, string, Record<string, string>, string | undefined, number][] = [
          ['a "simple" cross-origin POST (text/plain) of a preview', 'POST', '/api/preview', { origin: 'http://evil.example', 'content-type': 'text/plain' }, PREVIEW, 403],
          ['a cross-origin POST with JSON', 'POST', '/api/preview', { origin: 'http://evil.example', ...JSON_TYPE }, PREVIEW, 403],
          ['a cross-origin probe', 'POST', '/api/lab/probe', { origin: 'http://evil.example', 'content-type': 'text/plain' }, '', 403],
          ['a probe by GET (an <img> elsewhere sends no Origin)', 'GET', '/api/lab/probe', {}, undefined, 405],
          ['a probe by GET from another site', 'GET', '/api/lab/probe', { 'sec-fetch-site': 'cross-site' }, undefined, 403],
          ['a read from another origin', 'GET', '/api/model', { origin: 'http://evil.example' }, undefined, 403],
          ['counters read from another site', 'GET', '/api/lab/counters', { 'sec-fetch-site': 'cross-site' }, undefined, 403],
          ['the event stream from another origin', 'GET', '/api/events', { origin: 'http://evil.example' }, undefined, 403],
          ['another port of localhost: the same site, not the same origin', 'GET', '/api/model', { origin: 'http://localhost:1234', 'sec-fetch-site': 'same-site' }, undefined, 403],
          ['a sandboxed frame (Origin: null)', 'POST', '/api/preview', { origin: 'null', ...JSON_TYPE }, PREVIEW, 403],
          ['https, another origin', 'POST', '/api/preview', { origin: `https://127.0.0.1:${port}`, ...JSON_TYPE }, PREVIEW, 403],
          ['a CORS preflight from another site', 'OPTIONS', '/api/preview', { origin: 'http://evil.example', 'access-control-request-method': 'POST' }, undefined, 403],
          ['a CORS preflight from its own page', 'OPTIONS', '/api/preview', { origin: own }, undefined, 405],
          ['its own page', 'POST', '/api/preview', { origin: own, 'sec-fetch-site': 'same-origin', ...JSON_TYPE }, PREVIEW, 200],
          ['no Origin (curl)', 'GET', '/api/model', {}, undefined, 200],
          ['typed in the address bar', 'GET', '/api/model', { 'sec-fetch-site': 'none' }, undefined, 200],
          ['its own page probes', 'POST', '/api/lab/probe', { origin: own, 'sec-fetch-site': 'same-origin', ...JSON_TYPE }, '{}', 200],
        ];
        for (const [what, method, path, headers, body, status] of cases) {
          const r = await raw(port, { method, path, headers, body });
          assert.equal(r.status, status, `${what}: ${r.body}`);
          assert.equal(r.headers['access-control-allow-origin'], undefined, `${what}: no CORS consent`);
          if (status >= 400) assert.match(JSON.parse(r.body).error, /\w/, what);
        }
        assert.equal(probes, 1, 'only its own page probed');
      },
      { source },
    );
    source.close();
  });

  it('a POST body that does not say it is JSON gets 415, even from the same origin', async () => {
    await withServer(async ({ port }) => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', undefined]) {
        const r = await raw(port, { method: 'POST', path: '/api/preview', headers: type ? { 'content-type': type } : {}, body: PREVIEW });
        assert.equal(r.status, 415, String(type));
      }
      for (const type of ['application/json; charset=utf-8', 'Application/JSON']) {
        assert.equal((await raw(port, { method: 'POST', path: '/api/preview', headers: { 'content-type': type }, body: PREVIEW })).status, 200, type);
      }
    });
  });
});

/** The edit whose evaluation costs the most per byte (a YAML flow sequence of empty lists), as a JSON body of nearly `size` bytes. */
function costliestBody(size: number): string {
  const items = Math.floor((size - 20) / 4);
  return JSON.stringify({ text: `[${'[], '.repeat(items - 1)}[]]` });
}

describe('ui server: bodies are bounded', () => {
  it(`a body over ${MAX_BODY_BYTES / 1024} KiB (the issue's 889 KB preview) gets a 413 the client reads, declared, chunked or after Expect: 100-continue; the server answers on`, async () => {
    await withServer(async ({ port }) => {
      const issue = JSON.stringify({ text: `${POLICY}---\n`.repeat(Math.ceil(889_000 / (POLICY.length + 4))) });
      assert.ok(issue.length > 889_000);
      const declared = await raw(port, { method: 'POST', path: '/api/preview', headers: JSON_TYPE, body: issue });
      assert.equal(declared.status, 413);
      assert.match(JSON.parse(declared.body).error, new RegExp(`over ${MAX_BODY_BYTES} bytes`));
      const large = await raw(port, { method: 'POST', path: '/api/preview', headers: JSON_TYPE, body: Buffer.alloc(4 * 1024 * 1024, 'x') });
      assert.equal(large.status, 413, '4 MiB: read and dropped, then answered');
      const chunked = await raw(port, { method: 'POST', path: '/api/preview', headers: { ...JSON_TYPE, 'transfer-encoding': 'chunked' }, body: issue });
      assert.equal(chunked.status, 413);
      const expecting = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
        let continued = false;
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/preview', agent: false, headers: { ...JSON_TYPE, 'content-length': String(issue.length), expect: '100-continue' } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, continued });
        });
        req.on('continue', () => {
          continued = true;
          req.end(issue);
        });
        req.on('error', reject);
        req.flushHeaders();
      });
      assert.deepEqual(expecting, { status: 413, continued: false }, 'refused before the body is sent');
      const atLimit = await raw(port, { method: 'POST', path: '/api/preview', headers: JSON_TYPE, body: costliestBody(MAX_BODY_BYTES) });
      assert.equal(atLimit.status, 200, 'a body within the limit is read');
      assert.equal((await raw(port, { path: '/api/model' })).status, 200);
    });
  });

  it('while the costliest body the server takes is evaluated, GET /api/model answers at once', async (t) => {
    await withServer(async ({ port }) => {
      // The worker that evaluates edits is loaded first: its start is not what this measures.
      assert.equal((await raw(port, { method: 'POST', path: '/api/preview', headers: JSON_TYPE, body: PREVIEW })).status, 200);
      const body = costliestBody(MAX_BODY_BYTES);
      assert.ok(body.length <= MAX_BODY_BYTES && body.length > MAX_BODY_BYTES - 100);
      const started = performance.now();
      let evaluated: number | undefined;
      const preview = raw(port, { method: 'POST', path: '/api/preview', headers: JSON_TYPE, body }).then((r) => ((evaluated = performance.now() - started), r));
      const latencies: number[] = [];
      while (evaluated === undefined) {
        const t0 = performance.now();
        assert.equal((await raw(port, { path: '/api/model' })).status, 200);
        latencies.push(performance.now() - t0);
      }
      assert.equal((await preview).status, 200);
      const slowest = Math.max(...latencies);
      t.diagnostic(`${latencies.length} reads during a ${evaluated.toFixed(0)} ms edit, the slowest ${slowest.toFixed(0)} ms`);
      // Blocked behind the edit, a read would wait for as long as the edit takes.
      assert.ok(slowest < Math.max(60, evaluated / 3), `the slowest of ${latencies.length} reads took ${slowest.toFixed(0)} ms while the edit took ${evaluated.toFixed(0)} ms`);
    });
  });

  it('an edit that takes longer than its time limit is answered 422 (nothing computed), and the server goes on answering', async () => {
    await withServer(
      async ({ port }) => {
        const r = await raw(port, { method: 'POST', path: '/api/preview', headers: JSON_TYPE, body: costliestBody(MAX_BODY_BYTES) });
        assert.equal(r.status, 422);
        const answer = JSON.parse(r.body) as { ok: boolean; diagnostics: { message: string }[] };
        assert.equal(answer.ok, false);
        assert.match(answer.diagnostics[0].message, /evaluating the edit took longer than 0\.02 s: nothing was computed/);
        assert.equal((await raw(port, { path: '/api/model' })).status, 200);
        const next = await raw(port, { method: 'POST', path: '/api/preview', headers: JSON_TYPE, body: PREVIEW });
        assert.ok(next.status === 200 || next.status === 422, `a new worker answers the next edit: ${next.status}`);
      },
      { editTimeoutMs: 20 },
    );
  });
});

describe('ui server: the page, events and the command', () => {
  it('listens on 127.0.0.1, serves the page (503 until built) and streams events', async () => {
    await withServer(async (server) => {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.equal(server.exposed, false);
      assert.equal((await fetch(server.url)).status, 503);
      const events = await fetch(`${server.url}api/events`);
      const reader = events.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.match(first, /^event: hello\ndata: \{"version":1\}/);
      await reader.cancel();
    });
  });

  it('`podwall ui -f` prints its address, warns of nothing on loopback, and stops when told', async () => {
    const cap = capturingOutput();
    const controller = new AbortController();
    const done = runUi({ filename: ['examples/three-tier'], namespace: 'default', port: '0' }, cap.io, controller.signal);
    const url = /^Podwall UI: (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(await cap.line(/^Podwall UI: /))?.[1];
    assert.ok(url, cap.lines.join('\n'));
    assert.equal((await fetch(`${url}api/model`)).status, 200);
    controller.abort();
    assert.equal(await done, 0);
    assert.ok(!cap.lines.some((l) => l.startsWith('warning:')), cap.lines.join('\n'));
  });

  it('a bad --address or --port is bad input: one line, exit 2', () => {
    const entry = fileURLToPath(new URL('../src/cli/entry.ts', import.meta.url));
    const cases: [string[], RegExp][] = [
      [['--address', 'example.com'], /^error: --address: "example\.com" is not an IP address/],
      [['--address', '300.1.1.1'], /^error: --address: "300\.1\.1\.1" is not an IP address/],
      [['--port', '70000'], /^error: --port: "70000" is not a port number/],
      [['--address', '203.0.113.7', '--port', '0'], /^error: cannot listen on 203\.0\.113\.7:0: .*EADDRNOTAVAIL/],
    ];
    for (const [flags, message] of cases) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', entry, 'ui', '-f', 'examples/three-tier', ...flags], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
