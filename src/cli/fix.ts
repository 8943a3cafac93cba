// `podwall fix`: the smallest policy change that allows one denied connection and nothing else.
import type { AnalysisInputOptions } from './input.js';
import { UsageError, type Output } from './output.js';

export interface FixOptions extends AnalysisInputOptions {
  readonly from?: string;
  readonly to?: string;
  readonly port?: string;
  readonly protocol?: string;
  readonly output?: string;
}

export async function runFix(_options: FixOptions, _io: Output): Promise<number> {
  throw new UsageError('fix is being built');
}
