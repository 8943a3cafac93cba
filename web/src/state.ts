// The page's state in one place: the model as the server last drew it (with the edit laid over
// when there is one), the filters, the selection and the lab's results; listeners redraw.
import type { CountersView, FlowKey, ModelView, ProbeView } from '../../src/web/types.js';

export interface Filters {
  namespace: string;
  /** '' for every port, else `80/TCP`. */
  port: string;
  protocol: string;
  showDenied: boolean;
}

export interface EditState {
  text: string;
  opened: readonly FlowKey[];
  closed: readonly FlowKey[];
  replaced: readonly string[];
  added: readonly string[];
}

export interface State {
  base?: ModelView;
  /** What is drawn: the base, or the preview of the edit. */
  model?: ModelView;
  edit: EditState;
  filters: Filters;
  view: 'graph' | 'matrix';
  selected?: { kind: 'node'; id: string } | { kind: 'edge'; id: string } | { kind: 'cell'; from: string; to: string; port: number; protocol: string };
  probe?: readonly ProbeView[];
  counters?: CountersView['counters'];
}

type Listener = (state: State, changed: ReadonlySet<keyof State>) => void;

export class Store {
  readonly state: State = {
    edit: { text: '', opened: [], closed: [], replaced: [], added: [] },
    filters: { namespace: '', port: '', protocol: '', showDenied: false },
    view: 'graph',
  };
  private readonly listeners: Listener[] = [];

  subscribe(listener: Listener): void {
    this.listeners.push(listener);
  }

  set(patch: Partial<State>): void {
    Object.assign(this.state, patch);
    const changed = new Set(Object.keys(patch) as (keyof State)[]);
    for (const l of this.listeners) l(this.state, changed);
  }
}
