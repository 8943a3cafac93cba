// `podwall lint`: findings in the policies, each with a stable id, a severity and a field path.
import type { AnalysisInputOptions } from './input.js';
import { UsageError, type Output } from './output.js';

export interface LintOptions extends AnalysisInputOptions {
  readonly output?: string;
  readonly failOn?: string;
}

export async function runLint(_options: LintOptions, _io: Output): Promise<number> {
  throw new UsageError('lint is being built');
}
