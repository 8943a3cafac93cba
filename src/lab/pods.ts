// Workloads become the pods their controllers would create, named the way those controllers
// name them (`web-7c9d8b5f4d-x2k4q`, `db-0`), with the labels the controllers add. Pure.
import type { ContainerPort, Endpoint, Labels } from '../model/index.js';
import { nameHash } from './names.js';

/** The annotation that records which workload a lab pod stands for. */
export const OWNER_ANNOTATION = 'podwall.dev/owner';

/** Lab-only: the addresses a pod asks for (status.podIP(s) in its manifest); the lab honours private, free ones. */
export const REQUESTED_IPS_ANNOTATION = 'podwall.dev/requested-ips';

export interface LabPodSpec {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly ports: readonly ContainerPort[];
  readonly hostNetwork: boolean;
  /** status.podIPs the manifest asked for (honoured when private), else the lab allocates. */
  readonly requestedIPs: readonly string[];
  /** `Deployment/web` for pods made from a workload. */
  readonly owner?: string;
  /** spec.nodeName the manifest binds it to (honoured by the node lab only). */
  readonly nodeName?: string;
}

function templateHash(e: Endpoint): string {
  return nameHash(JSON.stringify([e.namespace, e.name, e.kind, e.labels, e.ports]), 10);
}

export function podsForEndpoint(e: Endpoint): LabPodSpec[] {
  const base = { namespace: e.namespace, ports: e.ports, hostNetwork: e.hostNetwork, requestedIPs: [] as string[], ...(e.nodeName ? { nodeName: e.nodeName } : {}) };
  if (e.kind === 'Pod') return [{ ...base, name: e.name, labels: e.labels, requestedIPs: e.ips }];
  const owner = `${e.kind}/${e.name}`;
  const replicas = e.kind === 'DaemonSet' || e.kind === 'CronJob' ? 1 : Math.max(0, e.replicas ?? 1);
  const hash = templateHash(e);
  const pods: LabPodSpec[] = [];
  for (let i = 0; i < replicas; i++) {
    const suffix = nameHash(`${e.namespace}/${e.name}/${i}`, 5);
    let name: string;
    let labels: Record<string, string>;
    switch (e.kind) {
      case 'Deployment':
        name = `${e.name}-${hash}-${suffix}`;
        labels = { ...e.labels, 'pod-template-hash': hash };
        break;
      case 'StatefulSet':
        name = `${e.name}-${i}`;
        labels = { ...e.labels, 'controller-revision-hash': `${e.name}-${hash}`, 'statefulset.kubernetes.io/pod-name': name };
        break;
      case 'DaemonSet':
        name = `${e.name}-${suffix}`;
        labels = { ...e.labels, 'controller-revision-hash': hash, 'pod-template-generation': '1' };
        break;
      case 'Job':
        name = `${e.name}-${suffix}`;
        labels = { ...e.labels, 'job-name': e.name, 'batch.kubernetes.io/job-name': e.name };
        break;
      case 'CronJob': {
        const job = `${e.name}-${parseInt(hash.slice(0, 6), 36) % 90000000 + 10000000}`;
        name = `${job}-${suffix}`;
        labels = { ...e.labels, 'job-name': job, 'batch.kubernetes.io/job-name': job };
        break;
      }
      default:
        name = `${e.name}-${suffix}`;
        labels = { ...e.labels };
    }
    pods.push({ ...base, name, labels, owner });
  }
  return pods;
}

/**
 * A Pod manifest as the lab's API server receives it. Its status is the pod runner's alone (the API
 * server drops a client's), so the addresses a manifest asked for travel in an annotation.
 */
export function podManifest(spec: LabPodSpec): Record<string, unknown> {
  const annotations: Record<string, string> = {};
  if (spec.owner) annotations[OWNER_ANNOTATION] = spec.owner;
  if (spec.requestedIPs.length > 0) annotations[REQUESTED_IPS_ANNOTATION] = spec.requestedIPs.join(',');
  const metadata: Record<string, unknown> = { name: spec.name, namespace: spec.namespace, labels: { ...spec.labels } };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: {
      ...(spec.nodeName ? { nodeName: spec.nodeName } : {}),
      hostNetwork: spec.hostNetwork || undefined,
      containers: [
        {
          name: 'server',
          image: 'podwall/lab-server',
          ports: spec.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort, protocol: p.protocol })),
        },
      ],
    },
  };
}
