// The only effect of the data plane: hand a rendered table to `nft -f -` in one transaction,
// read its counters back, and remove it. An unchanged ruleset is not applied again.
import { createHash } from 'node:crypto';
import { exec } from './exec.js';
import { renderDeleteScript, renderReplaceScript, type Ruleset } from './ruleset.js';

export interface CounterValue {
  readonly packets: number;
  readonly bytes: number;
}

/** Applies rulesets to one table, skipping a re-apply of what is already loaded. */
export class RulesetApplier {
  private lastDigest?: string;

  constructor(private readonly nft: readonly string[] = ['nft']) {}

  /** The digest of what was last applied; a caller that outlives this object can keep it. */
  get digest(): string | undefined {
    return this.lastDigest;
  }

  /**
   * Returns false when the ruleset equals the one last applied (a no-op). `previousDigest` tells a
   * fresh applier what an earlier process applied.
   */
  async apply(ruleset: Ruleset, options: { force?: boolean; previousDigest?: string } = {}): Promise<boolean> {
    const script = renderReplaceScript(ruleset);
    // Counter values change between applies without changing what is enforced.
    const digest = createHash('sha256').update(renderReplaceScript({ ...ruleset, counters: ruleset.counters.map((c) => ({ ...c, packets: 0, bytes: 0 })) })).digest('hex');
    const last = this.lastDigest ?? options.previousDigest;
    if (!options.force && digest === last) return false;
    await exec([...this.nft, '-f', '-'], { input: script, timeoutMs: 30_000 });
    this.lastDigest = digest;
    return true;
  }

  /** Forgets what was applied, so the next apply goes to the kernel even if unchanged. */
  reset(): void {
    this.lastDigest = undefined;
  }
}

/** Validates a script with `nft -c` (check mode: parsed and checked by the kernel, not committed). */
export async function checkRuleset(ruleset: Ruleset, nft: readonly string[] = ['nft']): Promise<void> {
  await exec([...nft, '-c', '-f', '-'], { input: renderReplaceScript(ruleset), timeoutMs: 30_000 });
}

export async function deleteTable(table: string, nft: readonly string[] = ['nft']): Promise<void> {
  await exec([...nft, '-f', '-'], { input: renderDeleteScript('inet', table), timeoutMs: 30_000 });
}

export async function tableExists(table: string, nft: readonly string[] = ['nft']): Promise<boolean> {
  // Terse, and sets only: without their elements it costs nothing even for a large table.
  const r = await exec([...nft, '-t', 'list', 'sets', 'table', 'inet', table], { check: false, timeoutMs: 10_000 });
  return r.code === 0;
}

/** The named counters of a table (drops per pod and direction), by name. */
export async function readCounters(table: string, nft: readonly string[] = ['nft']): Promise<Map<string, CounterValue>> {
  return (await readTableCounters(table, nft)) ?? new Map();
}

/**
 * The named counters of a table, or undefined when the table cannot be listed (it does not exist):
 * one nft call answers both questions. Every nft call costs about as much as listing the whole
 * table (nft fetches every set's elements first), so a change makes as few as it can.
 */
export async function readTableCounters(table: string, nft: readonly string[] = ['nft']): Promise<Map<string, CounterValue> | undefined> {
  const r = await exec([...nft, '-j', 'list', 'counters', 'table', 'inet', table], { check: false, timeoutMs: 10_000 });
  if (r.code !== 0) return undefined;
  const out = new Map<string, CounterValue>();
  const doc = JSON.parse(r.stdout) as { nftables?: { counter?: { name: string; packets: number; bytes: number } }[] };
  for (const item of doc.nftables ?? []) {
    if (item.counter) out.set(item.counter.name, { packets: item.counter.packets, bytes: item.counter.bytes });
  }
  return out;
}
