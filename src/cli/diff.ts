// `podwall diff OLD NEW`: the flows a change opens and closes.
import type { Output } from './output.js';
import { UsageError } from './output.js';

export interface DiffOptions {
  readonly namespace: string;
  readonly output?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly cluster?: boolean;
}

export async function runDiff(_old: string, _new: string, _options: DiffOptions, _io: Output): Promise<number> {
  throw new UsageError('diff is being built');
}
