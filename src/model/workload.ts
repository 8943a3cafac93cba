// Pods and the workloads users write (Deployment, StatefulSet, ...) become endpoints: labels,
// container ports, IPs. The fields NetworkPolicy depends on are validated, metadata and status
// are decoded strictly; the rest of the spec is ignored.
import { parseIP } from './cidr.js';
import { FieldDecoder, type DecodeOptions, type Json } from './decode.js';
import type { FieldError, FieldPath } from './diagnostics.js';
import { decodeLabelSelector } from './labels.js';
import { decodeObjectMeta, decodeTemplateMeta, type ObjectMeta } from './metadata.js';
import { isValidPortName, isValidPortNum } from './names.js';
import type { ContainerPort, EndpointKind, Labels, LabelSelector, Protocol } from './types.js';
import { selectorMatches } from './selector-match.js';
import { checkPodStatus, checkWorkloadStatus, TOP_LEVEL_FIELDS } from './status.js';

export const WORKLOAD_KINDS: readonly EndpointKind[] = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
  'CronJob',
];

export interface DecodedEndpoint {
  readonly kind: EndpointKind;
  readonly meta: ObjectMeta;
  readonly labels: Labels;
  readonly ports: readonly ContainerPort[];
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
  readonly nodeName?: string;
  readonly replicas?: number;
  readonly errors: readonly FieldError[];
}

const PROTOCOL_VALUES: readonly string[] = ['TCP', 'UDP', 'SCTP'];

function decodeContainerPorts(d: FieldDecoder, podSpec: Json, path: FieldPath): ContainerPort[] {
  const ports: ContainerPort[] = [];
  const collect = (field: 'containers' | 'initContainers'): void => {
    d.array(podSpec[field], [...path, field]).forEach((rawContainer, i) => {
      const cPath = [...path, field, i];
      const container = d.object(rawContainer, cPath);
      if (!container) return;
      // Only restartable init containers (sidecars) keep serving after start-up.
      if (field === 'initContainers' && container.restartPolicy !== 'Always') return;
      d.array(container.ports, [...cPath, 'ports']).forEach((rawPort, j) => {
        const pPath = [...cPath, 'ports', j];
        const port = d.object(rawPort, pPath);
        if (!port) return;
        const containerPort = d.integer(port.containerPort, [...pPath, 'containerPort']);
        if (containerPort === undefined) {
          d.required([...pPath, 'containerPort']);
          return;
        }
        for (const msg of isValidPortNum(containerPort)) d.invalid([...pPath, 'containerPort'], containerPort, msg);
        const name = d.string(port.name, [...pPath, 'name']);
        if (name) for (const msg of isValidPortName(name)) d.invalid([...pPath, 'name'], name, msg);
        // Port names are unique across a pod's containers (validateContainerPorts), else a named port would be ambiguous.
        if (name && ports.some((p) => p.name === name)) d.errors.push({ type: 'Invalid', path: [...pPath, 'name'], value: name, detail: 'Duplicate value' });
        const protocol = d.string(port.protocol, [...pPath, 'protocol']) ?? 'TCP';
        if (!PROTOCOL_VALUES.includes(protocol)) d.notSupported([...pPath, 'protocol'], protocol, PROTOCOL_VALUES);
        ports.push({ name: name || undefined, containerPort, protocol: protocol as Protocol });
      });
    });
  };
  collect('containers');
  collect('initContainers');
  return ports;
}

function decodePodIPs(d: FieldDecoder, status: Json | undefined): string[] {
  if (!status) return [];
  const ips: string[] = [];
  const families = new Set<number>();
  const add = (value: unknown, path: FieldPath): void => {
    const ip = d.string(value, path);
    if (ip === undefined || ip === '') return;
    const parsed = parseIP(ip);
    if (!parsed) d.invalid(path, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
    else if (!ips.includes(ip)) {
      // "at most one IP address of each family" (podIPs), as the apiserver requires.
      if (families.has(parsed.family)) d.invalid(['status', 'podIPs'], ip, 'may specify no more than one IP for each IP family');
      families.add(parsed.family);
      ips.push(ip);
    }
  };
  d.array(status.podIPs, ['status', 'podIPs']).forEach((raw, i) => {
    const entry = d.object(raw, ['status', 'podIPs', i]);
    if (!entry) return;
    d.knownFields(entry, ['ip'], ['status', 'podIPs', i]);
    add(entry.ip, ['status', 'podIPs', i, 'ip']);
  });
  // "podIP ... If this field is specified, the 0th entry must match the podIP field."
  if (status.podIP !== undefined) {
    const primary = d.string(status.podIP, ['status', 'podIP']);
    if (primary && ips.length > 0 && ips[0] !== primary) {
      d.invalid(['status', 'podIPs'], ips[0], 'must match `podIP` in its first entry');
    }
    add(status.podIP, ['status', 'podIP']);
  }
  return ips;
}

export function decodePod(obj: Json, options: DecodeOptions = {}): DecodedEndpoint {
  const d = new FieldDecoder(options);
  d.knownFields(obj, TOP_LEVEL_FIELDS, []);
  const meta = decodeObjectMeta(d, obj, 'subdomain');
  const spec = d.object(obj.spec, ['spec']) ?? {};
  const ports = decodeContainerPorts(d, spec, ['spec']);
  const hostNetwork = d.boolean(spec.hostNetwork, ['spec', 'hostNetwork']) ?? false;
  const nodeName = d.string(spec.nodeName, ['spec', 'nodeName']) || undefined;
  const status = d.object(obj.status, ['status']);
  if (status) checkPodStatus(d, status);
  const ips = decodePodIPs(d, status);
  // A pod that has terminated has no network any more, and its address may already be another pod's.
  const terminated = status?.phase === 'Succeeded' || status?.phase === 'Failed';
  return { kind: 'Pod', meta, labels: meta.labels, ports, ips: terminated ? [] : ips, hostNetwork, nodeName, replicas: 1, errors: d.errors };
}

/** Where the pod template sits in each workload kind. */
function templatePath(kind: EndpointKind): FieldPath {
  return kind === 'CronJob' ? ['spec', 'jobTemplate', 'spec', 'template'] : ['spec', 'template'];
}

function at(obj: Json, path: FieldPath): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

export function decodeWorkload(kind: EndpointKind, obj: Json, options: DecodeOptions = {}): DecodedEndpoint {
  const d = new FieldDecoder(options);
  d.knownFields(obj, TOP_LEVEL_FIELDS, []);
  const meta = decodeObjectMeta(d, obj, 'subdomain');
  const status = d.object(obj.status, ['status']);
  if (status && kind !== 'Pod') checkWorkloadStatus(d, kind, status);
  const tPath = templatePath(kind);
  const template = d.object(at(obj, tPath), tPath);
  if (!template) d.required(tPath);
  const labels = decodeTemplateMeta(d, template?.metadata, [...tPath, 'metadata']);
  const podSpec = d.object(template?.spec, [...tPath, 'spec']) ?? {};
  const ports = decodeContainerPorts(d, podSpec, [...tPath, 'spec']);
  const hostNetwork = d.boolean(podSpec.hostNetwork, [...tPath, 'spec', 'hostNetwork']) ?? false;

  // apps/v1 requires a selector that matches the template's labels; a mismatch is rejected.
  if (kind === 'Deployment' || kind === 'StatefulSet' || kind === 'DaemonSet' || kind === 'ReplicaSet') {
    const raw = at(obj, ['spec', 'selector']);
    if (raw === undefined || raw === null) d.required(['spec', 'selector']);
    else checkSelectorMatchesTemplate(d, decodeLabelSelector(d, raw, ['spec', 'selector']), labels, tPath);
  }

  let replicas: number | undefined;
  if (kind === 'Deployment' || kind === 'StatefulSet' || kind === 'ReplicaSet' || kind === 'ReplicationController') {
    replicas = d.integer(at(obj, ['spec', 'replicas']), ['spec', 'replicas']) ?? 1;
  } else if (kind === 'Job') {
    replicas = d.integer(at(obj, ['spec', 'parallelism']), ['spec', 'parallelism']) ?? 1;
  } else {
    replicas = 1;
  }
  if (replicas < 0) d.invalid(['spec', 'replicas'], replicas, 'must be greater than or equal to 0');
  return { kind, meta, labels, ports, ips: [], hostNetwork, replicas, errors: d.errors };
}

function checkSelectorMatchesTemplate(d: FieldDecoder, selector: LabelSelector, labels: Labels, tPath: FieldPath): void {
  const empty = Object.keys(selector.matchLabels).length === 0 && selector.matchExpressions.length === 0;
  if (empty) d.invalid(['spec', 'selector'], selector, 'empty selector is invalid for deployment');
  else if (!selectorMatches(selector, labels)) {
    d.invalid([...tPath, 'metadata', 'labels'], labels, '`selector` does not match template `labels`');
  }
}
