// The page end to end in Debian's Chromium, driven by playwright-core (never a downloaded
// browser): the three-tier example drawn with exactly its arrows, click-to-explain, the editor
// closing an arrow and showing a validation error with its field path (and a refused body), the
// matrix, a lab's probe beside the prediction (cells that could not be probed are no differences),
// an empty input, and a 200-pod cluster (grouped by namespace at first) with search. Also makes the README's screenshot
// (docs/ui-three-tier.png).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { ProbeReport } from '../src/lab/index.js';
import { loadManifests, loadTexts } from '../src/model/index.js';
import { labSource, startUiServer, staticSource, type ClusterSource, type UiServer } from '../src/web/index.js';
import { MAX_BODY_BYTES } from '../src/web/server.js';
import { twoHundredPods } from './ui-fixtures.js';
import { buildWebClient } from './support/web-build.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install chromium): the UI is tested in Debian's Chromium only`;

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

/** The page's globals used inside page.evaluate (this file is type-checked without the DOM lib). */
interface Doc {
  document: { querySelector(s: string): { textContent: string | null } | null; getElementById(id: string): { hidden: boolean } | null };
}

interface PageGraph {
  edges: string[];
  nodes: string[];
}

async function graph(page: Page): Promise<PageGraph> {
  return page.evaluate(() => {
    const cy = (globalThis as unknown as { podwall: { cy: { edges(): { map<T>(f: (e: { id(): string; data(k: string): string; classes(): string[] }) => T): T[] }; nodes(s: string): { map<T>(f: (e: { id(): string }) => T): T[] } } } }).podwall.cy;
    return {
      edges: cy.edges().map((e) => `${e.id()} [${e.data('label')}] ${e.classes().filter((c) => !['routed', 'loose'].includes(c)).join(' ')}`).sort(),
      nodes: cy.nodes('.endpoint').map((n) => n.id()).sort(),
    };
  });
}

async function clickNode(page: Page, id: string): Promise<void> {
  const pos = await page.evaluate((nodeId) => {
    const cy = (globalThis as unknown as { podwall: { cy: { getElementById(i: string): { renderedPosition(): { x: number; y: number } } } } }).podwall.cy;
    return cy.getElementById(nodeId).renderedPosition();
  }, id);
  const box = (await page.locator('#cy').boundingBox())!;
  await page.mouse.click(box.x + pos.x, box.y + pos.y);
}

async function edgeIds(page: Page): Promise<string[]> {
  return (await graph(page)).edges.map((e) => e.split(' ')[0]);
}

/** The matrix cell's marks: its text, and whether it is outlined as a difference or marked as not probed. */
async function cellMarks(page: Page, from: string, to: string): Promise<{ text: string; differs: boolean; inconclusive: boolean }> {
  const cell = page.locator(`button.cell[data-from="${from}"][data-to="${to}"]`);
  const classes = ((await cell.getAttribute('class')) ?? '').split(' ');
  return { text: (await cell.innerText()).trim(), differs: classes.includes('differs'), inconclusive: classes.includes('inconclusive') };
}

const PODS = ['default/api', 'default/db', 'default/web'];

/** The lab's probe of 3306: api -> db refused although predicted (a difference), web -> db undecided (nothing listening). */
const LAB_3306: ProbeReport = {
  port: 3306,
  protocol: 'TCP',
  pods: PODS,
  allowed: [[null, false, null], [null, null, null], [null, null, null]],
  predicted: [[false, true, false], [false, false, false], [false, false, false]],
  differences: [{ from: 'default/api', to: 'default/db' }],
  inconclusive: [{ from: 'default/web', to: 'default/db', reason: 'nothing listens on 10.244.0.3:3306' }],
  notProbed: ['a pod to itself'],
};

/** The lab's probe of 5000: exactly as predicted (web -> api open). */
const LAB_5000: ProbeReport = {
  port: 5000,
  protocol: 'TCP',
  pods: PODS,
  allowed: [[null, false, false], [false, null, false], [true, false, null]],
  predicted: [[false, false, false], [false, false, false], [true, false, false]],
  differences: [],
  inconclusive: [],
  notProbed: ['a pod to itself'],
};

describe('ui in Chromium', { skip }, () => {
  let context: BrowserContext;
  let profile: string;
  const servers: UiServer[] = [];
  const sources: ClusterSource[] = [];

  before(async () => {
    // The page as `npm run build` makes it, from the current sources.
    buildWebClient();
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'podwall-ui-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 800 } });
  });

  after(async () => {
    await context?.close();
    for (const s of servers) await s.close();
    for (const s of sources) s.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** A lab that holds `cluster` and answers every probe with `reports` (the page probes on load). */
  function fakeLab(cluster = loadManifests(['examples/three-tier']).cluster!, reports: ProbeReport[] = []): ClusterSource {
    const source = labSource({ cluster: () => cluster, probe: async () => reports, counters: async () => new Map(), close: () => undefined }, 'lab test', { intervalMs: 60_000, countersMs: 60_000 });
    sources.push(source);
    return source;
  }

  async function open(source: ClusterSource): Promise<Page> {
    const server = await startUiServer({ source, port: 0 });
    servers.push(server);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready]', { timeout: 30_000 });
    assert.deepEqual(errors, []);
    return page;
  }

  it('draws the three-tier example: three pods and exactly the arrows `podwall matrix` allows; clicking db reads db-policy', async () => {
    const page = await open(staticSource(loadManifests(['examples/three-tier']).cluster!, 'examples/three-tier'));
    const g = await graph(page);
    assert.deepEqual(g.nodes, ['default/api', 'default/db', 'default/web', 'outside']);
    assert.deepEqual(g.edges, [
      'a:default/api->default/db [3306] allowed',
      'a:default/db->default/web [80] allowed',
      'a:default/web->default/api [5000] allowed',
      'a:outside->default/web [80] allowed',
    ]);
    await clickNode(page, 'default/db');
    const details = page.locator('#details');
    await details.locator('.explain[data-endpoint="default/db"]').waitFor();
    const text = await details.innerText();
    assert.match(text, /Selected by\s+default\/db-policy \[Ingress\]/);
    assert.match(text, /isolated by default\/db-policy/);
    assert.match(text, /May be reached by\s+default\/api on 3306/);
    mkdirSync('docs', { recursive: true });
    await page.mouse.move(0, 0);
    await page.evaluate(() => ((globalThis as unknown as Doc).document.getElementById('tooltip')!.hidden = true));
    await page.screenshot({ path: 'docs/ui-three-tier.png' });
    await page.close();
  });

  it('clicking an arrow names the policy and rule on each side', async () => {
    const page = await open(staticSource(loadManifests(['examples/three-tier']).cluster!, 't'));
    await page.evaluate(() => {
      const cy = (globalThis as unknown as { podwall: { cy: { getElementById(i: string): { emit(e: string): void } } } }).podwall.cy;
      cy.getElementById('a:default/api->default/db').emit('tap');
    });
    await page.locator('#details .check').waitFor();
    const text = await page.locator('#details').innerText();
    assert.match(text, /egress from default\/api[\s\S]*default\/api-policy egress\[0\] allows to pods with role=db/);
    assert.match(text, /ingress to default\/db[\s\S]*default\/db-policy ingress\[0\] allows from pods with name=api-pod/);
    await page.close();
  });

  it('show denied adds the blocked flows, dashed; the matrix explains a cell', async () => {
    const page = await open(staticSource(loadManifests(['examples/three-tier']).cluster!, 't'));
    await page.locator('#f-denied').check();
    await page.waitForFunction(() => (globalThis as unknown as Doc).document.querySelector('#status')?.textContent?.includes('denied'));
    const denied = (await graph(page)).edges.filter((e) => e.endsWith(' denied'));
    assert.deepEqual(denied, ['d:default/api->default/web [80] denied', 'd:default/db->default/api [5000] denied', 'd:default/web->default/db [3306] denied']);
    const style = await page.evaluate(() => {
      const cy = (globalThis as unknown as { podwall: { cy: { getElementById(i: string): { style(k: string): string } } } }).podwall.cy;
      return [cy.getElementById('d:default/web->default/db').style('line-style'), cy.getElementById('a:default/web->default/api').style('line-style')];
    });
    assert.deepEqual(style, ['dashed', 'solid']);
    await page.locator('#f-port').selectOption('3306/TCP');
    await page.locator('#v-matrix').click();
    await page.locator('button.cell[data-from="default/web"][data-to="default/db"]').click();
    await page.locator('#details .check').waitFor();
    assert.match(await page.locator('#details').innerText(), /default\/web → default\/db on 3306\/TCP: DENIED/);
    await page.close();
  });

  it('an edit closes an arrow as you type, lists it in the diff, and a validation error shows inline with its field path', async () => {
    const page = await open(staticSource(loadManifests(['examples/three-tier']).cluster!, 't'));
    await page.locator('#t-editor').click();
    await page.locator('#e-policy').selectOption('default/web-policy');
    const area = page.locator('#e-text');
    const yaml = await area.inputValue();
    assert.match(yaml, /port: 5000/);
    await area.fill(yaml.replace('port: 5000', 'port: 5001'));
    await page.waitForFunction(() => (globalThis as unknown as Doc).document.querySelector('#e-diff')?.textContent?.includes('Closes 1 flow'));
    const ids = await edgeIds(page);
    assert.ok(!ids.includes('a:default/web->default/api'), ids.join(', '));
    assert.ok(ids.includes('c:default/web->default/api'));
    assert.match(await page.locator('#e-diff').innerText(), /− default\/web → default\/api on 5000/);

    await area.fill(yaml.replace('port: 5000', 'port: 70000'));
    const error = page.locator('#e-errors li.error');
    await error.waitFor();
    const text = await error.innerText();
    assert.match(text, /spec\.egress\[0\]\.ports\[0\]\.port/);
    assert.match(text, /line \d+:\d+/);
    assert.match(text, /Invalid value: 70000/);
    assert.equal(await area.getAttribute('aria-invalid'), 'true');
    await page.close();
  });

  it('given no endpoint (policies only), the page says so instead of showing nothing', async () => {
    const policies = loadManifests(['examples/three-tier/db-policy.yaml', 'examples/three-tier/web-policy.yaml']).cluster!;
    const page = await open(staticSource(policies, 'policies only'));
    const empty = page.locator('#empty');
    await empty.waitFor({ state: 'visible' });
    assert.match(await empty.innerText(), /Nothing to draw: the input declares no pods or workloads, only 2 policies/);
    await page.close();
    const full = await open(staticSource(loadManifests(['examples/three-tier']).cluster!, 'three-tier'));
    assert.equal(await full.locator('#empty').isVisible(), false);
    await full.close();
  });

  it('an edit over the body limit is refused, and the page says so under the editor', async () => {
    const page = await open(staticSource(loadManifests(['examples/three-tier']).cluster!, 't'));
    await page.locator('#t-editor').click();
    await page.locator('#e-text').fill(`# ${'x'.repeat(MAX_BODY_BYTES)}\n`);
    const error = page.locator('#e-errors li', { hasText: `over ${MAX_BODY_BYTES} bytes` });
    await error.waitFor();
    await page.close();
  });

  it('with a lab: a cell the lab could not probe is marked as such, never as a difference; a difference is outlined', async () => {
    const page = await open(fakeLab(undefined, [LAB_3306]));
    await page.locator('#t-lab').click();
    await page.locator('#l-unsure').waitFor();
    const panel = await page.locator('#lab').innerText();
    assert.match(panel, /1 difference between the kernel and the engine:\s+default\/api → default\/db on 3306\/TCP/);
    assert.match(panel, /1 cell could not be probed \(not a verdict either way\):\s+default\/web → default\/db on 3306\/TCP: nothing listens on 10\.244\.0\.3:3306/);
    await page.locator('#f-port').selectOption('3306/TCP');
    await page.locator('#v-matrix').click();
    const unsure = page.locator('button.cell[data-from="default/web"][data-to="default/db"]');
    await unsure.waitFor();
    assert.equal(await unsure.getAttribute('aria-label'), 'default/web to default/db: denied, could not be probed (nothing listens on 10.244.0.3:3306)');
    assert.deepEqual(await cellMarks(page, 'default/web', 'default/db'), { text: '· ?', differs: false, inconclusive: true });
    assert.deepEqual(await cellMarks(page, 'default/api', 'default/db'), { text: '✓ ✗', differs: true, inconclusive: false });
    await page.close();
  });

  it('with a lab: only the probe says what differs, so a cell an edit changes is not shown as the kernel differing', async () => {
    const page = await open(fakeLab(undefined, [LAB_5000]));
    await page.locator('#t-lab').click();
    await page.locator('#lab .probe p.ok').waitFor();
    assert.match(await page.locator('#lab').innerText(), /The kernel did exactly what the engine predicts on every cell probed/);
    await page.locator('#t-editor').click();
    await page.locator('#e-policy').selectOption('default/web-policy');
    const area = page.locator('#e-text');
    await area.fill((await area.inputValue()).replace('port: 5000', 'port: 5001'));
    await page.waitForFunction(() => (globalThis as unknown as Doc).document.querySelector('#e-diff')?.textContent?.includes('Closes 1 flow'));
    await page.locator('#f-port').selectOption('5000/TCP');
    await page.locator('#v-matrix').click();
    const cell = page.locator('button.cell.denied[data-from="default/web"][data-to="default/api"]');
    await cell.waitFor();
    assert.deepEqual(await cellMarks(page, 'default/web', 'default/api'), { text: '· ✓', differs: false, inconclusive: false });
    await page.close();
  });

  it('a lab with no pods yet says so instead of showing nothing', async () => {
    const page = await open(fakeLab(loadManifests(['examples/three-tier/db-policy.yaml']).cluster!));
    const empty = page.locator('#empty');
    await empty.waitFor({ state: 'visible' });
    assert.match(await empty.innerText(), /The lab holds no pods yet \(1 policy\)/);
    await page.close();
  });

  it('a 200-pod cluster is grouped by namespace at first (its labels would be too small to read), and search expands the group and finds a pod', async () => {
    const cluster = loadTexts([{ file: '200.yaml', text: twoHundredPods() }]).cluster!;
    const page = await open(staticSource(cluster, '200 pods'));
    const count = (selector: string): Promise<number> => page.evaluate((s) => (globalThis as unknown as { podwall: { cy: { nodes(s: string): { length: number } } } }).podwall.cy.nodes(s).length, selector);
    assert.equal(await count('.group'), 10);
    assert.equal(await count('.endpoint'), 1, 'only the outside is drawn as itself');
    await page.locator('#f-search').fill('team-07/db-17');
    await page.locator('#f-search').press('Enter');
    await page.locator('#details .explain[data-endpoint="team-07/db-17"]').waitFor();
    assert.match(await page.locator('#status').innerText(), /found team-07\/db-17/);
    const selected = await page.evaluate(() => (globalThis as unknown as { podwall: { cy: { $(s: string): { map<T>(f: (e: { id(): string }) => T): T[] } } } }).podwall.cy.$('node:selected').map((n) => n.id()));
    assert.deepEqual(selected, ['team-07/db-17']);
    assert.equal(await count('.group'), 9, 'the pod\'s namespace is expanded');
    assert.equal(await count('.endpoint'), 21);
    await page.close();
  });
});
