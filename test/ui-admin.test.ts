// The admin tiers in the UI (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy):
// the views carry the deciding tier and rule of each flow and side in the CLI's words, the admin
// policies themselves (bands), the editor takes the new kinds; without admin policies nothing changes.
// The page in Chromium: the blocked pair with its tier, the bands and their explanation, an edit
// with a ClusterNetworkPolicy; it makes docs/ui-admin-tiers.png.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { loadManifests, loadTexts, type Cluster } from '../src/model/index.js';
import { handleApi, startUiServer, staticSource, type UiServer } from '../src/web/index.js';
import type { CheckView, ExplainView, LintView, ModelView, PreviewView } from '../src/web/index.js';
import { graphModel } from '../web/src/graph-model.js';
import { runCli } from './support/cli.js';
import { ADMIN_DENY_WEB_DB, BASELINE_DEFAULT_DENY, CNP_ACCEPT_WEB_DB } from './ui-fixtures.js';
import { buildWebClient } from './support/web-build.js';

const ADMIN_RULE = 'AdminNetworkPolicy/web-never-reaches-db (Admin tier, priority 10) ingress[0] "deny-from-web": Deny';
const BASELINE_RULE = 'BaselineAdminNetworkPolicy/default (Baseline tier) egress[0] "default-deny-to-pods": Deny';

function threeTier(): Cluster {
  const r = loadManifests(['examples/three-tier']);
  assert.ok(r.cluster);
  return r.cluster;
}

/** The three-tier example with an admin Deny web -> db and a baseline default deny of egress to pods. */
function withTiers(...texts: string[]): Cluster {
  const base = threeTier();
  const admin = loadTexts(texts.map((text, i) => ({ file: `admin-${i}.yaml`, text })));
  assert.deepEqual(admin.diagnostics.filter((d) => d.severity === 'error'), []);
  return { ...base, adminPolicies: admin.cluster!.adminPolicies };
}

const tiersCtx = () => ({ source: staticSource(withTiers(ADMIN_DENY_WEB_DB, BASELINE_DEFAULT_DENY), 'admin tiers'), namespace: 'default' });
const plainCtx = () => ({ source: staticSource(threeTier(), 'three-tier'), namespace: 'default' });
type Ctx = ReturnType<typeof plainCtx>;
const get = async <T>(c: Ctx, path: string): Promise<T> => (await handleApi(c, 'GET', new URL(path, 'http://x'))).body as T;
const post = async <T>(c: Ctx, path: string, body: unknown): Promise<{ status: number; body: T }> =>
  handleApi(c, 'POST', new URL(path, 'http://x'), body) as Promise<{ status: number; body: T }>;

/** Every key anywhere in a JSON value. */
function keysOf(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keysOf(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      keysOf(v, out);
    }
  }
  return out;
}

describe('ui admin tiers: the views', () => {
  it('with no admin policies the views are as before: no tier, admin policy or rule key in the model, a check or an explanation', async () => {
    const c = plainCtx();
    const answers = [
      await get(c, '/api/model'),
      await get(c, '/api/check?from=default/web&to=default/db&port=3306'),
      await get(c, '/api/check?from=default/api&to=default/db&port=3306'),
      await get(c, '/api/explain/default/db'),
    ];
    const keys = [...keysOf(answers)];
    for (const k of ['adminPolicies', 'tier', 'tiers', 'decidedBy', 'passedBy', 'words', 'admin', 'baseline', 'adminSelectedBy']) assert.ok(!keys.includes(k), `${k} in a view without admin policies`);
  });

  it('a pair an admin Deny blocks carries the Admin tier and the rule in formatAdminRuleRef\'s words; a pair the baseline blocks carries the Baseline tier', async () => {
    const m = await get<ModelView>(tiersCtx(), '/api/model');
    const webDb = m.denied.find((f) => f.id === 'd:default/web->default/db');
    assert.deepEqual(webDb?.tier, 'Admin');
    assert.deepEqual(webDb?.tiers, [{ port: 3306, protocol: 'TCP', tier: 'Admin', rules: [ADMIN_RULE] }]);
    // db is not isolated for egress by NetworkPolicy: the baseline decides its egress and closes db -> web:80.
    assert.ok(!m.flows.some((f) => f.id === 'a:default/db->default/web'));
    const dbWeb = m.denied.find((f) => f.id === 'd:default/db->default/web');
    assert.deepEqual(dbWeb?.tiers, [{ port: 80, protocol: 'TCP', tier: 'Baseline', rules: [BASELINE_RULE] }]);
    // Flows NetworkPolicy decided carry no tier.
    assert.deepEqual(m.flows.filter((f) => f.tier !== undefined), []);
    assert.equal(m.denied.find((f) => f.id === 'd:default/api->default/web')?.tier, undefined);
  });

  it('an admin Accept that opens a pair NetworkPolicy blocks marks the allowed flow with the Admin tier and both Accept rules', async () => {
    const m = await get<ModelView>({ source: staticSource(withTiers(CNP_ACCEPT_WEB_DB), 'accept'), namespace: 'default' }, '/api/model');
    const f = m.flows.find((x) => x.id === 'a:default/web->default/db');
    assert.deepEqual(f?.tiers, [
      {
        port: 3306,
        protocol: 'TCP',
        tier: 'Admin',
        rules: [
          'ClusterNetworkPolicy/web-to-db-for-migrations (Admin tier, priority 5) egress[0] "web-to-db": Accept',
          'ClusterNetworkPolicy/web-to-db-for-migrations (Admin tier, priority 5) ingress[0] "db-from-web": Accept',
        ],
      },
    ]);
  });

  it('a check names, per side, the tier that decided, the rule and the Pass rules, in the words `podwall check` prints', async () => {
    const c = await get<CheckView>(tiersCtx(), '/api/check?from=default/web&to=default/db&port=3306');
    assert.equal(c.allowed, false);
    assert.equal(c.ingress.tier, 'Admin');
    assert.equal(c.ingress.decidedBy?.ref, ADMIN_RULE);
    assert.equal(c.ingress.decidedBy?.policy, 'AdminNetworkPolicy/web-never-reaches-db');
    assert.deepEqual(c.ingress.passedBy, []);
    assert.equal(c.egress.tier, 'NetworkPolicy');
    const dir = mkdtempSync(join(tmpdir(), 'podwall-ui-admin-'));
    try {
      writeFileSync(join(dir, 'admin.yaml'), `${ADMIN_DENY_WEB_DB}---\n${BASELINE_DEFAULT_DENY}`);
      const cli = await runCli(['check', '-f', 'examples/three-tier', '-f', dir, '--from', 'default/web', '--to', 'default/db', '--port', '3306']);
      assert.equal(cli.code, 1, cli.err);
      const printed = cli.out.split('\n').map((l) => l.trim());
      for (const line of [...c.egress.words!, ...c.ingress.words!]) assert.ok(printed.includes(line.trim()), `"${line}" is not in:\n${cli.out}`);
      assert.ok(c.ingress.words!.some((l) => l.includes(ADMIN_RULE)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an explanation lists the admin and baseline policies selecting the endpoint and each direction\'s admin and baseline rules', async () => {
    const x = await get<ExplainView>(tiersCtx(), '/api/explain/default/db');
    assert.deepEqual(x.adminSelectedBy, [
      { policy: 'AdminNetworkPolicy/web-never-reaches-db', ref: 'AdminNetworkPolicy/web-never-reaches-db (Admin tier, priority 10)', tier: 'Admin' },
      { policy: 'BaselineAdminNetworkPolicy/default', ref: 'BaselineAdminNetworkPolicy/default (Baseline tier)', tier: 'Baseline' },
    ]);
    assert.deepEqual(x.ingress.admin?.map((r) => `${r.ref} from ${r.peers}, on ${r.ports}`), [`${ADMIN_RULE} from pods with role=web in all namespaces, on all ports`]);
    assert.deepEqual(x.egress.baseline?.map((r) => r.ref), [BASELINE_RULE]);
    assert.deepEqual(x.ingress.baseline, []);
  });

  it('each admin and baseline policy is in the model in evaluation order with its tier, priority, subject in words, what it selects and its rules; its YAML loads back to the same policy', async () => {
    const c = tiersCtx();
    const m = await get<ModelView>(c, '/api/model');
    assert.deepEqual(
      m.adminPolicies?.map((p) => [p.id, p.tier, p.priority, p.order, p.subject, p.selects.join(' ')]),
      [
        ['AdminNetworkPolicy/web-never-reaches-db', 'Admin', 10, 0, 'pods with role=db in all namespaces', 'default/db'],
        ['BaselineAdminNetworkPolicy/default', 'Baseline', undefined, 0, 'all pods in all namespaces', 'default/api default/db default/web'],
      ],
    );
    assert.deepEqual(m.adminPolicies?.[0].ingress.map((r) => r.ref), [ADMIN_RULE]);
    const original = c.source.current().compiled.cluster.adminPolicies!;
    const reloaded = loadTexts(m.adminPolicies!.map((p, i) => ({ file: `${i}.yaml`, text: p.yaml }))).cluster!.adminPolicies!;
    const strip = (ps: typeof original) => ps.map(({ source: _source, ...p }) => p);
    assert.deepEqual(strip(reloaded), strip(original));
  });
});

describe('ui admin tiers: the editor and the findings', () => {
  it('the editor takes a ClusterNetworkPolicy: the preview adds it by kind/name and lists the flow its Accepts open', async () => {
    const { body } = await post<PreviewView>(plainCtx(), '/api/preview', { text: CNP_ACCEPT_WEB_DB });
    assert.ok(body.ok);
    assert.deepEqual(body.added, ['ClusterNetworkPolicy/web-to-db-for-migrations']);
    assert.deepEqual(body.replaced, []);
    assert.deepEqual(body.opened, [{ from: 'default/web', to: 'default/db', port: 3306, protocol: 'TCP' }]);
    assert.deepEqual(body.closed, []);
    assert.equal(body.model.flows.find((f) => f.id === 'a:default/web->default/db')?.tier, 'Admin');
    assert.deepEqual(body.model.adminPolicies?.map((p) => p.id), ['ClusterNetworkPolicy/web-to-db-for-migrations']);
  });

  it('an admin policy of the same kind and name replaces the loaded one (cluster-scoped: no namespace), and the preview lists what that closes and opens', async () => {
    // The AdminNetworkPolicy's Deny becomes a Pass: NetworkPolicy decides web -> db again (still blocked: no flow opens).
    const { body } = await post<PreviewView>(tiersCtx(), '/api/preview', { text: ADMIN_DENY_WEB_DB.replace('action: Deny', 'action: Pass') });
    assert.ok(body.ok);
    assert.deepEqual(body.replaced, ['AdminNetworkPolicy/web-never-reaches-db']);
    assert.deepEqual(body.added, []);
    assert.deepEqual(body.model.denied.find((f) => f.id === 'd:default/web->default/db')?.tier, undefined);
    // Replacing the baseline by one that denies nothing reopens db -> web:80.
    const banp = await post<PreviewView>(tiersCtx(), '/api/preview', { text: BASELINE_DEFAULT_DENY.replace('action: Deny', 'action: Allow') });
    assert.ok(banp.body.ok);
    assert.deepEqual(banp.body.replaced, ['BaselineAdminNetworkPolicy/default']);
    assert.deepEqual(banp.body.opened, [{ from: 'default/db', to: 'default/web', port: 80, protocol: 'TCP' }]);
  });

  it('an invalid ClusterNetworkPolicy comes back with its line and field path as the CLI validates it; an unknown field says what was meant', async () => {
    const high = await post<PreviewView>(plainCtx(), '/api/preview', { text: CNP_ACCEPT_WEB_DB.replace('priority: 5', 'priority: 1001') });
    assert.ok(!high.body.ok);
    assert.deepEqual(high.body.diagnostics.map((d) => [d.line, d.field]), [[7, 'spec.priority']]);
    assert.match(high.body.diagnostics[0].message, /less than or equal to 1000/);
    const typo = await post<PreviewView>(plainCtx(), '/api/preview', { text: CNP_ACCEPT_WEB_DB.replace('destinationPort:\n          number: 3306\n  egress', 'destinationPrt:\n          number: 3306\n  egress') });
    assert.ok(!typo.body.ok);
    const unknown = typo.body.diagnostics.find((d) => d.field === 'spec.ingress[0].protocols[0].tcp.destinationPrt');
    assert.equal(unknown?.line, 23, 'at the line of the key');
    assert.match(unknown?.message ?? '', /did you mean "destinationPort"\?/);
  });

  it('the export writes admin policies in their own API version after the NetworkPolicies, and they load back', async () => {
    const y = await post<string>(tiersCtx(), '/api/export/policies', { text: CNP_ACCEPT_WEB_DB });
    const back = loadTexts([{ file: 'export.yaml', text: y.body }]);
    assert.deepEqual(back.diagnostics.filter((d) => d.severity === 'error'), []);
    assert.deepEqual(back.cluster?.adminPolicies?.map((p) => `${p.apiVersion} ${p.kind}/${p.name}`), [
      'policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy/web-never-reaches-db',
      'policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicy/default',
      'policy.networking.k8s.io/v1alpha2 ClusterNetworkPolicy/web-to-db-for-migrations',
    ]);
    assert.equal(back.cluster?.policies.length, 3);
  });

  it('a finding about an admin policy names it by kind/name, so a click focuses what it selects', async () => {
    const nowhere = CNP_ACCEPT_WEB_DB.replace('kubernetes.io/metadata.name: default', 'kubernetes.io/metadata.name: nowhere');
    const { body } = await post<LintView>(plainCtx(), '/api/lint', { text: nowhere });
    const f = body.findings.find((x) => x.id === 'PW-ADMIN-SUBJECT-SELECTS-NOTHING');
    assert.equal(f?.object, 'ClusterNetworkPolicy web-to-db-for-migrations');
    assert.deepEqual(f?.policies, ['ClusterNetworkPolicy/web-to-db-for-migrations']);
    assert.equal(f?.path, 'spec.subject');
  });
});

describe('ui admin tiers: the graph model', () => {
  const base = { namespace: '', port: '', protocol: '', showDenied: true, grouping: 'none' as const, expanded: new Set<string>(), opened: [], closed: [], probeDiffers: new Set<string>() };

  it('an arrow a tier decided names the tier after its ports and keeps the rules; one band per admin policy over the nodes standing for what it selects', async () => {
    const m = await get<ModelView>(tiersCtx(), '/api/model');
    const gm = graphModel(m, base);
    const webDb = gm.arrows.find((a) => a.id === 'd:default/web->default/db');
    assert.equal(webDb?.label, '3306 · Admin');
    assert.deepEqual(webDb?.tierRules, [ADMIN_RULE]);
    assert.equal(gm.arrows.find((a) => a.id === 'd:default/db->default/web')?.label, '80 · Baseline');
    assert.equal(gm.arrows.find((a) => a.id === 'a:default/web->default/api')?.label, '5000');
    assert.deepEqual(gm.bands.map((b) => [b.id, b.label, b.members.join(' ')]), [
      ['b:AdminNetworkPolicy/web-never-reaches-db', 'AdminNetworkPolicy/web-never-reaches-db · Admin, priority 10 · 1 pod', 'default/db'],
      ['b:BaselineAdminNetworkPolicy/default', 'BaselineAdminNetworkPolicy/default · Baseline · 3 pods', 'default/api default/db default/web'],
    ]);
    // Grouped by namespace, the band stands over the group.
    assert.deepEqual(graphModel(m, { ...base, grouping: 'namespace' }).bands.map((b) => b.members), [['g:ns:default'], ['g:ns:default']]);
  });

  it('with no admin policies the graph has no band and no arrow names a tier', async () => {
    const gm = graphModel(await get<ModelView>(plainCtx(), '/api/model'), base);
    assert.deepEqual(gm.bands, []);
    assert.ok(gm.arrows.every((a) => a.tier === undefined && !a.label.includes('·')));
  });
});

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install chromium): the UI is tested in Debian's Chromium only`;
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

/** The bands as drawn, with what they must not overlap, in model and rendered coordinates (runs in the page). */
interface BandGeometry {
  bands: { id: string; tier: string; label: string; x1: number; x2: number; y1: number; y2: number; members: string[]; selected: boolean }[];
  /** Bodies and labels of nodes and arrow labels: [id, x1, y1, x2, y2]. */
  drawn: [string, number, number, number, number][];
  members: Record<string, number>;
  outOfView: string[];
}

function bandGeometry(): BandGeometry {
  type Box = { x1: number; y1: number; x2: number; y2: number };
  interface El {
    id(): string;
    data(k: string): unknown;
    selected(): boolean;
    position(k: string): number;
    boundingBox(o: object): Box;
    renderedBoundingBox(o: object): Box;
  }
  type Coll = { map<T>(f: (e: El) => T): T[] };
  const cy = (globalThis as unknown as { podwall: { cy: { width(): number; nodes(s: string): Coll } } }).podwall.cy;
  const doc = (globalThis as unknown as { document: { getElementById(id: string): { getBoundingClientRect(): { top: number } } } }).document;
  const visibleBottom = doc.getElementById('legend').getBoundingClientRect().top - doc.getElementById('cy').getBoundingClientRect().top;
  const bands = cy.nodes('.band').map((b) => {
    const box = b.boundingBox({ includeLabels: true, includeOverlays: false });
    return { id: b.id(), tier: String(b.data('tier')), label: String(b.data('label')), ...box, members: b.data('members') as string[], selected: b.selected() };
  });
  const drawn = cy.nodes('.vertex, .elabel').map((n): [string, number, number, number, number] => {
    const box = n.boundingBox({ includeLabels: true, includeOverlays: false });
    return [n.id(), box.x1, box.y1, box.x2, box.y2];
  });
  const members: Record<string, number> = {};
  cy.nodes('.vertex').map((n) => (members[n.id()] = n.position('x')));
  const outOfView = cy
    .nodes('.band, .band-tick')
    .map((n) => ({ id: n.id(), b: n.renderedBoundingBox({ includeLabels: true, includeOverlays: false }) }))
    .filter(({ b }) => b.x1 < 0 || b.y1 < 0 || b.x2 > cy.width() || b.y2 > visibleBottom)
    .map(({ id }) => id);
  return { bands, drawn, members, outOfView };
}

describe('ui admin tiers in Chromium', { skip }, () => {
  let context: BrowserContext;
  let profile: string;
  const servers: UiServer[] = [];

  before(async () => {
    buildWebClient();
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'podwall-ui-admin-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 800 } });
    // tsx (esbuild) names inner functions with a __name helper the page does not have.
    await context.addInitScript('globalThis.__name = (f) => f;');
  });

  after(async () => {
    await context?.close();
    for (const s of servers) await s.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function open(cluster: Cluster, title: string): Promise<Page> {
    const server = await startUiServer({ source: staticSource(cluster, title), port: 0 });
    servers.push(server);
    const page = await context.newPage();
    // The machine is shared: waits on conditions get room beyond playwright's 30 s.
    page.setDefaultTimeout(90_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready]', { timeout: 30_000 });
    assert.deepEqual(errors, []);
    return page;
  }

  const edge = (page: Page, id: string): Promise<{ label: string; classes: string[]; outline: number } | undefined> =>
    page.evaluate((edgeId) => {
      type E = { empty(): boolean; data(k: string): string; classes(): string[]; pstyle(k: string): { pfValue: number } };
      const e = (globalThis as unknown as { podwall: { cy: { getElementById(i: string): E } } }).podwall.cy.getElementById(edgeId);
      return e.empty() ? undefined : { label: e.data('label'), classes: e.classes(), outline: e.pstyle('line-outline-width').pfValue };
    }, id);
  const tap = (page: Page, id: string): Promise<void> =>
    page.evaluate((elId) => (globalThis as unknown as { podwall: { cy: { getElementById(i: string): { emit(e: string): void } } } }).podwall.cy.getElementById(elId).emit('tap'), id);

  it('a pair an admin Deny blocks is drawn cased and labelled with its tier, and its details read the tiers in order with the Admin rule that decided', async () => {
    const page = await open(withTiers(ADMIN_DENY_WEB_DB, BASELINE_DEFAULT_DENY), 'admin tiers');
    await page.locator('#f-denied').check();
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector('#status')?.textContent?.includes('denied'));
    const webDb = await edge(page, 'd:default/web->default/db');
    assert.equal(webDb?.label, '3306 · Admin');
    assert.ok(webDb?.classes.includes('tier-admin') && webDb.classes.includes('denied'), webDb?.classes.join(' '));
    assert.ok(webDb!.outline > 0, 'cased, not told by colour alone');
    assert.equal((await edge(page, 'd:default/db->default/web'))?.label, '80 · Baseline');
    assert.equal((await edge(page, 'a:default/web->default/api'))?.label, '5000', 'NetworkPolicy decided: no tier named');
    await tap(page, 'd:default/web->default/db');
    await page.locator('#details .check').waitFor();
    const ingress = page.locator('#details .side-verdict[data-tier="Admin"]');
    const text = await ingress.innerText();
    assert.match(text, /ingress to default\/db: AdminNetworkPolicy\/web-never-reaches-db \(Admin tier, priority 10\) ingress\[0\] "deny-from-web": Deny, so denied/);
    assert.equal(await ingress.locator('li[data-tier="Admin"]').innerText(), `Admin: ${ADMIN_RULE}`);
    assert.match(await ingress.locator('li[data-tier="NetworkPolicy"]').innerText(), /NetworkPolicy: not consulted/);
    assert.match(await ingress.locator('li[data-tier="Baseline"]').innerText(), /Baseline: not consulted/);
    assert.match(await page.locator('#details .side-verdict[data-tier="NetworkPolicy"] li[data-tier="NetworkPolicy"]').innerText(), /isolated by default\/web-policy/);
    // The legend explains the tiers' marks.
    assert.match(await page.locator('#legend').innerText(), /admin policy \(above\)[\s\S]*baseline \(below\)[\s\S]*decided by admin[\s\S]*by baseline/);
    // The picture unfocused (Escape), the arrow's details kept beside it.
    mkdirSync('docs', { recursive: true });
    await page.mouse.move(0, 0);
    await page.locator('#cy').focus();
    await page.keyboard.press('Escape');
    await page.locator('#f-search').focus();
    await page.locator('#f-search').blur();
    await page.waitForFunction(() => (globalThis as unknown as { podwall: { cy: { $(s: string): { length: number } } } }).podwall.cy.$('.faded').length === 0);
    await page.evaluate(() => ((globalThis as unknown as { document: { getElementById(i: string): { hidden: boolean } } }).document.getElementById('tooltip').hidden = true));
    await page.screenshot({ path: 'docs/ui-admin-tiers.png' });
    await page.close();
  });

  it('each admin policy is a band above the picture and each baseline policy one below it, across the nodes it selects, clear of every node and label and in view; clicking a band explains it and focuses what it selects', async () => {
    const page = await open(withTiers(ADMIN_DENY_WEB_DB, BASELINE_DEFAULT_DENY), 'admin tiers');
    const g = await page.evaluate(bandGeometry);
    assert.deepEqual(g.bands.map((b) => [b.id, b.tier, b.members.join(' ')]), [
      ['b:AdminNetworkPolicy/web-never-reaches-db', 'Admin', 'default/db'],
      ['b:BaselineAdminNetworkPolicy/default', 'Baseline', 'default/api default/db default/web'],
    ]);
    const top = Math.min(...g.drawn.map((d) => d[2]));
    const bottom = Math.max(...g.drawn.map((d) => d[4]));
    const [admin, baseline] = g.bands;
    assert.ok(admin.y2 <= top, `the admin band (to ${admin.y2}) is above the picture (from ${top})`);
    assert.ok(baseline.y1 >= bottom, `the baseline band (from ${baseline.y1}) is below the picture (to ${bottom})`);
    for (const b of g.bands) {
      for (const m of b.members) assert.ok(b.x1 <= g.members[m] && g.members[m] <= b.x2, `${b.id} spans ${m}`);
      for (const [id, x1, y1, x2, y2] of g.drawn) assert.ok(!(b.x1 < x2 && x1 < b.x2 && b.y1 < y2 && y1 < b.y2), `${b.id} overlaps ${id}`);
    }
    assert.deepEqual(g.outOfView, []);
    await tap(page, 'b:AdminNetworkPolicy/web-never-reaches-db');
    const details = page.locator('#details .admin-policy[data-policy="AdminNetworkPolicy/web-never-reaches-db"]');
    await details.waitFor();
    const text = await details.innerText();
    assert.match(text, /AdminNetworkPolicy\/web-never-reaches-db \(Admin tier, priority 10\): 1st in the Admin tier's order/);
    assert.match(text, /Subject: pods with role=db in all namespaces/);
    assert.match(text, /Selects 1 endpoint\s+default\/db/);
    assert.ok(text.includes(`${ADMIN_RULE} from pods with role=web in all namespaces, on all ports`), text);
    const focused = await page.evaluate(() => (globalThis as unknown as { podwall: { cy: { $(s: string): { map<T>(f: (e: { id(): string }) => T): T[] } } } }).podwall.cy.$('.focused').map((n) => n.id()));
    assert.deepEqual(focused.sort(), ['b:AdminNetworkPolicy/web-never-reaches-db', 'default/db']);
    // "Edit this policy" loads it into the editor, in its own API version.
    await details.getByText('Edit this policy').click();
    assert.match(await page.locator('#e-text').inputValue(), /apiVersion: policy.networking.k8s.io\/v1alpha1\nkind: AdminNetworkPolicy/);
    await page.close();
  });

  it('the editor accepts a ClusterNetworkPolicy and previews it: the arrow its Accepts open is drawn, labelled Admin, its band appears and the diff lists the flow', async () => {
    const page = await open(threeTier(), 'three-tier');
    assert.equal(await page.locator('#legend .legend-tier').count(), 0);
    await page.locator('#t-editor').click();
    await page.locator('#e-text').fill(CNP_ACCEPT_WEB_DB);
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector('#e-diff')?.textContent?.includes('Opens 1 flow'));
    assert.match(await page.locator('#e-status').innerText(), /adds ClusterNetworkPolicy\/web-to-db-for-migrations/);
    assert.match(await page.locator('#e-diff').innerText(), /\+ default\/web → default\/db on 3306/);
    await page.waitForFunction(() => (globalThis as unknown as { podwall: { cy: { getElementById(i: string): { length: number } } } }).podwall.cy.getElementById('b:ClusterNetworkPolicy/web-to-db-for-migrations').length > 0);
    const opened = await edge(page, 'a:default/web->default/db');
    assert.equal(opened?.label, '3306 · Admin');
    assert.ok(opened?.classes.includes('opened') && opened.classes.includes('tier-admin'), opened?.classes.join(' '));
    // An invalid one: the error at its line with the field path, and the picture back as loaded.
    await page.locator('#e-text').fill(CNP_ACCEPT_WEB_DB.replace('priority: 5', 'priority: 1001'));
    const error = page.locator('#e-errors li.error');
    await error.waitFor();
    assert.match(await error.innerText(), /line 7:13\s+spec\.priority: Invalid value: 1001/);
    await page.waitForFunction(() => (globalThis as unknown as { podwall: { cy: { nodes(s: string): { length: number } } } }).podwall.cy.nodes('.band').length === 0);
    await page.close();
  });

  it('the findings tab lists lint\'s admin findings (two Admin policies of one priority on the same traffic), and a click focuses the pods they select', async () => {
    const samePriority = CNP_ACCEPT_WEB_DB.replace('priority: 5', 'priority: 10');
    const page = await open(withTiers(ADMIN_DENY_WEB_DB, samePriority), 'same priority');
    await page.locator('#t-findings').click();
    const finding = page.locator('#findings li.finding', { hasText: 'PW-ADMIN-SAME-PRIORITY' });
    assert.match(await finding.innerText(), /ClusterNetworkPolicy web-to-db-for-migrations/);
    await finding.locator('button.finding-focus').click();
    await page.waitForFunction(() => ((globalThis as unknown as { podwall: { lastFocus?: string[] } }).podwall.lastFocus ?? []).includes('default/db'));
    const focus = await page.evaluate(() => (globalThis as unknown as { podwall: { lastFocus: string[] } }).podwall.lastFocus);
    assert.deepEqual([...focus].sort(), ['default/api', 'default/db', 'default/web'], 'the pods either policy selects');
    await page.close();
  });

  it('with no admin policies the page draws no band and its legend has no tier entry', async () => {
    const page = await open(threeTier(), 'three-tier');
    const counts = await page.evaluate(() => {
      const cy = (globalThis as unknown as { podwall: { cy: { nodes(s: string): { length: number }; edges(s: string): { length: number } } } }).podwall.cy;
      return [cy.nodes('.band, .band-tick').length, cy.edges('.tier-admin, .tier-baseline').length];
    });
    assert.deepEqual(counts, [0, 0]);
    assert.equal(await page.locator('#legend .legend-tier').count(), 0);
    await page.close();
  });
});
