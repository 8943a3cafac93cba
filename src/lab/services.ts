// The lab's kube-proxy and cluster DNS, as data: from what the store holds, the Services table's
// frontends (a Service port's addresses, node port and ready backends at their target ports) and
// the DNS records kube-dns would serve. Which pods back a Service, and on which port, is the
// engine's answer (resolveService), so the lab and `podwall check` cannot disagree.
import { compileCluster, resolveService, serviceAddresses } from '../engine/index.js';
import type { ServiceFrontend } from '../dataplane/index.js';
import { clusterFromObjects, formatIP, parseCIDR, type Manifest, type Service } from '../model/index.js';
import type { LabStore } from './store.js';

/** The cluster DNS's own Service and pod, as a kubeadm cluster names them. */
export const DNS_NAMESPACE = 'kube-system';
export const DNS_SERVICE = 'kube-dns';
export const DNS_POD = 'coredns';
export const DNS_LABELS = { 'k8s-app': 'kube-dns' } as const;
export const CLUSTER_DOMAIN = 'cluster.local';

/** The DNS Service's address: the tenth of the Service CIDR, by convention. */
export function dnsAddress(serviceCIDR: string): string {
  const cidr = parseCIDR(serviceCIDR).cidr!;
  return formatIP({ family: cidr.family, value: cidr.network + 10n });
}

/** Whether a stored pod is the cluster DNS (served as DNS on its port 53). */
export function isDnsPod(m: Manifest): boolean {
  const meta = (m.metadata ?? {}) as { namespace?: string; labels?: Record<string, string> };
  return meta.namespace === DNS_NAMESPACE && meta.labels?.['k8s-app'] === DNS_LABELS['k8s-app'];
}

/** A pod is a backend only once it runs and is Ready, as EndpointSlice readiness follows the kubelet. */
function readyPods(store: LabStore): Set<string> {
  const ready = new Set<string>();
  for (const o of store.list('Pod')) {
    const status = (o.manifest.status ?? {}) as { phase?: string; conditions?: { type?: string; status?: string }[] };
    if (status.phase === 'Running' && status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ready.add(`${o.namespace}/${o.name}`);
  }
  return ready;
}

/** What the store holds, as the engine sees it. */
function compiledStore(store: LabStore) {
  return compileCluster(clusterFromObjects(store.list().map((o) => o.manifest)).cluster!);
}

/** The Services table's frontends: every port of every Service with a virtual address or a node port. */
export function serviceFrontends(store: LabStore): ServiceFrontend[] {
  const compiled = compiledStore(store);
  const ready = readyPods(store);
  const out: ServiceFrontend[] = [];
  for (const service of compiled.cluster.services ?? []) {
    if (service.type === 'ExternalName' || service.headless) continue;
    const resolved = resolveService(compiled, service);
    service.ports.forEach((port, i) => {
      const backends = resolved.backends.flatMap((b) => {
        const target = b.targetPorts[i];
        if (target === undefined || !b.endpoint || !ready.has(b.endpoint.id)) return [];
        return b.endpoint.ips.map((ip) => ({ ip, port: target }));
      });
      out.push({
        id: `${service.namespace}/${service.name}:${port.name ?? port.port}`,
        protocol: port.protocol,
        addresses: serviceAddresses(service),
        port: port.port,
        nodePort: port.nodePort,
        backends,
      });
    });
  }
  return out;
}

/**
 * The names kube-dns answers: `NAME.NS.svc.cluster.local` for every Service, with its ClusterIPs,
 * or for a headless Service the addresses of its ready backends.
 */
export function dnsRecords(store: LabStore): Record<string, string[]> {
  const compiled = compiledStore(store);
  const ready = readyPods(store);
  const records: Record<string, string[]> = {};
  const name = (s: Service): string => `${s.name}.${s.namespace}.svc.${CLUSTER_DOMAIN}`;
  for (const service of compiled.cluster.services ?? []) {
    if (service.type === 'ExternalName') continue;
    if (!service.headless) {
      records[name(service)] = service.clusterIPs.filter((ip) => ip !== 'None');
      continue;
    }
    const resolved = resolveService(compiled, service);
    records[name(service)] = resolved.backends.flatMap((b) => (b.endpoint && (ready.has(b.endpoint.id) || service.publishNotReadyAddresses) ? [...b.endpoint.ips] : []));
  }
  return records;
}

/** The cluster DNS the lab runs from the start: its namespace, its pod and its Service. */
export function dnsManifests(serviceCIDR: string): Manifest[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DNS_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: DNS_POD, namespace: DNS_NAMESPACE, labels: { ...DNS_LABELS } },
      spec: {
        containers: [
          {
            name: 'coredns',
            image: 'podwall/lab-dns',
            ports: [
              { name: 'dns', containerPort: 53, protocol: 'UDP' },
              { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: DNS_SERVICE, namespace: DNS_NAMESPACE, labels: { ...DNS_LABELS } },
      spec: {
        selector: { ...DNS_LABELS },
        clusterIP: dnsAddress(serviceCIDR),
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        ],
      },
    },
  ];
}

/**
 * A Service as `lab apply` sends it to the API server: what the manifest said (the server defaults
 * the rest and allocates the ClusterIP and node ports the manifest leaves out).
 */
export function serviceManifest(service: Service): Manifest {
  const spec: Manifest = {
    type: service.type,
    ports: service.ports.map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      protocol: p.protocol,
      port: p.port,
      targetPort: p.targetPort,
      ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
      ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    })),
  };
  if (service.selector) spec.selector = { ...service.selector };
  if (service.headless) spec.clusterIP = 'None';
  else if (service.clusterIPs.length > 0) {
    spec.clusterIP = service.clusterIPs[0];
    spec.clusterIPs = [...service.clusterIPs];
  }
  if (service.externalName) spec.externalName = service.externalName;
  if (service.externalIPs.length > 0) spec.externalIPs = [...service.externalIPs];
  if (service.externalTrafficPolicy) spec.externalTrafficPolicy = service.externalTrafficPolicy;
  if (service.publishNotReadyAddresses) spec.publishNotReadyAddresses = true;
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: service.name, namespace: service.namespace }, spec };
}
