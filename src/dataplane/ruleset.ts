// An nftables table as data (sets, verdict maps, named counters, chains), and its rendering to
// one `nft -f` script that replaces the table atomically. Names are checked before rendering.

export type Family = 4 | 6;

export interface NftSet {
  readonly name: string;
  readonly type: string;
  readonly interval: boolean;
  readonly elements: readonly string[];
  readonly comment?: string;
}

export interface NftVerdictMap {
  readonly name: string;
  readonly type: string;
  /** What the map gives: a verdict (default), or a named counter (an objref map). */
  readonly valueType?: 'verdict' | 'counter';
  /** [key, value] such as ['10.244.0.5', 'jump in-0'] or ['10.244.0.5', '"in/default/web"']. */
  readonly elements: readonly (readonly [string, string])[];
}

export interface NftCounter {
  readonly name: string;
  readonly packets: number;
  readonly bytes: number;
}

export interface NftChain {
  readonly name: string;
  /** A base chain: where it hooks in; a filter chain unless `type` says nat. */
  readonly base?: { readonly hook: 'forward' | 'input' | 'output' | 'prerouting' | 'postrouting'; readonly priority: string; readonly type?: 'filter' | 'nat' };
  readonly rules: readonly string[];
}

export interface Ruleset {
  readonly family: 'inet';
  readonly table: string;
  readonly counters: readonly NftCounter[];
  readonly sets: readonly NftSet[];
  readonly maps: readonly NftVerdictMap[];
  readonly chains: readonly NftChain[];
}

export interface RulesetStats {
  readonly chains: number;
  readonly rules: number;
  readonly sets: number;
  readonly setElements: number;
  readonly counters: number;
}

/** nft's identifier syntax: a letter or underscore, then letters, digits and `/ - _ .`. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9/_.-]{0,254}$/;

export class RulesetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RulesetError';
  }
}

export function checkIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new RulesetError(`not a valid nft identifier: ${JSON.stringify(name)}`);
  return name;
}

/** A quoted nft string: only characters that cannot end the quote or the statement. */
export function quote(text: string, max = 127): string {
  const clean = text.replace(/[^A-Za-z0-9 /_.:,()[\]=@+-]/g, '_').slice(0, max);
  return `"${clean}"`;
}

export function rulesetStats(r: Ruleset): RulesetStats {
  return {
    chains: r.chains.length,
    rules: r.chains.reduce((n, c) => n + c.rules.length, 0),
    sets: r.sets.length + r.maps.length,
    setElements: r.sets.reduce((n, s) => n + s.elements.length, 0) + r.maps.reduce((n, m) => n + m.elements.length, 0),
    counters: r.counters.length,
  };
}

function elementsBlock(elements: readonly string[]): string {
  if (elements.length === 0) return '';
  const lines: string[] = [];
  for (let i = 0; i < elements.length; i += 8) lines.push(`\t\t\t${elements.slice(i, i + 8).join(', ')}`);
  return `\t\telements = {\n${lines.join(',\n')}\n\t\t}\n`;
}

/** The table's definition, without the statements that replace an existing one. */
export function renderTable(r: Ruleset): string {
  let out = `table ${r.family} ${checkIdentifier(r.table)} {\n`;
  for (const c of r.counters) {
    out += `\tcounter ${checkIdentifier(c.name)} {\n\t\tpackets ${c.packets} bytes ${c.bytes}\n\t}\n`;
  }
  for (const s of r.sets) {
    out += `\tset ${checkIdentifier(s.name)} {\n\t\ttype ${s.type}\n`;
    if (s.interval) out += '\t\tflags interval\n';
    if (s.comment) out += `\t\tcomment ${quote(s.comment)}\n`;
    out += `${elementsBlock(s.elements)}\t}\n`;
  }
  for (const m of r.maps) {
    out += `\tmap ${checkIdentifier(m.name)} {\n\t\ttype ${m.type} : ${m.valueType ?? 'verdict'}\n`;
    out += `${elementsBlock(m.elements.map(([k, v]) => `${k} : ${v}`))}\t}\n`;
  }
  for (const c of r.chains) {
    out += `\tchain ${checkIdentifier(c.name)} {\n`;
    if (c.base) out += `\t\ttype ${c.base.type ?? 'filter'} hook ${c.base.hook} priority ${c.base.priority}; policy accept;\n`;
    for (const rule of c.rules) out += `\t\t${rule}\n`;
    out += '\t}\n';
  }
  return `${out}}\n`;
}

/**
 * One transaction that replaces the table whole: create it if missing (so the delete cannot
 * fail), delete it, define it anew. nft applies a script atomically, so no packet ever sees a
 * missing or half-built table.
 */
export function renderReplaceScript(r: Ruleset): string {
  const id = `${r.family} ${checkIdentifier(r.table)}`;
  return `table ${id} {}\ndelete table ${id}\n${renderTable(r)}`;
}

export function renderDeleteScript(family: 'inet', table: string): string {
  const id = `${family} ${checkIdentifier(table)}`;
  return `table ${id} {}\ndelete table ${id}\n`;
}
