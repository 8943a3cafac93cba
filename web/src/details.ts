// The side panel's explanations, all from the server: for an endpoint, the policies that select
// it, its isolation per direction, who may reach it and whom it may reach; for an arrow or a
// matrix cell, the verdict of each side with the policy and rule that allow it.
import { OUTSIDE, type CheckView, type DirectionView, type ExplainView, type FlowView, type RuleView, type SideView } from '../../src/web/types.js';
import { api } from './api.js';
import { h, portText, type Child } from './dom.js';
import { breakableId } from './text.js';

export interface DetailsActions {
  /** Opens a policy in the editor. */
  editPolicy(id: string): void;
  /** Selects another endpoint. */
  showEndpoint(id: string): void;
}

function policyLink(id: string, actions: DetailsActions): HTMLElement {
  return h('button', { class: 'link', title: `edit ${id}`, onclick: () => actions.editPolicy(id) }, breakableId(id));
}

function endpointLink(id: string, actions: DetailsActions): HTMLElement {
  return h('button', { class: 'link', onclick: () => actions.showEndpoint(id) }, breakableId(id));
}

function ruleItem(r: RuleView, actions: DetailsActions, verb: string): HTMLElement {
  return h('li', {}, policyLink(r.policy, actions), ` ${r.direction === 'Ingress' ? 'ingress' : 'egress'}[${r.index}] ${verb} ${r.peers}, on ${r.ports}`);
}

function directionSection(d: DirectionView, actions: DetailsActions): HTMLElement {
  const ingress = d.direction === 'Ingress';
  const word = ingress ? 'Ingress' : 'Egress';
  const head = d.isolated
    ? h('p', {}, h('span', { class: 'badge shield' }, 'isolated'), ' by ', ...d.isolatingPolicies.flatMap((p, i) => [i > 0 ? ', ' : '', policyLink(p, actions)]))
    : h('p', {}, h('span', { class: 'badge open' }, 'not isolated'), ingress ? ' any source may connect (as far as its egress allows)' : ' it may connect anywhere (as far as the destination allows)');
  const rules = d.isolated
    ? d.rules.length === 0
      ? h('p', { class: 'muted' }, `no ${word.toLowerCase()} rules: ${ingress ? 'nothing may connect to it' : 'it may connect nowhere'}`)
      : h('ul', { class: 'rules' }, d.rules.map((r) => ruleItem(r, actions, ingress ? 'allows from' : 'allows to')))
    : null;
  const reach = d.reach.length
    ? h('ul', { class: 'reach' }, d.reach.map((r) => h('li', {}, endpointLink(r.endpoint, actions), ` on ${r.ports.map(portText).join(', ')}`)))
    : h('p', { class: 'muted' }, 'no endpoint on its declared ports');
  const outside = d.outside.open ? 'yes' : d.outside.rules.length === 0 ? 'no' : d.outside.rules.map((r) => `${r.ref}: ${r.peers}, on ${r.ports}`).join('; ');
  return h(
    'section',
    { class: 'direction' },
    h('h3', {}, word),
    head,
    rules,
    h('h4', {}, ingress ? 'May be reached by' : 'May reach'),
    reach,
    h('p', {}, h('strong', {}, ingress ? 'From outside the cluster: ' : 'To outside the cluster: '), outside),
  );
}

export function renderExplain(x: ExplainView, actions: DetailsActions): HTMLElement {
  const e = x.endpoint;
  const labels = Object.entries(e.labels).map(([k, v]) => h('code', {}, breakableId(`${k}=${v}`)));
  return h(
    'div',
    { class: 'explain', 'data-endpoint': e.id },
    h('h2', {}, breakableId(e.id)),
    h('p', { class: 'muted' }, `${e.kind}${e.ips.length ? ` · ${e.ips.join(', ')}` : ''} · ports ${e.ports.map((p) => `${portText(p)}${p.name ? ` (${p.name})` : ''}`).join(', ') || 'none'}`),
    h('p', { class: 'labels' }, ...labels),
    x.hostNetwork ? h('p', { class: 'note' }, 'hostNetwork: NetworkPolicy does not apply to it') : null,
    h('h3', {}, 'Selected by'),
    x.selectedBy.length
      ? h('ul', { class: 'policies' }, x.selectedBy.map((s) => h('li', {}, policyLink(s.policy, actions), ` [${s.policyTypes.join(', ')}]`)))
      : h('p', { class: 'muted' }, 'no policy'),
    directionSection(x.ingress, actions),
    directionSection(x.egress, actions),
  );
}

function sideBlock(title: string, s: SideView, actions: DetailsActions): HTMLElement {
  let body: Child[];
  if (s.notSubject) body = [s.notSubject === 'hostNetwork' ? 'hostNetwork pod: not subject to NetworkPolicy' : 'outside the cluster: no policy applies'];
  else if (!s.isolated) body = ['not isolated: allowed'];
  else if (s.allowed) body = ['isolated by ', ...s.isolatingPolicies.flatMap((p, i) => [i ? ', ' : '', policyLink(p, actions)]), '; allowed by:'];
  else body = ['isolated by ', ...s.isolatingPolicies.flatMap((p, i) => [i ? ', ' : '', policyLink(p, actions)]), `; no ${s.direction.toLowerCase()} rule allows it`];
  return h(
    'div',
    { class: `side-verdict ${s.allowed ? 'ok' : 'bad'}` },
    h('h4', {}, breakableId(`${s.allowed ? '✓' : '✗'} ${title}`)),
    h('p', {}, ...body),
    s.allowedBy.length ? h('ul', { class: 'rules' }, s.allowedBy.map((r) => ruleItem(r, actions, s.direction === 'Ingress' ? 'allows from' : 'allows to'))) : null,
    ...s.notes.map((n) => h('p', { class: 'note' }, n)),
  );
}

export function renderCheck(c: CheckView, actions: DetailsActions): HTMLElement {
  return h(
    'div',
    { class: 'check' },
    h('h3', {}, breakableId(`${c.from} → ${c.to} on ${c.port}/${c.protocol}: `), h('span', { class: c.allowed ? 'ok' : 'bad' }, c.allowed ? 'ALLOWED' : 'DENIED')),
    sideBlock(`egress from ${c.from}`, c.egress, actions),
    sideBlock(`ingress to ${c.to}`, c.ingress, actions),
  );
}

/** An arrow: one check per port (or, for the outside, the rules that admit it). */
export async function renderFlow(f: FlowView, edit: string, actions: DetailsActions): Promise<HTMLElement> {
  const title = h('h2', {}, breakableId(`${f.from === OUTSIDE ? 'outside the cluster' : f.from} → ${f.to === OUTSIDE ? 'outside the cluster' : f.to}`));
  if (f.from === OUTSIDE || f.to === OUTSIDE) {
    return h(
      'div',
      { class: 'flow' },
      title,
      h('p', {}, `on ${f.portsText ?? f.ports.map(portText).join(', ')}`),
      h('ul', { class: 'rules' }, (f.via ?? []).map((v) => h('li', {}, v))),
    );
  }
  const checks = await Promise.all(f.ports.map((p) => api.check(f.from, f.to, p.port, p.protocol, edit)));
  return h('div', { class: 'flow' }, title, ...checks.map((c) => renderCheck(c, actions)));
}
