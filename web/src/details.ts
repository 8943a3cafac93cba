// The side panel's explanations, all from the server: for an endpoint, the policies that select
// it, its isolation per direction, who may reach it and whom it may reach; for an arrow or a
// matrix cell, the verdict of each side with the policy and rule that allow it, tier by tier when
// admin policies exist; for an admin or baseline policy (a band), its tier, subject and rules.
import { OUTSIDE, type AdminPolicyView, type AdminRuleView, type CheckView, type DirectionView, type ExplainView, type FlowView, type RuleView, type SideView } from '../../src/web/types.js';
import { api } from './api.js';
import { h, portText, type Child } from './dom.js';
import { breakableId } from './text.js';

export interface DetailsActions {
  /** Opens a policy in the editor. */
  editPolicy(id: string): void;
  /** Selects another endpoint. */
  showEndpoint(id: string): void;
  /** Explains an admin or baseline policy (its band). */
  showAdminPolicy(id: string): void;
}

function adminPolicyLink(id: string, text: string, actions: DetailsActions): HTMLElement {
  return h('button', { class: 'link', title: `explain ${id}`, onclick: () => actions.showAdminPolicy(id) }, breakableId(text));
}

/** An admin or baseline rule: its reference in the CLI's words (the policy part a link), then whom and which ports it matches. */
function adminRuleItem(r: AdminRuleView, actions: DetailsActions): HTMLElement {
  return h('li', { class: `admin-rule action-${r.action.toLowerCase()}` }, adminPolicyLink(r.policy, r.ref, actions), ` ${r.direction === 'Ingress' ? 'from' : 'to'} ${r.peers}, on ${r.ports}`);
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
  const tier = (rules: readonly AdminRuleView[] | undefined, title: string): HTMLElement | null =>
    rules && rules.length > 0 ? h('div', { class: 'tier-rules' }, h('h4', {}, title), h('ul', { class: 'rules' }, rules.map((r) => adminRuleItem(r, actions)))) : null;
  return h(
    'section',
    { class: 'direction' },
    h('h3', {}, word),
    tier(d.admin, 'Admin tier (before NetworkPolicy; the first rule that matches decides)'),
    head,
    rules,
    tier(d.baseline, `Baseline tier (${d.isolated ? 'not consulted: NetworkPolicy isolates it' : 'decides, as no NetworkPolicy isolates it'})`),
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
    ...(x.adminSelectedBy
      ? [
          h('h3', {}, 'Admin and baseline policies selecting it'),
          x.adminSelectedBy.length
            ? h('ul', { class: 'policies admin' }, x.adminSelectedBy.map((s) => h('li', {}, adminPolicyLink(s.policy, s.ref, actions))))
            : h('p', { class: 'muted' }, 'none'),
        ]
      : []),
    directionSection(x.ingress, actions),
    directionSection(x.egress, actions),
  );
}

/** The NetworkPolicy tier's say on a side: not isolated, or isolated by these policies and allowed (or not). */
function networkPolicyWords(s: SideView, actions: DetailsActions): Child[] {
  if (!s.isolated) return ['not isolated: allowed'];
  const by = ['isolated by ', ...s.isolatingPolicies.flatMap((p, i) => [i ? ', ' : '', policyLink(p, actions)])];
  return s.allowed ? [...by, '; allowed by:'] : [...by, `; no ${s.direction.toLowerCase()} rule allows it`];
}

/**
 * A side's tiers in order, as the engine went through them: the Admin tier (the rule that decided, a
 * Pass, or none matched), NetworkPolicy, the Baseline tier, the default; the tiers after the one that
 * decided are not consulted.
 */
function tierList(s: SideView, actions: DetailsActions): HTMLElement {
  const order = ['Admin', 'NetworkPolicy', 'Baseline', 'Default'] as const;
  const decided = order.indexOf(s.tier!);
  const passed = (tier: string): AdminRuleView | undefined => s.passedBy?.find((r) => r.tier === tier);
  const row = (tier: (typeof order)[number]): HTMLElement => {
    const at = order.indexOf(tier);
    let body: Child[];
    if (at > decided) body = [h('span', { class: 'muted' }, 'not consulted')];
    else if (tier === 'NetworkPolicy') body = at === decided ? networkPolicyWords(s, actions) : [s.isolated ? 'isolated, but the Admin tier decided first' : 'not isolated'];
    else if (tier === 'Default') body = ['no tier decided: allowed'];
    else if (at === decided && s.decidedBy) body = [adminPolicyLink(s.decidedBy.policy, s.decidedBy.ref, actions)];
    else if (passed(tier)) body = ['Pass: ', adminPolicyLink(passed(tier)!.policy, passed(tier)!.ref, actions)];
    else body = [h('span', { class: 'muted' }, `no ${tier} rule matches`)];
    return h('li', { class: `tier tier-${tier.toLowerCase()}${at === decided ? ' decided' : ''}`, 'data-tier': tier }, h('strong', {}, `${tier}: `), ...body);
  };
  return h('ol', { class: 'tiers' }, order.map(row));
}

function sideBlock(title: string, s: SideView, actions: DetailsActions): HTMLElement {
  let body: Child[];
  if (s.notSubject) body = [s.notSubject === 'hostNetwork' ? 'hostNetwork pod: not subject to NetworkPolicy' : 'outside the cluster: no policy applies'];
  else if (s.tier !== undefined) body = (s.words ?? []).slice(0, 1);
  else body = networkPolicyWords(s, actions);
  const tiers = s.tier !== undefined && !s.notSubject;
  return h(
    'div',
    { class: `side-verdict ${s.allowed ? 'ok' : 'bad'}`, ...(s.tier ? { 'data-tier': s.tier } : {}) },
    h('h4', {}, breakableId(`${s.allowed ? '✓' : '✗'} ${title}`)),
    h('p', { class: tiers ? 'words' : '' }, ...(tiers ? [breakableId(String(body[0] ?? ''))] : body)),
    tiers ? tierList(s, actions) : null,
    s.allowedBy.length && (!tiers || s.tier === 'NetworkPolicy') ? h('ul', { class: 'rules' }, s.allowedBy.map((r) => ruleItem(r, actions, s.direction === 'Ingress' ? 'allows from' : 'allows to'))) : null,
    ...s.notes.map((n) => h('p', { class: 'note' }, n)),
  );
}

/** An admin or baseline policy (a band): where it sits, what it selects, its rules in order. */
export function renderAdminPolicy(p: AdminPolicyView, actions: DetailsActions): HTMLElement {
  const when =
    p.tier === 'Admin'
      ? 'evaluated before NetworkPolicy: the first Admin rule that matches a connection decides it (Accept/Allow, Deny) or passes it on to NetworkPolicy (Pass); it does not isolate the pods it selects'
      : 'evaluated after NetworkPolicy, only for a direction no NetworkPolicy isolates the pod in: the first Baseline rule that matches decides; otherwise the default allows';
  const rules = (title: string, list: readonly AdminRuleView[]): HTMLElement[] =>
    list.length ? [h('h4', {}, title), h('ol', { class: 'rules admin' }, list.map((r) => adminRuleItem(r, actions)))] : [];
  return h(
    'div',
    { class: 'admin-policy', 'data-policy': p.id },
    h('h2', {}, breakableId(p.id)),
    h('p', {}, breakableId(p.ref), `: ${p.order + 1}${ordinal(p.order + 1)} in the ${p.tier} tier's order.`),
    h('p', { class: 'muted' }, when),
    h('p', {}, h('strong', {}, 'Subject: '), p.subject),
    h('h3', {}, `Selects ${p.selects.length} endpoint${p.selects.length === 1 ? '' : 's'}`),
    p.selects.length ? h('ul', { class: 'reach' }, p.selects.map((id) => h('li', {}, endpointLink(id, actions)))) : h('p', { class: 'muted' }, 'no endpoint'),
    ...rules('Ingress rules', p.ingress),
    ...rules('Egress rules', p.egress),
    h('p', {}, h('button', { class: 'link', onclick: () => actions.editPolicy(p.id) }, 'Edit this policy')),
  );
}

function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return 'th';
  return ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
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
