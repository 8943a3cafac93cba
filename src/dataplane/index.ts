// The data plane: cluster state -> one nftables table (pure), and applying it (the only effect).
export { compileRuleset, counterName, DEFAULT_TABLE, type DataplaneOptions } from './compile.js';
export { renderReplaceScript, renderTable, renderDeleteScript, rulesetStats, RulesetError, type Ruleset, type RulesetStats } from './ruleset.js';
export { RulesetApplier, checkRuleset, deleteTable, tableExists, readCounters, readTableCounters, type CounterValue } from './apply.js';
export { exec, ExecError, MissingProgramError, type ExecResult, type ExecOptions } from './exec.js';
export { parseConntrack, connectionChanges, listConntrack, markConntrack, REVOKED_MARK, type ConntrackEntry } from './conntrack.js';
export { compileServices, DEFAULT_SERVICES_TABLE, HAIRPIN_MARK, NO_ENDPOINTS_MARK, type ServiceBackend, type ServiceFrontend } from './services.js';
