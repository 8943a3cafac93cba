// Every validation error Podwall reports, checked as rendered (file:line:col, object, field
// path, apiserver wording), and the rules by which manifests become a Cluster.
// Wording: k8s.io/kubernetes pkg/apis/networking/validation/validation.go (ValidateNetworkPolicy),
// k8s.io/apimachinery pkg/util/validation (IsValidPortNum, IsValidPortName, IsQualifiedName,
// IsValidLabelValue, IsDNS1123Label/Subdomain; the released wording, "characters"), apimachinery
// pkg/apis/meta/v1/validation (ValidateLabelSelector) and pkg/api/validation/ip.go (CIDRs).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic, loadTexts, NAMESPACE_NAME_LABEL, type BuildResult } from './index.js';

// ---------------------------------------------------------------------------------------------

function load(text: string | { file: string; text: string }[], namespace?: string): BuildResult {
  return loadTexts(typeof text === 'string' ? [{ file: 'p.yaml', text }] : text, namespace);
}

function errorsOf(text: string | { file: string; text: string }[], namespace?: string): string[] {
  return load(text, namespace)
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);
}

/**
 * `line:col` (1-based) of the nth occurrence of `marker` in `text`, computed from the text alone
 * so that expected positions do not depend on the YAML library.
 */
function pos(text: string, marker: string, nth = 1): string {
  let at = -1;
  for (let i = 0; i < nth; i++) {
    at = text.indexOf(marker, at + 1);
    assert.ok(at >= 0, `marker ${JSON.stringify(marker)} #${nth} not in text`);
  }
  const before = text.slice(0, at).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

/** A NetworkPolicy default/db-policy whose spec is `spec` (written at column 1, indented here). */
function np(spec: string, metadata = 'name: db-policy'): string {
  const indent = (s: string, by: string): string =>
    s
      .replace(/^\n/, '')
      .split('\n')
      .map((l) => (l === '' ? l : by + l))
      .join('\n');
  return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
${indent(metadata, '  ')}
spec:
${indent(spec, '  ')}
`;
}

const OBJ = 'NetworkPolicy default/db-policy';

// Messages as the apiserver words them.
const PORT_RANGE = 'must be between 1 and 65535, inclusive';
const CIDR_INVALID = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';
const QUALIFIED_NAME =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const DNS1123_SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

interface Case {
  readonly rule: string;
  readonly text: string;
  /** [marker in text (its position is the error's), field, message], in reporting order. */
  readonly errors: readonly (readonly [marker: string | [string, number], field: string, message: string])[];
  readonly object?: string;
}

function runCases(cases: readonly Case[]): void {
  for (const c of cases) {
    test(c.rule, () => {
      const want = c.errors.map(([marker, field, message]) => {
        const [m, nth] = typeof marker === 'string' ? [marker, 1] : marker;
        return `p.yaml:${pos(c.text, m, nth)}: ${c.object ?? OBJ}: ${field}: ${message}`;
      });
      assert.deepEqual(errorsOf(c.text), want);
    });
  }
}

// ---------------------------------------------------------------------------------------------

describe('the example from the brief, fully literal', () => {
  test('endPort below port is reported at the endPort value', () => {
    const text = `# The database accepts the API server only.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-policy
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          role: api
    ports:
    - protocol: TCP
      port: 80
      endPort: 79
`;
    assert.deepEqual(errorsOf(text), [
      'p.yaml:21:16: NetworkPolicy default/db-policy: spec.ingress[0].ports[0].endPort: Invalid value: 79: must be greater than or equal to `port`',
    ]);
  });
});

describe('ports (ValidateNetworkPolicyPort)', () => {
  runCases([
    {
      rule: 'a numeric port above 65535 is out of range',
      text: np('podSelector: {}\ningress:\n- ports:\n  - port: 70000'),
      errors: [['70000', 'spec.ingress[0].ports[0].port', `Invalid value: 70000: ${PORT_RANGE}`]],
    },
    {
      rule: 'port 0 is out of range',
      text: np('podSelector: {}\negress:\n- ports:\n  - port: 0'),
      errors: [['0\n', 'spec.egress[0].ports[0].port', `Invalid value: 0: ${PORT_RANGE}`]],
    },
    {
      rule: 'endPort must be greater than or equal to port',
      text: np('podSelector: {}\ningress:\n- ports:\n  - port: 8080\n    endPort: 8000'),
      errors: [['8000', 'spec.ingress[0].ports[0].endPort', 'Invalid value: 8000: must be greater than or equal to `port`']],
    },
    {
      rule: 'endPort above 65535 is out of range',
      text: np('podSelector: {}\ningress:\n- ports:\n  - port: 8080\n    endPort: 65536'),
      errors: [['65536', 'spec.ingress[0].ports[0].endPort', `Invalid value: 65536: ${PORT_RANGE}`]],
    },
    {
      rule: 'endPort may not be specified with a named port',
      text: np('podSelector: {}\ningress:\n- ports:\n  - port: http\n    endPort: 90'),
      errors: [['90', 'spec.ingress[0].ports[0].endPort', 'Invalid value: 90: may not be specified when `port` is non-numeric']],
    },
    {
      rule: 'endPort may not be specified without port',
      text: np('podSelector: {}\ningress:\n- ports:\n  - protocol: UDP\n    endPort: 90'),
      errors: [['90', 'spec.ingress[0].ports[0].endPort', 'Invalid value: 90: may not be specified when `port` is not specified']],
    },
    {
      rule: 'a protocol other than TCP, UDP and SCTP is not supported',
      text: np('podSelector: {}\ningress:\n- ports:\n  - protocol: ICMP\n    port: 80'),
      errors: [['ICMP', 'spec.ingress[0].ports[0].protocol', 'Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"']],
    },
    {
      rule: 'protocol names are case-sensitive',
      text: np('podSelector: {}\ningress:\n- ports:\n  - protocol: tcp'),
      errors: [['tcp', 'spec.ingress[0].ports[0].protocol', 'Unsupported value: "tcp": supported values: "TCP", "UDP", "SCTP"']],
    },
  ]);

  describe('named ports (IsValidPortName, one error per broken rule)', () => {
    const named = (name: string): string => np(`podSelector: {}\ningress:\n- ports:\n  - port: "${name}"`);
    const cases: { rule: string; name: string; messages: string[] }[] = [
      { rule: 'a port name is at most 15 characters', name: 'this-is-too-long', messages: ['must be no more than 15 characters'] },
      {
        rule: 'a port name has only lower-case letters, digits and hyphens',
        name: 'web_http',
        messages: ['must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
      },
      {
        rule: 'an upper-case port name breaks both the charset and the one-letter rules',
        name: 'HTTP',
        messages: ['must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)', 'must contain at least one letter (a-z)'],
      },
      { rule: 'a quoted number is a port name and needs a letter', name: '8080', messages: ['must contain at least one letter (a-z)'] },
      { rule: 'a port name has no consecutive hyphens', name: 'web--http', messages: ['must not contain consecutive hyphens'] },
      { rule: 'a port name neither begins nor ends with a hyphen', name: 'http-', messages: ['must not begin or end with a hyphen'] },
    ];
    for (const { rule, name, messages } of cases) {
      test(rule, () => {
        const text = named(name);
        const at = pos(text, `"${name}"`);
        assert.deepEqual(
          errorsOf(text),
          messages.map((m) => `p.yaml:${at}: ${OBJ}: spec.ingress[0].ports[0].port: Invalid value: "${name}": ${m}`),
        );
      });
    }
  });
});

describe('policyTypes', () => {
  runCases([
    {
      rule: 'a policyTypes value other than Ingress and Egress is not supported',
      text: np('podSelector: {}\npolicyTypes: [Ingress, Outbound]'),
      errors: [['Outbound', 'spec.policyTypes[1]', 'Unsupported value: "Outbound": supported values: "Ingress", "Egress"']],
    },
    {
      // The apiserver prints the Go value (%#v of []networking.PolicyType); Podwall prints JSON.
      rule: 'policyTypes may not hold more than two entries',
      text: np('podSelector: {}\npolicyTypes: [Ingress, Egress, Bogus]'),
      errors: [['[Ingress', 'spec.policyTypes', 'Invalid value: ["Ingress","Egress","Bogus"]: may not specify more than two policyTypes']],
    },
  ]);
});

describe('peers (ValidateNetworkPolicyPeer, ValidateIPBlock)', () => {
  runCases([
    {
      rule: 'a peer with no selector and no ipBlock must specify a peer',
      text: np('podSelector: {}\ningress:\n- from:\n  - {}'),
      errors: [[['{}', 2], 'spec.ingress[0].from[0]', 'Required value: must specify a peer']],
    },
    {
      rule: 'a peer whose selectors are null specifies no peer',
      text: np('podSelector: {}\negress:\n- to:\n  - podSelector: null'),
      errors: [['podSelector: null', 'spec.egress[0].to[0]', 'Required value: must specify a peer']],
    },
    {
      rule: 'ipBlock may not be combined with another peer',
      text: np('podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8}\n    namespaceSelector: {}'),
      errors: [['ipBlock: {', 'spec.ingress[0].from[0]', 'Forbidden: may not specify both ipBlock and another peer']],
    },
    {
      rule: 'ipBlock requires cidr',
      text: np('podSelector: {}\ningress:\n- from:\n  - ipBlock:\n      except: [10.0.0.0/24]'),
      errors: [['except', 'spec.ingress[0].from[0].ipBlock.cidr', 'Required value']],
    },
    {
      rule: 'a prefix longer than the address is not a valid CIDR',
      text: np('podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/33}'),
      errors: [['10.0.0.0/33', 'spec.ingress[0].from[0].ipBlock.cidr', `Invalid value: "10.0.0.0/33": ${CIDR_INVALID}`]],
    },
    {
      rule: 'an address without a prefix length is not a valid CIDR',
      text: np('podSelector: {}\negress:\n- to:\n  - ipBlock: {cidr: 10.0.0.1}'),
      errors: [['10.0.0.1', 'spec.egress[0].to[0].ipBlock.cidr', `Invalid value: "10.0.0.1": ${CIDR_INVALID}`]],
    },
    {
      rule: 'a CIDR with bits set beyond the prefix length is invalid',
      text: np('podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.1.2.3/16}'),
      errors: [['10.1.2.3/16', 'spec.ingress[0].from[0].ipBlock.cidr', 'Invalid value: "10.1.2.3/16": must not have bits set beyond the prefix length']],
    },
    {
      rule: 'a CIDR with leading zeros in the address is invalid',
      text: np('podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 010.0.0.0/8}'),
      errors: [['010.0.0.0/8', 'spec.ingress[0].from[0].ipBlock.cidr', 'Invalid value: "010.0.0.0/8": must not have leading 0s in IP or prefix length']],
    },
    {
      rule: 'a CIDR with leading zeros in the prefix length is invalid',
      text: np('podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/08}'),
      errors: [['10.0.0.0/08', 'spec.ingress[0].from[0].ipBlock.cidr', 'Invalid value: "10.0.0.0/08": must not have leading 0s in IP or prefix length']],
    },
    {
      rule: 'an IPv4-mapped IPv6 CIDR is invalid',
      text: np('podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: "::ffff:10.0.0.0/104"}'),
      errors: [['"::ffff', 'spec.ingress[0].from[0].ipBlock.cidr', 'Invalid value: "::ffff:10.0.0.0/104": must not have an IPv4-mapped IPv6 address']],
    },
    {
      rule: 'every except entry must be a strict subset of cidr',
      text: np(
        'podSelector: {}\ningress:\n- from:\n  - ipBlock:\n      cidr: 10.0.0.0/16\n      except:\n      - 10.0.0.0/16\n      - 10.1.0.0/24\n      - 10.0.1.0/24\n      - fd00::/64\n      - 10.0.0.0/8',
      ),
      errors: [
        [['10.0.0.0/16', 2], 'spec.ingress[0].from[0].ipBlock.except[0]', 'Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`'],
        ['10.1.0.0/24', 'spec.ingress[0].from[0].ipBlock.except[1]', 'Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`'],
        ['fd00::/64', 'spec.ingress[0].from[0].ipBlock.except[3]', 'Invalid value: "fd00::/64": must be a strict subset of `cidr`'],
        ['10.0.0.0/8', 'spec.ingress[0].from[0].ipBlock.except[4]', 'Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`'],
      ],
    },
    {
      rule: 'an invalid except entry is reported with the CIDR message',
      text: np('podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/40]}'),
      errors: [['10.0.0.0/40', 'spec.ingress[0].from[0].ipBlock.except[0]', `Invalid value: "10.0.0.0/40": ${CIDR_INVALID}`]],
    },
  ]);
});

describe('label selectors (ValidateLabelSelector)', () => {
  runCases([
    {
      rule: 'a matchLabels key must be a qualified name (reported at the map)',
      text: np('podSelector:\n  matchLabels:\n    -bad: x'),
      errors: [['-bad', 'spec.podSelector.matchLabels', `Invalid value: "-bad": ${QUALIFIED_NAME}`]],
    },
    {
      rule: 'a matchLabels key prefix must be a DNS subdomain',
      text: np('podSelector:\n  matchLabels:\n    Example.com/app: x'),
      errors: [['Example.com', 'spec.podSelector.matchLabels', `Invalid value: "Example.com/app": prefix part ${DNS1123_SUBDOMAIN}`]],
    },
    {
      rule: 'a matchLabels value must be a valid label value',
      text: np('podSelector: {}\ningress:\n- from:\n  - namespaceSelector:\n      matchLabels:\n        team: "a b"'),
      errors: [['team', 'spec.ingress[0].from[0].namespaceSelector.matchLabels', `Invalid value: "a b": ${LABEL_VALUE}`]],
    },
    {
      rule: 'a label value longer than 63 characters is invalid',
      text: np(`podSelector:\n  matchLabels:\n    app: ${'a'.repeat(64)}`),
      errors: [['app:', 'spec.podSelector.matchLabels', `Invalid value: "${'a'.repeat(64)}": must be no more than 63 characters`]],
    },
    {
      rule: 'a matchExpressions key must be a qualified name',
      text: np('podSelector:\n  matchExpressions:\n  - {key: "bad key", operator: Exists}'),
      errors: [['"bad key"', 'spec.podSelector.matchExpressions[0].key', `Invalid value: "bad key": ${QUALIFIED_NAME}`]],
    },
    {
      rule: 'matchExpressions values must be valid label values',
      text: np('podSelector:\n  matchExpressions:\n  - {key: app, operator: In, values: [ok, "-bad"]}'),
      errors: [['"-bad"', 'spec.podSelector.matchExpressions[0].values[1]', `Invalid value: "-bad": ${LABEL_VALUE}`]],
    },
    {
      rule: 'an operator other than In, NotIn, Exists and DoesNotExist is invalid',
      text: np('podSelector:\n  matchExpressions:\n  - {key: app, operator: Equals, values: [web]}'),
      errors: [['Equals', 'spec.podSelector.matchExpressions[0].operator', 'Invalid value: "Equals": not a valid selector operator']],
    },
    {
      rule: 'In requires values',
      text: np('podSelector:\n  matchExpressions:\n  - key: app\n    operator: In'),
      errors: [['key: app', 'spec.podSelector.matchExpressions[0].values', "Required value: must be specified when `operator` is 'In' or 'NotIn'"]],
    },
    {
      rule: 'NotIn with an empty values list requires values',
      text: np('podSelector:\n  matchExpressions:\n  - key: app\n    operator: NotIn\n    values: []'),
      errors: [['[]', 'spec.podSelector.matchExpressions[0].values', "Required value: must be specified when `operator` is 'In' or 'NotIn'"]],
    },
    {
      rule: 'Exists forbids values',
      text: np('podSelector:\n  matchExpressions:\n  - key: app\n    operator: Exists\n    values: [web]'),
      errors: [['[web]', 'spec.podSelector.matchExpressions[0].values', "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"]],
    },
  ]);
});

describe('metadata (ValidateObjectMeta)', () => {
  runCases([
    {
      rule: 'metadata.name is required',
      text: np('podSelector: {}', 'labels: {app: x}'),
      object: 'NetworkPolicy default/',
      errors: [['labels', 'metadata.name', 'Required value: name or generateName is required']],
    },
    {
      rule: 'a NetworkPolicy name must be a DNS subdomain',
      text: np('podSelector: {}', 'name: DB_Policy'),
      object: 'NetworkPolicy default/DB_Policy',
      errors: [['DB_Policy', 'metadata.name', `Invalid value: "DB_Policy": ${DNS1123_SUBDOMAIN}`]],
    },
    {
      rule: 'a namespace must be a DNS label',
      text: np('podSelector: {}', 'name: db-policy\nnamespace: prod.eu'),
      object: 'NetworkPolicy prod.eu/db-policy',
      errors: [['prod.eu', 'metadata.namespace', `Invalid value: "prod.eu": ${DNS1123_LABEL}`]],
    },
    {
      rule: 'metadata.labels are validated like selector labels',
      text: np('podSelector: {}', 'name: db-policy\nlabels: {"a/b/c": x}'),
      errors: [
        [
          '{"a/b/c"',
          'metadata.labels',
          `Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
        ],
      ],
    },
  ]);
});

describe('decoding: unknown fields and wrong types', () => {
  runCases([
    {
      // Strict field validation (kubectl --validate=strict): `unknown field "spec.ingres"`.
      rule: 'an unknown field is reported with its path (a typo is not ignored)',
      text: np('podSelector: {}\ningres:\n- from: [{podSelector: {}}]'),
      errors: [['- from', 'spec.ingres', 'unknown field "spec.ingres"']],
    },
    {
      rule: 'an unknown field in a list item names the item',
      text: np('podSelector: {}\ningress:\n- from: [{podSelector: {}, podselector: {}}]'),
      errors: [['{}}]', 'spec.ingress[0].from[0].podselector', 'unknown field "spec.ingress[0].from[0].podselector"']],
    },
    {
      rule: 'a selector given as a string has the wrong type',
      text: np('podSelector: "x"'),
      errors: [['"x"', 'spec.podSelector', 'Invalid value: "x": must be an object']],
    },
    {
      rule: 'a rule list given as a map has the wrong type',
      text: np('podSelector: {}\ningress: {from: []}'),
      errors: [['{from', 'spec.ingress', 'Invalid value: {"from":[]}: must be a list']],
    },
    {
      rule: 'endPort given as a string has the wrong type',
      text: np('podSelector: {}\ningress:\n- ports: [{port: 80, endPort: "90"}]'),
      errors: [['"90"', 'spec.ingress[0].ports[0].endPort', 'Invalid value: "90": must be an integer']],
    },
  ]);
});

describe('files: syntax, documents, lists, several errors', () => {
  test('a YAML syntax error is reported with its line and column', () => {
    const cases: { text: string; error: string }[] = [
      {
        text: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n labels: x\nspec: {}\n',
        error: 'p.yaml:5:1: YAML syntax error: All mapping items must start at the same column',
      },
      {
        text: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web: x\nspec: {}\n',
        error: 'p.yaml:4:9: YAML syntax error: Nested mappings are not allowed in compact mappings',
      },
      {
        // An unclosed flow map is only known to be unclosed at the end of the input.
        text: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {app: web\n',
        error: 'p.yaml:6:1: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }',
      },
    ];
    for (const { text, error } of cases) {
      assert.deepEqual(errorsOf(text), [error]);
      assert.equal(load(text).cluster, undefined);
    }
  });

  test('a YAML syntax error names its document in a multi-document file', () => {
    const text = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web: x\n';
    assert.deepEqual(errorsOf(text), ['p.yaml:8:9 (document 2): YAML syntax error: Nested mappings are not allowed in compact mappings']);
  });

  test('a duplicate key is a YAML error', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n';
    assert.deepEqual(errorsOf(text), ['p.yaml:5:3: YAML syntax error: Map keys must be unique']);
  });

  test('errors in a multi-document file name the document', () => {
    const first = np('podSelector: {}', 'name: first');
    const second = np('podSelector: {}\ningress:\n- ports: [{port: 0}]', 'name: second');
    const text = `${first}---\n${second}`;
    assert.deepEqual(errorsOf(text), [
      `p.yaml:${pos(text, '0}]')} (document 2): NetworkPolicy default/second: spec.ingress[0].ports[0].port: Invalid value: 0: ${PORT_RANGE}`,
    ]);
  });

  test('errors in a List item carry the items[i] prefix', () => {
    const text = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: web}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: db-policy}
  spec:
    podSelector: {}
    egress:
    - to: [{ipBlock: {cidr: 10.0.0.1/8}}]
`;
    assert.deepEqual(errorsOf(text), [
      `p.yaml:${pos(text, '10.0.0.1/8')}: ${OBJ}: items[1].spec.egress[0].to[0].ipBlock.cidr: Invalid value: "10.0.0.1/8": must not have bits set beyond the prefix length`,
    ]);
  });

  test('every error is reported, not just the first, in reading order', () => {
    const text = np(
      'podSelector:\n  matchExpressions: [{key: app, operator: In}]\ningress:\n- from: [{}]\n  ports: [{port: 0, protocol: ICMP}]\npolicyTypes: [Sideways]',
      'name: Bad_Name',
    );
    assert.deepEqual(errorsOf(text), [
      `p.yaml:${pos(text, 'Bad_Name')}: NetworkPolicy default/Bad_Name: metadata.name: Invalid value: "Bad_Name": ${DNS1123_SUBDOMAIN}`,
      `p.yaml:${pos(text, '{key')}: NetworkPolicy default/Bad_Name: spec.podSelector.matchExpressions[0].values: Required value: must be specified when \`operator\` is 'In' or 'NotIn'`,
      `p.yaml:${pos(text, '{}]')}: NetworkPolicy default/Bad_Name: spec.ingress[0].from[0]: Required value: must specify a peer`,
      `p.yaml:${pos(text, '0, protocol')}: NetworkPolicy default/Bad_Name: spec.ingress[0].ports[0].port: Invalid value: 0: ${PORT_RANGE}`,
      `p.yaml:${pos(text, 'ICMP')}: NetworkPolicy default/Bad_Name: spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"`,
      `p.yaml:${pos(text, 'Sideways')}: NetworkPolicy default/Bad_Name: spec.policyTypes[0]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"`,
    ]);
  });

  test('errors from several files are all reported, each with its file', () => {
    const errors = errorsOf([
      { file: 'a.yaml', text: np('podSelector: "x"') },
      { file: 'b.yaml', text: np('podSelector: {}\npolicyTypes: [Bogus]', 'name: other') },
    ]);
    assert.equal(errors.length, 2);
    assert.match(errors[0], /^a\.yaml:6:16: NetworkPolicy default\/db-policy: spec\.podSelector: /);
    assert.match(errors[1], /^b\.yaml:7:17: NetworkPolicy default\/other: spec\.policyTypes\[0\]: /);
  });

  test('an invalid policy yields no cluster, even beside valid objects', () => {
    const result = load([
      { file: 'pods.yaml', text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n' },
      { file: 'p.yaml', text: np('podSelector: {}\ningress:\n- ports: [{port: 0}]') },
    ]);
    assert.equal(result.cluster, undefined);
    assert.equal(result.diagnostics.filter((d) => d.severity === 'error').length, 1);
  });
});

describe('objects the apiserver would reject', () => {
  test('a NetworkPolicy in extensions/v1beta1 is rejected: only networking.k8s.io/v1 is served', () => {
    const text = np('podSelector: {}').replace('networking.k8s.io/v1', 'extensions/v1beta1');
    assert.deepEqual(errorsOf(text), [
      'p.yaml:1:13: NetworkPolicy default/db-policy: apiVersion: no matches for kind "NetworkPolicy" in version "extensions/v1beta1" (use networking.k8s.io/v1)',
    ]);
  });

  test('a NetworkPolicy in networking.k8s.io/v1beta1 is rejected', () => {
    const text = np('podSelector: {}').replace('networking.k8s.io/v1', 'networking.k8s.io/v1beta1');
    assert.match(errorsOf(text)[0], /^p\.yaml:1:13: .*no matches for kind "NetworkPolicy" in version "networking\.k8s\.io\/v1beta1"/);
  });

  test('a NetworkPolicy in the core group (apiVersion: v1) is rejected, not skipped', () => {
    const text = np('podSelector: {}').replace('networking.k8s.io/v1', 'v1');
    assert.deepEqual(errorsOf(text), [
      'p.yaml:1:13: NetworkPolicy default/db-policy: apiVersion: no matches for kind "NetworkPolicy" in version "v1" (use networking.k8s.io/v1)',
    ]);
  });

  test('a NetworkPolicy of another API group (a CNI CRD) is skipped, not rejected', () => {
    const result = load(np('podSelector: {}').replace('networking.k8s.io/v1', 'crd.projectcalico.org/v1'));
    assert.deepEqual(result.diagnostics, []);
    assert.deepEqual([...result.skipped], [['NetworkPolicy.crd.projectcalico.org', 1]]);
  });

  test('the same object twice is reported at the second, pointing to the first', () => {
    const policy = np('podSelector: {}');
    const text = `${policy}---\n${policy}`;
    assert.deepEqual(errorsOf(text), [`p.yaml:${pos(text, 'apiVersion', 2)} (document 2): ${OBJ}: AlreadyExists: also defined at p.yaml:1`]);
  });

  test('a namespace repeated with the same labels is a notice, with different labels an error', () => {
    const ns = (labels: string): string => `apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: ${labels}}\n`;
    const same = load(`${ns('{team: red}')}---\n${ns('{team: red}')}`);
    assert.ok(same.cluster);
    assert.deepEqual(same.diagnostics.map((d) => `${d.severity}: ${formatDiagnostic(d)}`), [
      'notice: p.yaml:5:1 (document 2): Namespace shop: defined again with the same labels (first at p.yaml:1); the first definition is used',
    ]);
    assert.deepEqual(errorsOf(`${ns('{team: red}')}---\n${ns('{team: blue}')}`), [
      'p.yaml:5:1 (document 2): Namespace shop: AlreadyExists: also defined at p.yaml:1',
    ]);
  });

  test('the same name in another namespace is not a duplicate', () => {
    const text = `${np('podSelector: {}')}---\n${np('podSelector: {}', 'name: db-policy\nnamespace: other')}`;
    assert.deepEqual(errorsOf(text), []);
  });

  test('a Deployment whose selector does not match its template labels is rejected', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: frontend}
    spec:
      containers: [{name: web, image: nginx}]
`;
    assert.deepEqual(errorsOf(text), [
      `p.yaml:${pos(text, '{app: frontend}')}: Deployment default/web: spec.template.metadata.labels: Invalid value: {"app":"frontend"}: \`selector\` does not match template \`labels\``,
    ]);
  });

  test('a Deployment with an empty selector is rejected', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
`;
    assert.deepEqual(errorsOf(text), [
      `p.yaml:5:13: Deployment default/web: spec.selector: Invalid value: {"matchLabels":{},"matchExpressions":[]}: empty selector is invalid for deployment`,
    ]);
  });

  test('a pod container port out of range is rejected', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - name: web
    image: nginx
    ports:
    - containerPort: 0
    - containerPort: 8080
      name: Web_Port
`;
    assert.deepEqual(errorsOf(text), [
      `p.yaml:9:22: Pod shop/web: spec.containers[0].ports[0].containerPort: Invalid value: 0: ${PORT_RANGE}`,
      'p.yaml:11:13: Pod shop/web: spec.containers[0].ports[1].name: Invalid value: "Web_Port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
    ]);
  });

  test('a pod container port without containerPort is rejected', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: web\n    ports:\n    - name: http\n';
    assert.deepEqual(errorsOf(text), ['p.yaml:8:7: Pod default/web: spec.containers[0].ports[0].containerPort: Required value']);
  });

  test('an object without kind is rejected', () => {
    assert.deepEqual(errorsOf('apiVersion: v1\nmetadata: {name: x}\n'), ['p.yaml:1:1: kind: Required value: kind must be set']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('loading rules', () => {
  const pod = (name: string, extra = ''): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
${extra}spec:
  containers: [{name: c, image: i}]
`;

  test('a multi-document file yields every object', () => {
    const result = load(`${pod('a')}---\n${pod('b')}---\n${np('podSelector: {}')}`);
    assert.deepEqual(
      result.cluster!.endpoints.map((e) => e.id),
      ['default/a', 'default/b'],
    );
    assert.deepEqual(
      result.cluster!.policies.map((p) => p.name),
      ['db-policy'],
    );
  });

  test('an empty document after a trailing separator is ignored', () => {
    assert.deepEqual(errorsOf(`${pod('a')}---\n`), []);
  });

  test('a kind: List is flattened into its items', () => {
    const text = `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Pod, metadata: {name: a}}
- {apiVersion: v1, kind: Pod, metadata: {name: b, namespace: other}}
`;
    assert.deepEqual(
      load(text).cluster!.endpoints.map((e) => e.id),
      ['default/a', 'other/b'],
    );
  });

  test('objects without a namespace go to the given default namespace', () => {
    const result = load(`${pod('a')}---\n${np('podSelector: {}')}---\n${pod('b', '  namespace: kept\n')}`, 'prod');
    assert.deepEqual(
      result.cluster!.endpoints.map((e) => e.id),
      ['kept/b', 'prod/a'],
    );
    assert.deepEqual(
      result.cluster!.policies.map((p) => `${p.namespace}/${p.name}`),
      ['prod/db-policy'],
    );
  });

  test('an undeclared namespace exists with only the kubernetes.io/metadata.name label', () => {
    const ns = load(pod('a', '  namespace: shop\n')).cluster!.namespaces;
    assert.deepEqual(
      ns.map((n) => ({ name: n.name, labels: n.labels, declared: n.declared })),
      [{ name: 'shop', labels: { [NAMESPACE_NAME_LABEL]: 'shop' }, declared: false }],
    );
  });

  test('a declared namespace keeps its labels and gets kubernetes.io/metadata.name too', () => {
    const text = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {team: red, kubernetes.io/metadata.name: spoofed}
---
${pod('a', '  namespace: shop\n')}`;
    const ns = load(text).cluster!.namespaces;
    assert.deepEqual(
      ns.map((n) => ({ name: n.name, labels: n.labels, declared: n.declared })),
      [{ name: 'shop', labels: { team: 'red', [NAMESPACE_NAME_LABEL]: 'shop' }, declared: true }],
    );
  });

  test('a namespace used only by a policy exists', () => {
    const ns = load(np('podSelector: {}', 'name: p\nnamespace: quiet')).cluster!.namespaces;
    assert.deepEqual(
      ns.map((n) => n.name),
      ['quiet'],
    );
  });

  test('workloads become ns/kind/name endpoints with template labels, ports and replicas', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {owner: me}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{name: http, containerPort: 80}, {containerPort: 53, protocol: UDP}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  serviceName: db
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: shop}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: backup}}
        spec: {restartPolicy: Never, containers: [{name: b, image: busybox}]}
`;
    const endpoints = load(text).cluster!.endpoints;
    assert.deepEqual(
      endpoints.map((e) => ({ id: e.id, kind: e.kind, labels: e.labels, ports: e.ports, replicas: e.replicas, ips: e.ips })),
      [
        { id: 'shop/cronjob/backup', kind: 'CronJob', labels: { app: 'backup' }, ports: [], replicas: 1, ips: [] },
        { id: 'shop/statefulset/db', kind: 'StatefulSet', labels: { app: 'db' }, ports: [], replicas: 1, ips: [] },
        {
          id: 'shop/deployment/web',
          kind: 'Deployment',
          labels: { app: 'web', tier: 'front' },
          ports: [
            { name: 'http', containerPort: 80, protocol: 'TCP' },
            { name: undefined, containerPort: 53, protocol: 'UDP' },
          ],
          replicas: 3,
          ips: [],
        },
      ],
    );
  });

  test('pods owned by a workload in the input are not counted twice', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d9f8-abcde
  labels: {app: web, pod-template-hash: 5d9f8}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9f8, controller: true, uid: "1"}]
spec: {containers: [{name: web, image: nginx}]}
status: {podIP: 10.0.0.5}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-7c6b-xyz
  labels: {app: api, pod-template-hash: 7c6b}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-7c6b, controller: true, uid: "2"}]
spec: {containers: [{name: api, image: api}]}
`;
    assert.deepEqual(
      load(text).cluster!.endpoints.map((e) => e.id),
      ['default/api-7c6b-xyz', 'default/deployment/web'],
    );
  });

  test('a pod records status.podIPs, the first being the primary', () => {
    const text = `${pod('a')}status:\n  podIP: 10.0.0.5\n  podIPs: [{ip: 10.0.0.5}, {ip: "fd00::5"}]\n`;
    assert.deepEqual(load(text).cluster!.endpoints[0].ips, ['10.0.0.5', 'fd00::5']);
  });

  test('other kinds are counted in skipped, by kind (and group for other API groups)', () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: x}
`;
    const result = load(text);
    assert.ok(result.cluster);
    assert.deepEqual(
      [...result.skipped.entries()].sort(),
      [
        ['CiliumNetworkPolicy.cilium.io', 1],
        ['ConfigMap', 2],
        ['Ingress', 1],
      ],
    );
    assert.deepEqual(result.cluster.endpoints, []);
  });
});

describe('built-in kinds in the wrong group or version', () => {
  test('a Pod in apps/v1 or a Deployment in v1 is an error, not skipped: the apiserver serves no such thing', () => {
    assert.deepEqual(errorsOf('apiVersion: apps/v1\nkind: Pod\nmetadata: {name: web}\n'), [
      'p.yaml:1:13: Pod default/web: apiVersion: no matches for kind "Pod" in version "apps/v1" (use v1)',
    ]);
    assert.deepEqual(errorsOf('apiVersion: v1\nkind: Deployment\nmetadata: {name: web}\n'), [
      'p.yaml:1:13: Deployment default/web: apiVersion: no matches for kind "Deployment" in version "v1" (use apps/v1)',
    ]);
    assert.deepEqual(errorsOf('apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: nightly}\n'), [
      'p.yaml:1:13: CronJob default/nightly: apiVersion: no matches for kind "CronJob" in version "batch/v1beta1" (use batch/v1)',
    ]);
  });

  test('a kind of the same name in another API group (a CRD) is skipped', () => {
    const r = load('apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: web}\n');
    assert.equal(r.cluster?.endpoints.length, 0);
    assert.equal(r.skipped.get('Deployment.example.com'), 1);
  });
});

describe('pod fields NetworkPolicy depends on', () => {
  test('container port names must be unique across the pod (a named port must mean one port)', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: a
    ports: [{name: http, containerPort: 80}]
  - name: b
    ports: [{name: http, containerPort: 8080}]
`;
    assert.deepEqual(errorsOf(text), [
      `p.yaml:${pos(text, 'http, containerPort: 8080')}: Pod default/web: spec.containers[1].ports[0].name: Invalid value: "http": Duplicate value`,
    ]);
  });

  test('status.podIPs holds at most one address per family', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nstatus:\n  podIPs: [{ip: 10.0.0.1}, {ip: 10.0.0.2}]\n';
    assert.deepEqual(errorsOf(text), [
      `p.yaml:${pos(text, '[{ip')}: Pod default/web: status.podIPs: Invalid value: "10.0.0.2": may specify no more than one IP for each IP family`,
    ]);
  });
});

describe('terminated pods', () => {
  test('a pod that has terminated (Succeeded or Failed) keeps no address: another pod may already hold it', () => {
    const text = (phase: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: job-1}\nstatus: {phase: ${phase}, podIP: 10.0.0.1}\n`;
    assert.deepEqual(load(text('Succeeded')).cluster!.endpoints[0].ips, []);
    assert.deepEqual(load(text('Failed')).cluster!.endpoints[0].ips, []);
    assert.deepEqual(load(text('Running')).cluster!.endpoints[0].ips, ['10.0.0.1']);
  });
});
