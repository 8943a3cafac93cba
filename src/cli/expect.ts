// `podwall test --expect FILE`: flows that must be allowed or denied, judged by the engine (and the lab).
import type { AnalysisInputOptions } from './input.js';
import { UsageError, type Output } from './output.js';

export interface TestOptions extends AnalysisInputOptions {
  readonly expect: string;
  readonly lab?: boolean;
  readonly name?: string;
  readonly stateDir?: string;
  readonly output?: string;
}

export async function runTest(_options: TestOptions, _io: Output): Promise<number> {
  throw new UsageError('test is being built');
}
