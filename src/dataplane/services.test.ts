// The Services table (kube-proxy's nftables mode, restated): a ClusterIP and port lead to a chain
// that picks one ready backend of the connection's own family at random and DNATs to it; a
// NodePort does the same on every node address; a Service port with no backend is refused.
// Checked on the structure, and by `nft -c` where nft is available.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { checkRuleset } from './apply.js';
import { renderTable, type Ruleset } from './ruleset.js';
import { compileServices, HAIRPIN_MARK, NO_ENDPOINTS_MARK, type ServiceFrontend } from './services.js';

const nft = spawnSync('nft', ['--version']).status === 0 && process.getuid?.() === 0;

const chain = (r: Ruleset, name: string): readonly string[] => {
  const c = r.chains.find((x) => x.name === name);
  assert.ok(c, `no chain ${name}`);
  return c.rules;
};
const map = (r: Ruleset, name: string): Map<string, string> => new Map(r.maps.find((m) => m.name === name)!.elements.map(([k, v]) => [k, v]));

/** Where a packet to `address:port` is DNATed: every backend chain its Service chain can pick. */
function targets(r: Ruleset, family: 4 | 6, key: string): string[] {
  const entry = map(r, `svc${family}`).get(key);
  if (!entry) return [];
  const sub = entry.replace(/^goto /, '');
  const rule = chain(r, sub)[0];
  const eps = [...rule.matchAll(/goto (\S+?)(?:,| |$)/g)].map((m) => m[1]).filter((c) => c.includes('-ep-'));
  return eps.flatMap((ep) => chain(r, ep).filter((d) => d.includes(' dnat '))).map((d) => d.replace(/^meta l4proto \w+ dnat ip6? to /, ''));
}

const api: ServiceFrontend = { id: 'default/api:5000', protocol: 'TCP', addresses: ['10.96.0.5'], port: 5000, backends: [{ ip: '10.244.0.2', port: 5000 }] };
const web: ServiceFrontend = {
  id: 'default/web:http',
  protocol: 'TCP',
  addresses: ['10.96.0.6', 'fd00:96:0:0::6'],
  port: 80,
  nodePort: 30080,
  backends: [
    { ip: '10.244.0.4', port: 8080 },
    { ip: '10.244.0.5', port: 8080 },
    { ip: 'fd00::5', port: 8080 },
  ],
};
const dns: ServiceFrontend = { id: 'kube-system/kube-dns:dns', protocol: 'UDP', addresses: ['10.96.0.10'], port: 53, backends: [] };

describe('the Services table', () => {
  test('a ClusterIP and port lead to the backend, at its target port', () => {
    const r = compileServices([api]);
    assert.deepEqual(targets(r, 4, '10.96.0.5 . tcp . 5000'), ['10.244.0.2:5000']);
  });

  test('several backends are picked at random per connection, each family only among its own', () => {
    const r = compileServices([web]);
    assert.deepEqual(targets(r, 4, '10.96.0.6 . tcp . 80').sort(), ['10.244.0.4:8080', '10.244.0.5:8080']);
    assert.deepEqual(targets(r, 6, 'fd00:96::6 . tcp . 80'), ['[fd00::5]:8080'], 'the IPv6 address is written canonically');
    const v4 = chain(r, map(r, 'svc4').get('10.96.0.6 . tcp . 80')!.replace('goto ', ''))[0];
    assert.match(v4, /^numgen random mod 2 vmap \{ 0 : goto \S+, 1 : goto \S+ \}/);
  });

  test('a NodePort answers on every node address and dispatches by family', () => {
    const r = compileServices([web]);
    const to = map(r, 'nodeports').get('tcp . 30080');
    assert.ok(to);
    assert.deepEqual(chain(r, to.replace('goto ', '')), ['meta nfproto ipv4 goto svc-0-v4', 'meta nfproto ipv6 goto svc-0-v6']);
    assert.ok(chain(r, 'prerouting').includes('fib daddr type local meta l4proto . th dport vmap @nodeports'));
  });

  test('a Service port without a ready backend is marked, and refused in the filter hooks before the policies', () => {
    const r = compileServices([dns]);
    const sub = map(r, 'svc4').get('10.96.0.10 . udp . 53')!.replace('goto ', '');
    assert.match(chain(r, sub)[0], new RegExp(`^meta mark set meta mark \\| ${NO_ENDPOINTS_MARK}`));
    for (const name of ['forward', 'input', 'local']) {
      assert.ok(chain(r, name).some((rule) => rule.endsWith('reject')), name);
      assert.match(r.chains.find((c) => c.name === name)!.base!.priority, /^filter - \d+$/);
    }
  });

  test('a backend reaching itself through its Service is marked before the DNAT and masqueraded after the filter hooks', () => {
    const r = compileServices([web]);
    const ep = (family: 4 | 6): readonly string[] => {
      const sub = map(r, `svc${family}`).get(family === 4 ? '10.96.0.6 . tcp . 80' : 'fd00:96::6 . tcp . 80')!.replace('goto ', '');
      const first = /goto (\S+?-ep-0)/.exec(chain(r, sub)[0])![1];
      return chain(r, first);
    };
    assert.deepEqual(ep(4), [`ip saddr 10.244.0.4 meta mark set meta mark | ${HAIRPIN_MARK}`, 'meta l4proto tcp dnat ip to 10.244.0.4:8080']);
    assert.deepEqual(ep(6), [`ip6 saddr fd00::5 meta mark set meta mark | ${HAIRPIN_MARK}`, 'meta l4proto tcp dnat ip6 to [fd00::5]:8080']);
    const post = r.chains.find((c) => c.name === 'postrouting')!;
    assert.deepEqual(post.base, { hook: 'postrouting', priority: 'srcnat', type: 'nat' });
    assert.deepEqual(post.rules, [`meta mark & ${HAIRPIN_MARK} == ${HAIRPIN_MARK} masquerade`]);
    assert.notEqual(HAIRPIN_MARK, NO_ENDPOINTS_MARK);
  });

  test('the rendering is deterministic whatever the order of the Services', () => {
    assert.equal(renderTable(compileServices([api, web, dns])), renderTable(compileServices([dns, web, api])));
  });

  test('nft -c accepts the table', { skip: nft ? false : 'needs root and nft' }, async () => {
    await checkRuleset(compileServices([api, web, dns]));
    await checkRuleset(compileServices([]));
  });
});
