// Services and EndpointSlices as the apiserver takes them on create: every validation error as
// rendered (file:line:col, object, field path, apiserver wording) and the defaults written out.
// Wording: k8s.io/kubernetes pkg/apis/core/validation (ValidateService, validateServicePort,
// ValidateServiceClusterIPsRelatedFields, validateServiceExternalTrafficPolicy), the node port
// allocator's range error, pkg/apis/core/v1 SetDefaults_Service, pkg/apis/discovery/validation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic, loadTexts, clusterFromObjects, type BuildResult } from './index.js';

function load(text: string): BuildResult {
  return loadTexts([{ file: 's.yaml', text }]);
}

function errorsOf(text: string): string[] {
  return load(text)
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);
}

/** line:col of the nth occurrence of `marker`, or of the place `§` marks in it. */
function pos(text: string, marker: string, nth = 1): string {
  const offset = Math.max(marker.indexOf('§'), 0);
  const plain = marker.replace('§', '');
  let at = -1;
  for (let i = 0; i < nth; i++) {
    at = text.indexOf(plain, at + 1);
    assert.ok(at >= 0, `marker ${JSON.stringify(marker)} #${nth} not in text`);
  }
  at += offset;
  const before = text.slice(0, at).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

/** A Service default/web whose spec is given (at column 1, indented here). */
function svc(spec: string, name = 'web'): string {
  const body = spec
    .replace(/^\n/, '')
    .split('\n')
    .map((l) => (l === '' ? l : `  ${l}`))
    .join('\n');
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n${body}\n`;
}

const PORT_RANGE = 'must be between 1 and 65535, inclusive';
const DNS1123_LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_LABEL =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

interface Case {
  readonly rule: string;
  readonly text: string;
  /** [marker whose position the error has, field, message], in reporting order. */
  readonly errors: readonly (readonly [marker: string | [string, number], field: string, message: string])[];
  readonly object?: string;
}

function runCases(cases: readonly Case[]): void {
  for (const c of cases) {
    test(c.rule, () => {
      const want = c.errors.map(([marker, field, message]) => {
        const [m, nth] = typeof marker === 'string' ? [marker, 1] : marker;
        return `s.yaml:${pos(c.text, m, nth)}: ${c.object ?? 'Service default/web'}: ${field}: ${message}`;
      });
      assert.deepEqual(errorsOf(c.text), want);
    });
  }
}

describe('Service ports (validateServicePort)', () => {
  runCases([
    {
      rule: 'a port out of range is invalid',
      text: svc('ports:\n- port: 70000'),
      errors: [['70000', 'spec.ports[0].port', `Invalid value: 70000: ${PORT_RANGE}`]],
    },
    {
      rule: 'a port without port is 0 to the decoder, and invalid',
      text: svc('ports:\n- targetPort: 80'),
      errors: [['targetPort', 'spec.ports[0].port', `Invalid value: 0: ${PORT_RANGE}`]],
    },
    {
      rule: 'with more than one port each needs a name',
      text: svc('ports:\n- port: 80\n- port: 443\n  name: https'),
      errors: [['port: 80', 'spec.ports[0].name', 'Required value']],
    },
    {
      rule: 'port names are DNS-1123 labels and unique',
      text: svc('ports:\n- port: 80\n  name: Web\n- port: 81\n  name: a\n- port: 82\n  name: a'),
      errors: [
        ['Web', 'spec.ports[0].name', `Invalid value: "Web": ${DNS1123_LABEL}`],
        [['name: §a', 2], 'spec.ports[2].name', 'Invalid value: "a": Duplicate value'],
      ],
    },
    {
      rule: 'the protocol is TCP, UDP or SCTP (listed sorted, as sets.List does)',
      text: svc('ports:\n- port: 80\n  protocol: ICMP'),
      errors: [['ICMP', 'spec.ports[0].protocol', 'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"']],
    },
    {
      rule: 'a numeric targetPort is a port number',
      text: svc('ports:\n- port: 80\n  targetPort: 65536'),
      errors: [['65536', 'spec.ports[0].targetPort', `Invalid value: 65536: ${PORT_RANGE}`]],
    },
    {
      rule: 'a named targetPort is an IANA_SVC_NAME; a quoted number is a name, and no valid one',
      text: svc('ports:\n- port: 80\n  name: a\n  targetPort: "8080"\n- port: 81\n  name: b\n  targetPort: my_port'),
      errors: [
        ['"8080"', 'spec.ports[0].targetPort', 'Invalid value: "8080": must contain at least one letter (a-z)'],
        ['my_port', 'spec.ports[1].targetPort', 'Invalid value: "my_port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
      ],
    },
    {
      rule: 'the same port and protocol twice is a duplicate',
      text: svc('ports:\n- port: 80\n  name: a\n- port: 80\n  name: b'),
      errors: [[['port: 80', 2], 'spec.ports[1]', 'Invalid value: {"port":80,"protocol":"TCP"}: Duplicate value']],
    },
    {
      rule: 'ports are required unless the Service is headless or an ExternalName',
      text: svc('selector: {app: web}'),
      errors: [['selector', 'spec.ports', 'Required value']],
    },
  ]);
});

describe('Service types, addresses and traffic policy (ValidateService)', () => {
  runCases([
    {
      rule: 'a nodePort is forbidden on a ClusterIP Service',
      text: svc('ports:\n- port: 80\n  nodePort: 30080'),
      errors: [['30080', 'spec.ports[0].nodePort', "Forbidden: may not be used when `type` is 'ClusterIP'"]],
    },
    {
      rule: 'a nodePort outside 30000-32767 is refused (the default --service-node-port-range)',
      text: svc('type: NodePort\nports:\n- port: 80\n  nodePort: 8080'),
      errors: [['8080', 'spec.ports[0].nodePort', 'Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767']],
    },
    {
      rule: 'the type is one of four',
      text: svc('type: Ingress\nports:\n- port: 80'),
      errors: [['Ingress', 'spec.type', 'Unsupported value: "Ingress": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"']],
    },
    {
      rule: 'clusterIP None (headless) is only for type ClusterIP',
      text: svc('type: NodePort\nclusterIP: None\nports:\n- port: 80'),
      // clusterIPs is not written: the error is placed at spec, the nearest field there is.
      errors: [['type', 'spec.clusterIPs[0]', `Invalid value: "None": may not be set to 'None' for NodePort services`]],
    },
    {
      rule: 'clusterIPs must start with clusterIP',
      text: svc('clusterIP: 10.96.0.10\nclusterIPs: [10.96.0.11]\nports:\n- port: 80'),
      errors: [['[10.96', 'spec.clusterIPs', 'Invalid value: ["10.96.0.11"]: first value must match `clusterIP`']],
    },
    {
      rule: 'a clusterIP must be an IP address',
      text: svc('clusterIP: 10.96.0.300\nports:\n- port: 80'),
      errors: [['clusterIP', 'spec.clusterIPs[0]', 'Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)']],
    },
    {
      rule: 'two clusterIPs must be of two families',
      text: svc('clusterIP: 10.96.0.10\nclusterIPs: [10.96.0.10, 10.96.0.11]\nports:\n- port: 80'),
      errors: [['[10.96', 'spec.clusterIPs', 'Invalid value: ["10.96.0.10","10.96.0.11"]: may specify no more than one IP for each IP family']],
    },
    {
      rule: 'an ExternalName Service needs externalName and no clusterIP',
      text: svc('type: ExternalName\nclusterIP: 10.96.0.10'),
      errors: [
        ['type', 'spec.clusterIPs', 'Forbidden: may not be set for ExternalName services'],
        ['type', 'spec.externalName', 'Required value'],
      ],
    },
    {
      rule: 'externalName is a DNS-1123 subdomain',
      text: svc('type: ExternalName\nexternalName: DB_HOST'),
      errors: [
        [
          'DB_HOST',
          'spec.externalName',
          `Invalid value: "DB_HOST": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        ],
      ],
    },
    {
      rule: 'externalTrafficPolicy is only for externally-accessible Services',
      text: svc('externalTrafficPolicy: Local\nports:\n- port: 80'),
      errors: [['Local', 'spec.externalTrafficPolicy', 'Invalid value: "Local": may only be set for externally-accessible services']],
    },
    {
      rule: 'externalTrafficPolicy is Cluster or Local',
      text: svc('type: NodePort\nexternalTrafficPolicy: Global\nports:\n- port: 80'),
      errors: [['Global', 'spec.externalTrafficPolicy', 'Unsupported value: "Global": supported values: "Cluster", "Local"']],
    },
    {
      rule: 'selector labels are validated as labels',
      text: svc('selector: {"app/": web}\nports:\n- port: 80'),
      errors: [
        ['§{"app/"', 'spec.selector', 'Invalid value: "app/": name part must be non-empty'],
        [
          '§{"app/"',
          'spec.selector',
          `Invalid value: "app/": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
        ],
      ],
    },
    {
      rule: 'a Service name is a DNS-1035 label: it starts with a letter',
      text: svc('ports:\n- port: 80', '1web'),
      errors: [['1web', 'metadata.name', `Invalid value: "1web": ${DNS1035_LABEL}`]],
      object: 'Service default/1web',
    },
    {
      rule: 'loadBalancerSourceRanges are only for LoadBalancer Services (the apiserver names the field with a capital L)',
      text: svc('loadBalancerSourceRanges: [10.0.0.0/8]\nports:\n- port: 80'),
      errors: [['loadBalancerSourceRanges', 'spec.LoadBalancerSourceRanges', "Forbidden: may only be used when `type` is 'LoadBalancer'"]],
    },
  ]);
});

describe('strict and lenient decoding', () => {
  test('an unknown spec or port field is reported as kubectl --validate=strict does', () => {
    const text = svc('selector: {app: web}\nport: 80\nports:\n- port: 80\n  targetport: 8080');
    assert.deepEqual(errorsOf(text), [
      `s.yaml:${pos(text, 'port: §80')}: Service default/web: spec.port: unknown field "spec.port"`,
      `s.yaml:${pos(text, 'targetport: §8080')}: Service default/web: spec.ports[0].targetport: unknown field "spec.ports[0].targetport"`,
    ]);
  });

  test('status.loadBalancer is checked field by field, and its addresses are kept', () => {
    const text = `${svc('type: LoadBalancer\nports:\n- port: 80')}status:\n  loadBalancer:\n    ingress:\n    - ip: 198.51.100.7\n      ipMode: VIP\n`;
    assert.deepEqual(errorsOf(text), []);
    assert.deepEqual(load(text).cluster!.services![0].loadBalancerIPs, ['198.51.100.7']);
    const typo = `${svc('type: LoadBalancer\nports:\n- port: 80')}status:\n  loadBalancer:\n    ingres: []\n`;
    assert.match(errorsOf(typo)[0], /status\.loadBalancer\.ingres: unknown field/);
  });

  test('objects from an API server ignore fields a newer Kubernetes may add', () => {
    const built = clusterFromObjects([
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ port: 80, futureField: 1 }], futureSpec: true } },
    ]);
    assert.deepEqual(built.diagnostics, []);
    assert.equal(built.cluster!.services![0].name, 'web');
  });

  test('a Service of another API group (Knative) is skipped; a core Service in the wrong version is an error', () => {
    const knative = load('apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: web}\n');
    assert.deepEqual([...knative.skipped], [['Service.serving.knative.dev', 1]]);
    assert.deepEqual(errorsOf('apiVersion: apps/v1\nkind: Service\nmetadata: {name: web}\n'), [
      's.yaml:1:13: Service default/web: apiVersion: no matches for kind "Service" in version "apps/v1" (use v1)',
    ]);
    assert.deepEqual(errorsOf('apiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata: {name: web}\naddressType: IPv4\n'), [
      's.yaml:1:13: EndpointSlice default/web: apiVersion: no matches for kind "EndpointSlice" in version "discovery.k8s.io/v1beta1" (use discovery.k8s.io/v1)',
    ]);
  });

  test('Services and EndpointSlices are modelled, no longer skipped', () => {
    const built = load(`${svc('ports:\n- port: 80')}---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\nendpoints: []\n`);
    assert.deepEqual([...built.skipped], []);
    assert.equal(built.cluster!.services!.length, 1);
    assert.equal(built.cluster!.endpointSlices!.length, 1);
  });

  test('the same Service twice is AlreadyExists, pointing to the first', () => {
    const text = `${svc('ports:\n- port: 80')}---\n${svc('ports:\n- port: 81')}`;
    assert.deepEqual(errorsOf(text), [`s.yaml:${pos(text, 'apiVersion', 2)} (document 2): Service default/web: AlreadyExists: also defined at s.yaml:1`]);
  });
});

describe('defaults (SetDefaults_Service)', () => {
  test('protocol TCP, targetPort = port, type ClusterIP; no selector means none', () => {
    const s = load(svc('ports:\n- port: 80')).cluster!.services![0];
    assert.equal(s.type, 'ClusterIP');
    assert.deepEqual(s.ports, [{ name: undefined, protocol: 'TCP', port: 80, targetPort: 80, nodePort: undefined, appProtocol: undefined }]);
    assert.equal(s.selector, undefined);
    assert.equal(s.externalTrafficPolicy, undefined);
  });

  test('targetPort 0 or "" is the port; a name is kept for per-pod lookup', () => {
    const s = load(svc('selector: {app: web}\nports:\n- {port: 80, name: a, targetPort: 0}\n- {port: 81, name: b, targetPort: ""}\n- {port: 82, name: c, targetPort: http}')).cluster!.services![0];
    assert.deepEqual(
      s.ports.map((p) => p.targetPort),
      [80, 81, 'http'],
    );
  });

  test('an empty selector is no selector ("an external process managing its endpoints")', () => {
    assert.equal(load(svc('selector: {}\nports:\n- port: 80')).cluster!.services![0].selector, undefined);
  });

  test('NodePort and LoadBalancer Services default externalTrafficPolicy to Cluster; ClusterIP with externalIPs too', () => {
    const built = load(
      `${svc('type: NodePort\nports:\n- port: 80')}---\n${svc('type: LoadBalancer\nexternalTrafficPolicy: Local\nports:\n- port: 80', 'lb')}---\n${svc('externalIPs: [192.0.2.1]\nports:\n- port: 80', 'ext')}`,
    );
    assert.deepEqual(
      built.cluster!.services!.map((s) => [s.name, s.externalTrafficPolicy]),
      [
        ['ext', 'Cluster'],
        ['lb', 'Local'],
        ['web', 'Cluster'],
      ],
    );
  });

  test('clusterIP None is headless; clusterIP fills clusterIPs as the create strategy does', () => {
    const built = load(`${svc('clusterIP: None\nselector: {app: db}')}---\n${svc('clusterIP: 10.96.0.10\nports:\n- port: 80', 'api')}`);
    const [api, web] = built.cluster!.services!;
    assert.equal(web.headless, true);
    assert.deepEqual(api.clusterIPs, ['10.96.0.10']);
    assert.equal(api.headless, false);
  });

  test('Services are sorted by namespace, then name; their namespaces exist', () => {
    const text = `${svc('ports:\n- port: 80', 'b')}---\n${svc('ports:\n- port: 80', 'a')}---\napiVersion: v1\nkind: Service\nmetadata: {name: z, namespace: aaa}\nspec: {ports: [{port: 1}]}\n`;
    const cluster = load(text).cluster!;
    assert.deepEqual(
      cluster.services!.map((s) => `${s.namespace}/${s.name}`),
      ['aaa/z', 'default/a', 'default/b'],
    );
    assert.deepEqual(
      cluster.namespaces.map((n) => n.name),
      ['aaa', 'default'],
    );
  });
});

describe('EndpointSlices (ValidateEndpointSlice)', () => {
  const slice = (body: string): string =>
    `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: db-1\n  labels: {kubernetes.io/service-name: db}\n${body}`;

  runCases([
    {
      rule: 'addressType is required and one of FQDN, IPv4, IPv6',
      text: slice('addressType: IPX\n'),
      errors: [['IPX', 'addressType', 'Unsupported value: "IPX": supported values: "FQDN", "IPv4", "IPv6"']],
      object: 'EndpointSlice default/db-1',
    },
    {
      rule: 'an endpoint needs an address of the slice type',
      text: slice('addressType: IPv4\nendpoints:\n- addresses: []\n- addresses: ["fd00::1"]\n'),
      errors: [
        ['[]', 'endpoints[0].addresses', 'Required value: must contain at least 1 address'],
        ['"fd00::1"', 'endpoints[1].addresses[0]', 'Invalid value: "fd00::1": must be a valid IPv4 address'],
      ],
      object: 'EndpointSlice default/db-1',
    },
    {
      rule: 'port names are DNS-1123 labels, unique; ports in range',
      text: slice('addressType: IPv4\nports:\n- {name: sql, port: 0}\n- {name: sql, port: 3306}\n'),
      errors: [
        ['port: §0', 'ports[0].port', `Invalid value: 0: ${PORT_RANGE}`],
        [['name: §sql', 2], 'ports[1].name', 'Invalid value: "sql": Duplicate value'],
      ],
      object: 'EndpointSlice default/db-1',
    },
  ]);

  test('a slice records its Service, its endpoints (ready unless said otherwise) and ports (protocol TCP by default)', () => {
    const text = slice(
      'addressType: IPv4\nendpoints:\n- addresses: [10.1.0.5]\n  conditions: {ready: false}\n  targetRef: {kind: Pod, name: db-0, namespace: default}\n- addresses: [192.0.2.10]\nports:\n- {name: sql, port: 3306}\n',
    );
    const s = load(text).cluster!.endpointSlices![0];
    assert.equal(s.serviceName, 'db');
    assert.deepEqual(
      s.endpoints.map((e) => [e.addresses, e.ready, e.targetRef?.name]),
      [
        [['10.1.0.5'], false, 'db-0'],
        [['192.0.2.10'], true, undefined],
      ],
    );
    assert.deepEqual(s.ports, [{ name: 'sql', protocol: 'TCP', port: 3306 }]);
  });

  test('an unknown endpoint field is reported', () => {
    const text = slice('addressType: IPv4\nendpoints:\n- addresses: [10.1.0.5]\n  ready: true\n');
    assert.deepEqual(errorsOf(text), [`s.yaml:${pos(text, 'ready: §true')}: EndpointSlice default/db-1: endpoints[0].ready: unknown field "endpoints[0].ready"`]);
  });
});

describe('the wild applications', () => {
  test('the LoadBalancer with a loadBalancerIP and externalTrafficPolicy Local (aks-regulated) loads as written', () => {
    const text = svc(
      'type: LoadBalancer\nexternalTrafficPolicy: Local\nipFamilies: [IPv4]\nipFamilyPolicy: SingleStack\nloadBalancerIP: 10.240.4.4\nselector: {app: ingress}\nports:\n- {appProtocol: https, name: https, port: 443, protocol: TCP, targetPort: https}',
      'ingress-nginx-controller',
    );
    const s = load(text).cluster!.services![0];
    assert.deepEqual([s.type, s.externalTrafficPolicy, s.loadBalancerIPs, s.ports[0].targetPort], ['LoadBalancer', 'Local', ['10.240.4.4'], 'https']);
  });
});
