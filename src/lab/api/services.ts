// Services as the apiserver stores them: ClusterIPs allocated from the service CIDR
// (pkg/registry/core/service/ipallocator), node ports from 30000-32767 (portallocator), and the
// update rules around them (storage/alloc.go, storage/rest.go, strategy.go, ValidateServiceUpdate).
// What is allocated is read from the stored Services, so deleting a Service or changing its type
// releases its addresses and ports with nothing else to keep in step.
import { formatCIDR, formatIP, NODE_PORT_RANGE, parseCIDR, parseIP, type CIDR, type FieldError, type Manifest } from '../../model/index.js';

/** The apiserver's --service-cluster-ip-range unless the lab gives its own. */
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';

/** An allocation the apiserver answers with a 500 (a full range), not with a field error. */
export class AllocationFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AllocationFailure';
  }
}

type IPFamilyName = 'IPv4' | 'IPv6';

interface PortSpec {
  name?: string;
  protocol?: string;
  port?: number;
  nodePort?: number;
  [field: string]: unknown;
}

const isObject = (v: unknown): v is Manifest => v !== null && typeof v === 'object' && !Array.isArray(v);
const specOf = (m: Manifest): Manifest => (isObject(m.spec) ? m.spec : {});
const typeOf = (spec: Manifest): string => (typeof spec.type === 'string' && spec.type !== '' ? spec.type : 'ClusterIP');
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
const portsOf = (spec: Manifest): PortSpec[] => (Array.isArray(spec.ports) ? spec.ports.filter(isObject) : []) as PortSpec[];
const hasSelector = (spec: Manifest): boolean => isObject(spec.selector) && Object.keys(spec.selector).length > 0;
const familyOf = (ip: string): IPFamilyName => (parseIP(ip)?.family === 6 ? 'IPv6' : 'IPv4');
const sameList = (a: readonly unknown[], b: readonly unknown[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

const needsClusterIP = (spec: Manifest): boolean => typeOf(spec) !== 'ExternalName';
const needsNodePort = (spec: Manifest): boolean => typeOf(spec) === 'NodePort' || typeOf(spec) === 'LoadBalancer';
/** apiservice.NeedsHealthCheck: a LoadBalancer that keeps the client's address. */
const needsHealthCheck = (spec: Manifest): boolean => typeOf(spec) === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
/** service.ExternallyAccessible. */
const externallyAccessible = (spec: Manifest): boolean => needsNodePort(spec) || (typeOf(spec) === 'ClusterIP' && strings(spec.externalIPs).length > 0);
const isHeadless = (spec: Manifest): boolean => {
  const ips = strings(spec.clusterIPs);
  return ips.length === 1 && ips[0] === 'None';
};
const nodePortsOf = (spec: Manifest): number[] => portsOf(spec).flatMap((p) => (typeof p.nodePort === 'number' && p.nodePort !== 0 ? [p.nodePort] : []));
const sameClusterIPs = (a: Manifest, b: Manifest): boolean => a.clusterIP === b.clusterIP && sameList(strings(a.clusterIPs), strings(b.clusterIPs));

/**
 * calculateRangeOffset: the first `min(max(16, size/step), max)` values of a range are kept for
 * values clients ask for (KEP-3070 for ClusterIPs, KEP-3668 for node ports); dynamic allocation
 * takes from the rest first, so it does not take the address or port a manifest will ask for.
 */
function staticBand(size: bigint, step: bigint, max: bigint): bigint {
  if (size <= 16n) return 0n;
  const offset = size / step;
  return offset < 16n ? 16n : offset > max ? max : offset;
}

/**
 * The update strategy before validation, in a copy of the new object: patchAllocatedValues (a
 * client that resubmits its manifest keeps the ClusterIP and node ports allocated for it),
 * normalizeClusterIPs (clusterIP and clusterIPs kept in step) and dropTypeDependentFields (a
 * type that no longer needs a ClusterIP, node ports or a traffic policy loses the values the
 * client did not change).
 */
export function prepareServiceUpdate(next: Manifest, old: Manifest): Manifest {
  const out = structuredClone(next);
  if (!isObject(out.spec)) return out;
  const spec = out.spec;
  const before = specOf(old);

  if (needsClusterIP(before) && needsClusterIP(spec)) {
    if (spec.clusterIP === undefined || spec.clusterIP === '') spec.clusterIP = before.clusterIP;
    if (strings(spec.clusterIPs).length === 0 && strings(before.clusterIPs).length > 0) spec.clusterIPs = before.clusterIPs;
  }
  if (needsNodePort(before) && needsNodePort(spec)) {
    const usedByNew = new Set(nodePortsOf(spec));
    const used = new Set(nodePortsOf(before).filter((n) => usedByNew.has(n)));
    // By name: the client may have changed the port's other fields.
    const byName = new Map(portsOf(before).map((p) => [p.name ?? '', p.nodePort]));
    for (const p of portsOf(spec)) {
      const kept = byName.get(p.name ?? '');
      if (!p.nodePort && typeof kept === 'number' && kept !== 0 && !used.has(kept)) p.nodePort = kept;
    }
  }
  if (needsHealthCheck(before) && needsHealthCheck(spec) && !spec.healthCheckNodePort) spec.healthCheckNodePort = before.healthCheckNodePort;

  // normalizeClusterIPs, update case.
  if (strings(before.clusterIPs).length > 0 && strings(spec.clusterIPs).length === 0 && before.clusterIP === spec.clusterIP) spec.clusterIPs = before.clusterIPs;
  if (before.clusterIP !== spec.clusterIP) {
    const cleared = typeof before.clusterIP === 'string' && before.clusterIP !== '' && (spec.clusterIP === undefined || spec.clusterIP === '');
    if (cleared) {
      if (sameList(strings(before.clusterIPs), strings(spec.clusterIPs))) delete spec.clusterIPs;
    } else if (sameList(strings(before.clusterIPs), strings(spec.clusterIPs))) spec.clusterIPs = [spec.clusterIP];
  }

  // dropTypeDependentFields.
  if (needsClusterIP(before) && !needsClusterIP(spec)) {
    if (sameClusterIPs(before, spec)) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (sameList(strings(before.ipFamilies), strings(spec.ipFamilies))) delete spec.ipFamilies;
    if (before.ipFamilyPolicy === spec.ipFamilyPolicy) delete spec.ipFamilyPolicy;
  }
  if (needsNodePort(before) && !needsNodePort(spec)) {
    // Users can add, remove or modify ports as long as they add no net-new node port.
    const held = new Set(nodePortsOf(before));
    if (nodePortsOf(spec).every((n) => held.has(n))) for (const p of portsOf(spec)) delete p.nodePort;
  }
  if (needsHealthCheck(before) && !needsHealthCheck(spec) && before.healthCheckNodePort === spec.healthCheckNodePort) delete spec.healthCheckNodePort;
  if (typeOf(before) === 'LoadBalancer' && typeOf(spec) !== 'LoadBalancer') {
    if (before.allocateLoadBalancerNodePorts === spec.allocateLoadBalancerNodePorts) delete spec.allocateLoadBalancerNodePorts;
    if (before.loadBalancerClass === spec.loadBalancerClass) delete spec.loadBalancerClass;
  }
  if (externallyAccessible(before) && !externallyAccessible(spec) && before.externalTrafficPolicy === spec.externalTrafficPolicy) delete spec.externalTrafficPolicy;
  return out;
}

/**
 * ValidateServiceUpdate's rules beyond ValidateService: a ClusterIP, once set, stays
 * (validateUpgradeDowngradeClusterIPs), and so does the primary IP family.
 */
export function validateServiceUpdate(next: Manifest, old: Manifest): FieldError[] {
  const spec = specOf(next);
  const before = specOf(old);
  if (!needsClusterIP(spec) || !needsClusterIP(before)) return [];
  const ips = strings(spec.clusterIPs);
  const oldIPs = strings(before.clusterIPs);
  const errors: FieldError[] = [];
  if (!(isHeadless(spec) && isHeadless(before))) {
    const path = ['spec', 'clusterIPs', 0];
    if (ips.length === oldIPs.length) {
      oldIPs.forEach((ip, i) => {
        if (ip !== ips[i]) errors.push({ type: 'Invalid', path: ['spec', 'clusterIPs', i], value: ips, detail: 'may not change once set' });
      });
    } else if (ips.length === 0) {
      errors.push({ type: 'Invalid', path, value: ips, detail: 'primary clusterIP can not be unset' });
    } else if (oldIPs.length > 0 && ips[0] !== oldIPs[0]) {
      errors.push({ type: 'Invalid', path, value: ips, detail: 'may not change once set' });
    }
  }
  const families = strings(spec.ipFamilies);
  const oldFamilies = strings(before.ipFamilies);
  if (isHeadless(spec) === isHeadless(before) && !isHeadless(spec) && families.length > 0 && oldFamilies.length > 0 && families[0] !== oldFamilies[0]) {
    errors.push({ type: 'Invalid', path: ['spec', 'ipFamilies', 0], value: families, detail: 'may not change once set' });
  }
  return errors;
}

/** A Service CIDR's allocatable addresses: all but the network address (and IPv4's broadcast). */
interface IPRange {
  readonly cidr: CIDR;
  readonly family: IPFamilyName;
  /** The first allocatable address. */
  readonly base: bigint;
  /** How many addresses from base may be allocated (an IPv6 range is capped at 65,535, as upstream's bitmap is). */
  readonly size: bigint;
  /** Offsets below this are the static band. */
  readonly offset: bigint;
  /** The address the cluster DNS takes by convention (the tenth), never handed out unasked. */
  readonly dns: bigint;
}

function ipRange(text: string): IPRange {
  const parsed = parseCIDR(text);
  if (!parsed.cidr || parsed.errors.length > 0) throw new Error(`service CIDR ${JSON.stringify(text)}: ${parsed.errors.join('; ') || 'not a CIDR'}`);
  const cidr = parsed.cidr;
  const total = 1n << BigInt((cidr.family === 4 ? 32 : 128) - cidr.prefix);
  let size = cidr.family === 4 ? total - 2n : (total > 65536n ? 65536n : total) - 1n;
  if (size < 0n) size = 0n;
  return { cidr, family: cidr.family === 4 ? 'IPv4' : 'IPv6', base: cidr.network + 1n, size, offset: staticBand(total, 16n, 256n), dns: cidr.network + 10n };
}

/** The clusterIPs, node ports and health-check node ports the other Services hold. */
interface Taken {
  readonly ips: Set<bigint>;
  readonly nodePorts: Set<number>;
}

function takenBy(others: readonly Manifest[]): Taken {
  const ips = new Set<bigint>();
  const nodePorts = new Set<number>();
  for (const m of others) {
    const spec = specOf(m);
    if (needsClusterIP(spec)) for (const ip of strings(spec.clusterIPs)) {
      const parsed = parseIP(ip);
      if (parsed) ips.add(parsed.value);
    }
    for (const n of nodePortsOf(spec)) nodePorts.add(n);
    if (typeof spec.healthCheckNodePort === 'number' && spec.healthCheckNodePort !== 0) nodePorts.add(spec.healthCheckNodePort);
  }
  return { ips, nodePorts };
}

/**
 * Allocates what a Service being created or updated needs, against what the other stored
 * Services hold: IP families and policy (initIPFamilyFields), ClusterIPs (allocClusterIPs), node
 * ports (initNodePorts on create, updateNodePorts on update) and a health-check node port.
 * Fills them into `service` and returns the field errors the apiserver answers with a 422 (the
 * first allocation error only, as upstream returns at the first); a full range throws
 * AllocationFailure.
 */
export class ServiceAllocator {
  private readonly range: IPRange;

  constructor(serviceCIDR: string = DEFAULT_SERVICE_CIDR) {
    this.range = ipRange(serviceCIDR);
  }

  get serviceCIDR(): string {
    return formatCIDR(this.range.cidr);
  }

  allocate(service: Manifest, others: readonly Manifest[], old?: Manifest): FieldError[] {
    if (!isObject(service.spec)) service.spec = {};
    const spec = service.spec as Manifest;
    const before = old ? specOf(old) : undefined;
    // normalizeClusterIPs, create case: an old client names only clusterIP.
    if (!before && typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && strings(spec.clusterIPs).length === 0) spec.clusterIPs = [spec.clusterIP];
    const taken = takenBy(others);
    const familyErrors = this.initIPFamilyFields(spec, before);
    if (familyErrors.length > 0) return familyErrors;
    const ipError = this.allocateClusterIPs(spec, taken, before);
    if (ipError) return [ipError];
    const portError = this.allocateNodePorts(spec, taken, before);
    return portError ? [portError] : [];
  }

  private initIPFamilyFields(spec: Manifest, before: Manifest | undefined): FieldError[] {
    if (!needsClusterIP(spec)) return [];
    const own = this.range.family;
    const headlessNoSelector = spec.clusterIP === 'None' && !hasSelector(spec);
    // Create: SingleStack unless headless without a selector; update: the policy the Service had.
    if (spec.ipFamilyPolicy === undefined || spec.ipFamilyPolicy === null) {
      spec.ipFamilyPolicy = before?.ipFamilyPolicy ?? (headlessNoSelector ? 'RequireDualStack' : 'SingleStack');
    }
    const policy = spec.ipFamilyPolicy;
    let ips = strings(spec.clusterIPs);
    const families = strings(spec.ipFamilies);
    const errors: FieldError[] = [];
    if (before && policy === 'SingleStack') {
      // Setting single-stack is clear intent: the secondary address and family go.
      if (sameList(strings(before.clusterIPs), ips) && ips.length > 1) ips = ips.slice(0, 1);
      if (sameList(strings(before.ipFamilies), families) && families.length > 1) families.length = 1;
    }
    if (policy === 'SingleStack') {
      const path = ['spec', 'ipFamilyPolicy'];
      if (ips.length === 2) errors.push({ type: 'Invalid', path, value: policy, detail: "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified" });
      if (families.length === 2) errors.push({ type: 'Invalid', path, value: policy, detail: "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified" });
    }
    for (const [i, ip] of ips.entries()) {
      if (ip === 'None') break;
      if (i < families.length) continue;
      const family = familyOf(ip);
      if (family !== own) errors.push({ type: 'Invalid', path: ['spec', 'clusterIPs', i], value: ips, detail: `${family} is not configured on this cluster` });
      else families.push(family);
    }
    if (errors.length > 0) return errors;
    if (ips.length > 0) spec.clusterIPs = ips;
    if (headlessNoSelector) {
      // The one exception on a single-stack cluster: a headless Service may hold both families.
      if (families.length === 0) families.push(own);
      if (families.length < 2 && policy !== 'SingleStack') families.push(families[0] === 'IPv4' ? 'IPv6' : 'IPv4');
      spec.ipFamilies = families;
      return [];
    }
    if (policy === 'RequireDualStack') errors.push({ type: 'Invalid', path: ['spec', 'ipFamilyPolicy'], value: policy, detail: 'this cluster is not configured for dual-stack services' });
    families.forEach((f, i) => {
      if (f !== own) errors.push({ type: 'Invalid', path: ['spec', 'ipFamilies', i], value: f, detail: 'not configured on this cluster' });
    });
    if (errors.length > 0) return errors;
    if (families.length === 0) families.push(own);
    spec.ipFamilies = families;
    return [];
  }

  private allocateClusterIPs(spec: Manifest, taken: Taken, before: Manifest | undefined): FieldError | undefined {
    if (!needsClusterIP(spec) || isHeadless(spec) || spec.clusterIP === 'None') return undefined;
    const ips = strings(spec.clusterIPs);
    const held = new Set(before && needsClusterIP(before) ? strings(before.clusterIPs) : []);
    const { cidr } = this.range;
    for (const [i, family] of strings(spec.ipFamilies).entries()) {
      if (family !== this.range.family) continue;
      const ip = ips[i] ?? '';
      if (ip === '') {
        ips[i] = formatIP({ family: cidr.family, value: this.nextIP(taken.ips) });
        continue;
      }
      if (held.has(ip)) continue;
      const reason = this.claimIP(ip, taken.ips);
      // storage/alloc.go allocIPs: the whole clusterIPs list is the value.
      if (reason) return { type: 'Invalid', path: ['spec', 'clusterIPs'], value: ips, detail: `failed to allocate IP ${ip}: ${reason}` };
    }
    spec.clusterIPs = ips;
    spec.clusterIP = ips[0];
    return undefined;
  }

  /** ipallocator's Allocate: the reason a requested address cannot be had, or undefined. */
  private claimIP(ip: string, taken: Set<bigint>): string | undefined {
    const parsed = parseIP(ip);
    const { base, size, cidr } = this.range;
    if (!parsed || parsed.family !== cidr.family || parsed.value < base || parsed.value >= base + size) {
      // The wording of ErrNotInRange up to Kubernetes 1.32 (the version this server reports is 1.31).
      return `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${formatCIDR(cidr)}`;
    }
    if (taken.has(parsed.value)) return 'provided IP is already allocated';
    taken.add(parsed.value);
    return undefined;
  }

  /** The lowest free address above the static band, else the lowest free one in it; never the DNS address unasked. */
  private nextIP(taken: Set<bigint>): bigint {
    const { base, size, offset, dns } = this.range;
    for (let v = base + offset; v < base + size; v++) {
      if (v !== dns && !taken.has(v)) {
        taken.add(v);
        return v;
      }
    }
    for (let v = base; v < base + offset && v < base + size; v++) {
      if (v !== dns && !taken.has(v)) {
        taken.add(v);
        return v;
      }
    }
    throw new AllocationFailure('failed to allocate a serviceIP: range is full');
  }

  private allocateNodePorts(spec: Manifest, taken: Taken, before: Manifest | undefined): FieldError | undefined {
    const ports = portsOf(spec);
    const wanted = (p: PortSpec): boolean => typeof p.nodePort === 'number' && p.nodePort !== 0;
    // A LoadBalancer may do without node ports (allocateLoadBalancerNodePorts: false), but gets those it asks for.
    const allocating = typeOf(spec) === 'NodePort' || (typeOf(spec) === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
    const held = new Set(before ? nodePortsOf(before) : []);
    if (before && typeof before.healthCheckNodePort === 'number') held.add(before.healthCheckNodePort);
    // Ports this Service held stay out of this allocation: they are released only once it is stored.
    const busy = new Set([...taken.nodePorts, ...held]);
    const claim = (n: number, i: number): FieldError | undefined => {
      const reason = this.claimNodePort(n, busy);
      return reason ? { type: 'Invalid', path: ['spec', 'ports', i, 'nodePort'], value: n, detail: reason } : undefined;
    };
    if (needsNodePort(spec)) {
      if (!before) {
        // initNodePorts: ports with the same number (53/TCP, 53/UDP) share one node port.
        const byPort = new Map<unknown, number>();
        for (const [i, p] of ports.entries()) {
          if (!wanted(p) && !allocating) continue;
          const shared = byPort.get(p.port);
          if (shared === undefined) {
            const requested = ports.find((q) => q.port === p.port && wanted(q))?.nodePort;
            if (requested !== undefined) {
              const error = claim(requested, i);
              if (error) return error;
              p.nodePort = requested;
            } else p.nodePort = this.nextNodePort(busy);
            byPort.set(p.port, p.nodePort);
          } else if (p.nodePort !== shared) {
            if (!wanted(p)) p.nodePort = shared;
            else {
              const error = claim(p.nodePort!, i);
              if (error) return error;
            }
          }
        }
      } else {
        // updateNodePorts: ports kept need nothing; a new number must be free.
        const mine = new Set<number>();
        for (const [i, p] of ports.entries()) {
          if (!wanted(p) && !allocating) continue;
          if (!wanted(p)) p.nodePort = this.nextNodePort(busy);
          else if (!held.has(p.nodePort!) && !mine.has(p.nodePort!)) {
            const error = claim(p.nodePort!, i);
            if (error) return error;
            mine.add(p.nodePort!);
          }
        }
      }
    }
    if (needsHealthCheck(spec)) {
      const asked = typeof spec.healthCheckNodePort === 'number' ? spec.healthCheckNodePort : 0;
      if (asked === 0) spec.healthCheckNodePort = this.nextNodePort(busy);
      else if (!(before && needsHealthCheck(before) && before.healthCheckNodePort === asked)) {
        const reason = this.claimNodePort(asked, busy);
        if (reason) throw new AllocationFailure(`failed to allocate requested HealthCheck NodePort ${asked}: ${reason}`);
      }
    }
    return undefined;
  }

  /** portallocator's Allocate: the reason a requested node port cannot be had, or undefined. */
  private claimNodePort(n: number, busy: Set<number>): string | undefined {
    if (n < NODE_PORT_RANGE.min || n > NODE_PORT_RANGE.max) {
      return `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`;
    }
    if (busy.has(n)) return 'provided port is already allocated';
    busy.add(n);
    return undefined;
  }

  /** The lowest free node port above the static band (30086 up), else the lowest free one below. */
  private nextNodePort(busy: Set<number>): number {
    const size = NODE_PORT_RANGE.max - NODE_PORT_RANGE.min + 1;
    const offset = Number(staticBand(BigInt(size), 32n, 128n));
    const order = [NODE_PORT_RANGE.min + offset, NODE_PORT_RANGE.max + 1, NODE_PORT_RANGE.min, NODE_PORT_RANGE.min + offset];
    for (let band = 0; band < order.length; band += 2) {
      for (let n = order[band]; n < order[band + 1]; n++) {
        if (!busy.has(n)) {
          busy.add(n);
          return n;
        }
      }
    }
    throw new AllocationFailure('failed to allocate a nodePort: range is full');
  }
}
