// The lab layer: a single-node cluster on this machine, built from the data plane.
export { Lab, LabInputError, defaultStateRoot, DEFAULT_POD_CIDR, type ChangeReport, type LabOptions, type LabSettings } from './lab.js';
export { LabPrerequisiteError } from './host.js';
export { DEFAULT_LAB } from './names.js';
export type { ProbeReport } from './probe.js';
