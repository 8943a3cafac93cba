// The graph at real-app size, in Debian's Chromium: for three-tier and each of the six wild apps at
// 1280x800, the first view is measured from the rendered geometry (label sizes, label/node overlaps,
// arrows through nodes), focus and arrow clicks are exercised, and docs/ui-<app>.png is kept (the
// drawing time is printed: `# <app>: drawn N ms after navigation`).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { loadManifests, loadTexts, type Cluster } from '../src/model/index.js';
import { startUiServer, staticSource, type UiServer } from '../src/web/index.js';
import { ANY_POD, foldAnyPod, graphModel, portsLabel } from '../web/src/graph-model.js';
import type { ModelView } from '../src/web/types.js';
import { buildWebClient } from './support/web-build.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install chromium): the UI is tested in Debian's Chromium only`;
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const WILD = '/work/shared/wild';
const APPS: [string, string][] = [
  ['three-tier', 'examples/three-tier'] as [string, string],
  ...['aks-regulated', 'argocd', 'calico-stars', 'eks-retail-store', 'online-boutique', 'sock-shop'].map((a): [string, string] => [a, join(WILD, a)]),
].filter(([, dir]) => existsSync(dir));

/**
 * An administrator's rules over sock-shop that leave its flows as they are, so the picture is the
 * same app with two bands: the front end never reaches the carts database (it does not anyway),
 * and sock-shop's pods never send to TEST-NET-1 (192.0.2.0/24, RFC 5737) by default.
 */
const SOCK_SHOP_TIERS = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: front-end-never-reaches-carts-db
spec:
  priority: 20
  subject:
    pods:
      namespaceSelector: {}
      podSelector:
        matchLabels:
          name: carts-db
  ingress:
  - name: deny-front-end
    action: Deny
    from:
    - pods:
        namespaceSelector: {}
        podSelector:
          matchLabels:
            name: front-end
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata:
  name: default
spec:
  subject:
    namespaces:
      matchLabels:
        kubernetes.io/metadata.name: sock-shop
  egress:
  - name: deny-test-net
    action: Deny
    to:
    - networks: [192.0.2.0/24]
`;

/** What the page measures of its own picture (in rendered pixels). */
interface Geometry {
  zoom: number;
  /** The smallest node label's font size on screen. */
  smallestLabelPx: number;
  nodes: number;
  arrows: number;
  /** "label x overlaps node y" for every label (node or arrow label) that overlaps a node body. */
  overlaps: string[];
  /** "arrow x crosses node y" for every arrow segment through a node that is not one of its ends. */
  crossings: string[];
  /** Arrow labels overlapping one another. */
  labelClashes: string[];
  /** Nodes (with their labels) not wholly in view: outside the picture or under its legend. */
  outOfView: string[];
}

/** Runs in the page: the geometry checks on cytoscape's bounding boxes and edge segment points. */
function measure(): Geometry {
  type Box = { x1: number; y1: number; x2: number; y2: number; w: number; h: number };
  type Pt = { x: number; y: number };
  interface El {
    id(): string;
    data(k: string): unknown;
    hasClass(c: string): boolean;
    boundingBox(o: object): Box;
    renderedBoundingBox(o: object): Box;
    pstyle(k: string): { pfValue: number; value: string };
    source(): El;
    target(): El;
    sourceEndpoint(): Pt;
    targetEndpoint(): Pt;
    segmentPoints(): Pt[] | undefined;
  }
  interface Coll {
    map<T>(f: (e: El) => T): T[];
    length: number;
  }
  const cy = (globalThis as unknown as { podwall: { cy: { zoom(): number; width(): number; nodes(s: string): Coll; edges(s?: string): Coll } } }).podwall.cy;
  type Rect = { top: number; bottom: number };
  const doc = (globalThis as unknown as { document: { getElementById(id: string): { getBoundingClientRect(): Rect } } }).document;
  const visibleBottom = doc.getElementById('legend').getBoundingClientRect().top - doc.getElementById('cy').getBoundingClientRect().top;
  const zoom = cy.zoom();
  const inset = (b: Box, d: number): Box => ({ x1: b.x1 + d, y1: b.y1 + d, x2: b.x2 - d, y2: b.y2 - d, w: b.w - 2 * d, h: b.h - 2 * d });
  const meets = (a: Box, b: Box): boolean => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
  const vertices = cy.nodes('.vertex').map((n) => ({ id: n.id(), body: n.boundingBox({ includeLabels: false, includeOverlays: false }), n }));
  const labels = [
    ...vertices.map((v) => ({ id: `label of ${v.id}`, own: v.id, box: v.n.boundingBox({ includeNodes: false, includeEdges: false, includeLabels: true, includeOverlays: false }) })),
    ...cy.nodes('.elabel').map((l) => ({ id: `label of ${String(l.data('edge'))}`, own: '', box: l.boundingBox({ includeLabels: false, includeOverlays: false }) })),
    // An admin or baseline policy's band is read like a label: on no node, clear of the arrows' labels.
    ...cy.nodes('.band').map((b) => ({ id: `band ${b.id()}`, own: '', box: b.boundingBox({ includeLabels: true, includeOverlays: false }) })),
  ];
  const overlaps: string[] = [];
  for (const l of labels) for (const v of vertices) if (v.id !== l.own && meets(inset(l.box, 1), v.body)) overlaps.push(`${l.id} overlaps node ${v.id}`);
  const labelClashes: string[] = [];
  const edgeLabels = labels.filter((l) => l.own === '');
  edgeLabels.forEach((a, i) => edgeLabels.slice(i + 1).forEach((b) => meets(inset(a.box, 1), inset(b.box, 1)) && labelClashes.push(`${a.id} overlaps ${b.id}`)));
  // A segment crosses a box when it enters the box's interior (Liang-Barsky clipping).
  const crosses = (p: Pt, q: Pt, b: Box): boolean => {
    let t0 = 0;
    let t1 = 1;
    const dx = q.x - p.x;
    const dy = q.y - p.y;
    for (const [pp, qq] of [[-dx, p.x - b.x1], [dx, b.x2 - p.x], [-dy, p.y - b.y1], [dy, b.y2 - p.y]]) {
      if (pp === 0) {
        if (qq < 0) return false;
      } else {
        const r = qq / pp;
        if (pp < 0) t0 = Math.max(t0, r);
        else t1 = Math.min(t1, r);
        if (t0 > t1) return false;
      }
    }
    return t1 - t0 > 1e-6;
  };
  const crossings: string[] = [];
  for (const e of cy.edges().map((x) => x)) {
    const pts = [e.sourceEndpoint(), ...(e.pstyle('curve-style').value === 'segments' ? (e.segmentPoints() ?? []) : []), e.targetEndpoint()];
    for (const v of vertices) {
      if (v.id === e.source().id() || v.id === e.target().id()) continue;
      const box = inset(v.body, 1);
      for (let i = 0; i + 1 < pts.length; i++) if (crosses(pts[i], pts[i + 1], box)) crossings.push(`arrow ${e.id()} crosses node ${v.id}`);
    }
  }
  const outOfView = [...vertices, ...cy.nodes('.band').map((n) => ({ id: n.id(), n }))]
    .map((v) => ({ id: v.id, b: v.n.renderedBoundingBox({ includeLabels: true, includeOverlays: false }) }))
    .filter(({ b }) => b.x1 < 0 || b.y1 < 0 || b.x2 > cy.width() || b.y2 > visibleBottom)
    .map(({ id }) => `node ${id} is not wholly in view`);
  return {
    outOfView,
    zoom,
    smallestLabelPx: Math.min(...vertices.map((v) => v.n.pstyle('font-size').pfValue * zoom)),
    nodes: vertices.length,
    arrows: cy.edges().length,
    overlaps,
    crossings: [...new Set(crossings)],
    labelClashes,
  };
}

describe('the graph at real-app size, in Chromium', { skip }, () => {
  let context: BrowserContext;
  let profile: string;
  const servers: UiServer[] = [];

  before(async () => {
    buildWebClient();
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'podwall-graph-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 800 } });
    // tsx (esbuild) names inner functions with a __name helper the page does not have.
    await context.addInitScript('globalThis.__name = (f) => f;');
  });

  after(async () => {
    await context?.close();
    for (const s of servers) await s.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function open(dir: string | Cluster, title: string): Promise<{ page: Page; readyMs: number; drawnMs: number }> {
    const cluster = typeof dir === 'string' ? loadManifests([dir]).cluster! : dir;
    const server = await startUiServer({ source: staticSource(cluster, title), port: 0 });
    servers.push(server);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const t0 = Date.now();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready]', { timeout: 30_000 });
    const readyMs = Date.now() - t0;
    const drawnMs = Number(await page.evaluate(() => (globalThis as unknown as { document: { body: { dataset: Record<string, string> } } }).document.body.dataset.drawnMs));
    assert.deepEqual(errors, []);
    return { page, readyMs, drawnMs };
  }

  const state = (page: Page): Promise<{ faded: number; focused: string[]; selected: string[] }> =>
    page.evaluate(() => {
      type C = { length: number; map<T>(f: (e: { id(): string }) => T): T[] };
      const cy = (globalThis as unknown as { podwall: { cy: { $(s: string): C } } }).podwall.cy;
      return { faded: cy.$('.faded').length, focused: cy.$('.focused').map((n) => n.id()), selected: cy.$(':selected').map((n) => n.id()) };
    });

  for (const [app, dir] of APPS) {
    it(`${app}: at 1280x800 the first view has node labels of 10 px or more, no label on a node, no arrow through a node; focus dims the rest, an arrow click selects that arrow, Esc clears`, async () => {
      const { page, readyMs, drawnMs } = await open(dir, app);
      const g = await page.evaluate(measure);
      console.log(`# ${app}: drawn ${drawnMs.toFixed(0)} ms after navigation (ready ${readyMs} ms), ${g.nodes} nodes, ${g.arrows} arrows, zoom ${g.zoom.toFixed(2)}, smallest label ${g.smallestLabelPx.toFixed(1)} px`);
      mkdirSync('docs', { recursive: true });
      await page.mouse.move(0, 0);
      // three-tier's picture (db selected, explained) is made by ui-browser.test.ts.
      if (app !== 'three-tier') await page.screenshot({ path: `docs/ui-${app}.png` });
      assert.ok(drawnMs < 10_000, `drawn after ${drawnMs} ms`);
      assert.ok(g.nodes > 0 && g.arrows > 0, 'the picture has nodes and arrows to measure');
      assert.ok(g.smallestLabelPx >= 10, `labels ${g.smallestLabelPx} px high at zoom ${g.zoom}`);
      assert.deepEqual(g.overlaps, []);
      assert.deepEqual(g.crossings, []);
      assert.deepEqual(g.labelClashes, []);
      assert.deepEqual(g.outOfView, []);

      // Focus: click the node with the most arrows; its arrows stay, the rest dims; Esc clears.
      const box = (await page.locator('#cy').boundingBox())!;
      const target = await page.evaluate(() => {
        type N = { id(): string; degree(b: boolean): number; renderedPosition(): { x: number; y: number }; hasClass(c: string): boolean };
        const cy = (globalThis as unknown as { podwall: { cy: { nodes(s: string): { toArray(): N[] } } } }).podwall.cy;
        const n = cy.nodes('.vertex').toArray().sort((a, b) => b.degree(false) - a.degree(false))[0];
        return { id: n.id(), ...n.renderedPosition() };
      });
      await page.mouse.click(box.x + target.x, box.y + target.y);
      await page.waitForFunction((id) => (globalThis as unknown as { podwall: { cy: { $(s: string): { map<T>(f: (e: { id(): string }) => T): T[] } } } }).podwall.cy.$('.focused').map((n) => n.id()).includes(id), target.id);
      const focused = await state(page);
      assert.deepEqual(focused.focused, [target.id]);
      assert.ok(focused.faded > 0 || g.nodes <= 2, 'the other elements are dimmed');
      await page.keyboard.press('Escape');
      assert.deepEqual(await state(page), { faded: 0, focused: [], selected: [] });

      // An arrow click at the middle of its longest segment selects that very arrow.
      const arrow = await page.evaluate(() => {
        type P = { x: number; y: number };
        type E = { id(): string; renderedSourceEndpoint(): P; renderedTargetEndpoint(): P; renderedSegmentPoints(): P[] | undefined; pstyle(k: string): { value: string } };
        const cy = (globalThis as unknown as { podwall: { cy: { edges(s: string): { toArray(): E[] } } } }).podwall.cy;
        let best = { id: '', x: 0, y: 0, len: -1 };
        for (const e of cy.edges('.routed').toArray()) {
          const pts = [e.renderedSourceEndpoint(), ...(e.pstyle('curve-style').value === 'segments' ? (e.renderedSegmentPoints() ?? []) : []), e.renderedTargetEndpoint()];
          for (let i = 0; i + 1 < pts.length; i++) {
            const len = Math.hypot(pts[i + 1].x - pts[i].x, pts[i + 1].y - pts[i].y);
            if (len > best.len) best = { id: e.id(), x: (pts[i].x + pts[i + 1].x) / 2, y: (pts[i].y + pts[i + 1].y) / 2, len };
          }
        }
        return best;
      });
      await page.mouse.click(box.x + arrow.x, box.y + arrow.y);
      await page.waitForFunction(() => (globalThis as unknown as { podwall: { cy: { $(s: string): { length: number } } } }).podwall.cy.$('edge:selected').length > 0);
      assert.deepEqual((await state(page)).selected, [arrow.id]);
      await page.keyboard.press('Escape');
      assert.deepEqual((await state(page)).selected, []);
      await page.close();
    });
  }

  it('sock-shop with an admin and a baseline policy: the same nodes as without them, labels of 10 px or more, no label on a node, no arrow through a node, and the bands lie on no node or label, in view', { skip: existsSync(join(WILD, 'sock-shop')) ? false : 'no sock-shop' }, async () => {
    const app = loadManifests([join(WILD, 'sock-shop')]).cluster!;
    const plain = await open(app, 'sock-shop');
    const without = await plain.page.evaluate(measure);
    await plain.page.close();
    const admin = loadTexts([{ file: 'admin.yaml', text: SOCK_SHOP_TIERS }]);
    assert.deepEqual(admin.diagnostics.filter((d) => d.severity === 'error'), []);
    const { page, drawnMs } = await open({ ...app, adminPolicies: admin.cluster!.adminPolicies }, 'sock-shop');
    const g = await page.evaluate(measure);
    console.log(`# sock-shop with admin tiers: drawn ${drawnMs.toFixed(0)} ms after navigation, ${g.nodes} nodes, ${g.arrows} arrows, zoom ${g.zoom.toFixed(2)}, smallest label ${g.smallestLabelPx.toFixed(1)} px`);
    const bands = await page.evaluate(() => (globalThis as unknown as { podwall: { cy: { nodes(s: string): { map<T>(f: (e: { id(): string }) => T): T[] } } } }).podwall.cy.nodes('.band').map((b) => b.id()));
    assert.deepEqual(bands, ['b:AdminNetworkPolicy/front-end-never-reaches-carts-db', 'b:BaselineAdminNetworkPolicy/default']);
    assert.equal(g.nodes, without.nodes, 'the bands do not make the picture group itself');
    assert.equal(g.arrows, without.arrows);
    assert.ok(g.smallestLabelPx >= 10, `labels ${g.smallestLabelPx} px high at zoom ${g.zoom}`);
    const bandPx = await page.evaluate(() => Math.min(...(globalThis as unknown as { podwall: { cy: { zoom(): number; nodes(s: string): { map<T>(f: (e: { pstyle(k: string): { pfValue: number } }) => T): T[] } } } }).podwall.cy.nodes('.band').map((b) => b.pstyle('font-size').pfValue)));
    assert.ok(bandPx * g.zoom >= 10, `band labels ${bandPx * g.zoom} px high`);
    assert.deepEqual(g.overlaps, []);
    assert.deepEqual(g.crossings, []);
    assert.deepEqual(g.labelClashes, []);
    assert.deepEqual(g.outOfView, []);
    await page.screenshot({ path: 'docs/ui-sock-shop-admin-tiers.png' });
    await page.close();
  });

  it('arrow keys move between nodes toward the key, Enter explains the focused node, hovering a node lists its arrows, and the SVG export holds the arrows\' labels', async () => {
    const { page } = await open('examples/three-tier', 'three-tier');
    await page.locator('#cy').focus();
    const focused = async (): Promise<string[]> => (await state(page)).focused;
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await focused(), ['outside']);
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await focused(), ['default/web']);
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await focused(), ['default/api']);
    await page.keyboard.press('ArrowLeft');
    assert.deepEqual(await focused(), ['default/web']);
    await page.keyboard.press('Enter');
    await page.locator('#details .explain[data-endpoint="default/web"]').waitFor();
    // Hovering a node lists its arrows in and out.
    const box = (await page.locator('#cy').boundingBox())!;
    const web = await page.evaluate(() => (globalThis as unknown as { podwall: { cy: { getElementById(i: string): { renderedPosition(): { x: number; y: number } } } } }).podwall.cy.getElementById('default/web').renderedPosition());
    await page.mouse.move(box.x + web.x, box.y + web.y);
    await page.locator('#tooltip').waitFor({ state: 'visible' });
    const tip = await page.locator('#tooltip').innerText();
    assert.match(tip, /← outside the cluster: 80/);
    assert.match(tip, /→ default\/api: 5000/);
    // The SVG export draws the routed arrows and their labels.
    const svg = await page.evaluate(() => (globalThis as unknown as { podwall: { cy: { svg(o: object): string } } }).podwall.cy.svg({ full: true }));
    assert.match(svg, /<svg[\s\S]*5000[\s\S]*3306/);
    await page.close();
  });

  it('show denied on a big app draws no denied arrow until a node is focused, then only that node\'s', async () => {
    const { page } = await open(join(WILD, 'sock-shop'), 'sock-shop');
    const denied = (): Promise<string[]> =>
      page.evaluate(() => (globalThis as unknown as { podwall: { cy: { edges(s: string): { map<T>(f: (e: { id(): string }) => T): T[] } } } }).podwall.cy.edges('.denied').map((e) => e.id()));
    await page.locator('#f-denied').check();
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector('#status')?.textContent?.includes('click a pod to see its own'));
    assert.deepEqual(await denied(), []);
    await page.evaluate(() => (globalThis as unknown as { podwall: { cy: { getElementById(i: string): { emit(e: string): void } } } }).podwall.cy.getElementById('sock-shop/deployment/carts').emit('tap'));
    await page.waitForFunction(() => (globalThis as unknown as { podwall: { cy: { edges(s: string): { length: number } } } }).podwall.cy.edges('.denied').length > 0);
    const ids = await denied();
    assert.ok(ids.every((id) => id.includes('sock-shop/deployment/carts')), ids.join(', '));
    assert.deepEqual((await state(page)).focused, ['sock-shop/deployment/carts']);
    await page.close();
  });

  it('grouping by namespace draws one node per namespace with a count; clicking a group offers to expand it', async () => {
    const { page } = await open(join(WILD, 'eks-retail-store'), 'eks');
    await page.locator('#f-group').selectOption('namespace');
    await page.waitForFunction(() => (globalThis as unknown as { podwall: { cy: { nodes(s: string): { length: number } } } }).podwall.cy.nodes('.group').length > 0);
    const groups = await page.evaluate(() => (globalThis as unknown as { podwall: { cy: { nodes(s: string): { map<T>(f: (e: { data(k: string): string }) => T): T[] } } } }).podwall.cy.nodes('.group').map((n) => n.data('label')).sort());
    assert.deepEqual(groups, ['carts\n2 pods', 'catalog\n2 pods, 1 flow inside', 'checkout\n2 pods', 'orders\n2 pods']);
    await page.evaluate(() => (globalThis as unknown as { podwall: { cy: { getElementById(i: string): { emit(e: string): void } } } }).podwall.cy.getElementById('g:ns:carts').emit('tap'));
    await page.locator('#expand-group').click();
    await page.waitForFunction(() => (globalThis as unknown as { podwall: { cy: { getElementById(i: string): { length: number } } } }).podwall.cy.getElementById('carts/deployment/carts-dynamodb').length > 0);
    await page.close();
  });
});

describe('the graph model (aggregation)', () => {
  const model = (flows: ModelView['flows'], pods: string[]): ModelView => ({
    source: 'files',
    title: 't',
    version: 1,
    namespaces: [{ name: 'n', labels: {}, declared: true }],
    endpoints: pods.map((p) => ({ id: `n/${p}`, kind: 'Pod', namespace: 'n', name: p, labels: { app: p }, ports: [], ips: [], hostNetwork: false, isolation: { ingress: false, egress: false }, selectedBy: [] })),
    policies: [],
    ports: [],
    flows,
    denied: [],
    deniedOmitted: 0,
  });
  const flow = (from: string, to: string, ...ports: number[]) => ({ id: `a:n/${from}->n/${to}`, from: `n/${from}`, to: `n/${to}`, allowed: true, ports: ports.map((port) => ({ port, protocol: 'TCP' as const })) });
  const base = { namespace: '', port: '', protocol: '', showDenied: false, grouping: 'none' as const, expanded: new Set<string>(), opened: [], closed: [], probeDiffers: new Set<string>() };

  const folded = (m: ModelView): string[] => foldAnyPod(m).map((f) => `${f.from}->${f.to} ${f.ports.map((p) => p.port).join(',')}`);

  it('a port every other pod may reach is one arrow from "any pod", and only the other ports stay on the pair arrows', () => {
    const flows = [flow('a', 'd', 80, 81), flow('b', 'd', 80), flow('c', 'd', 80), flow('a', 'b', 5000)];
    assert.deepEqual(folded(model(flows, ['a', 'b', 'c', 'd'])), ['n/a->n/d 81', 'n/a->n/b 5000', `${ANY_POD}->n/d 80`]);
  });

  it('a port every pod not isolated for egress may reach is folded for those pods; a pod isolated for egress keeps its own arrow', () => {
    const m = model([flow('a', 'e', 80), flow('b', 'e', 80), flow('c', 'e', 80), flow('d', 'e', 80)], ['a', 'b', 'c', 'd', 'e', 'f']);
    const isolated = { ...m, endpoints: m.endpoints.map((e) => (e.name === 'd' || e.name === 'f' ? { ...e, isolation: { ingress: false, egress: true } } : e)) };
    assert.deepEqual(folded(isolated), ['n/d->n/e 80', `${ANY_POD}->n/e 80`]);
  });

  it('past three ports an arrow reads "N ports", the full list kept for hover and click', () => {
    const ports = [80, 443, 8080, 9090].map((port) => ({ port, protocol: 'TCP' as const }));
    assert.deepEqual(portsLabel(ports), { short: '4 ports', full: '80, 443, 8080, 9090' });
    assert.deepEqual(portsLabel(ports.slice(0, 3)), { short: '80, 443, 8080', full: '80, 443, 8080' });
  });

  it('grouping by app draws one node per app and one arrow per ordered pair of groups, with the ports of all its flows', () => {
    const m = model([flow('web-1', 'api-1', 5000), flow('web-2', 'api-1', 5000), flow('web-1', 'api-2', 5001)], ['web-1', 'web-2', 'api-1', 'api-2']);
    const withApps = { ...m, endpoints: m.endpoints.map((e) => ({ ...e, labels: { app: e.name.split('-')[0] } })) };
    const gm = graphModel(withApps, { ...base, grouping: 'app' });
    assert.deepEqual(gm.nodes.map((n) => `${n.id} ${n.members.length}`), ['g:app:n/web 2', 'g:app:n/api 2']);
    assert.deepEqual(gm.arrows.map((a) => `${a.id} [${a.label}] ${a.flows.length}`), ['a:g:app:n/web->g:app:n/api [5000, 5001] 3']);
  });
});
