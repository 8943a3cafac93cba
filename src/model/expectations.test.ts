// Expectations files are decoded strictly: every error is reported at its file:line:col with the
// field path, in the apiserver's words, and a typo gets a "did you mean".
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic } from './diagnostics.js';
import { closestWord, decodeExpectations } from './expectations.js';

const HEAD = 'apiVersion: podwall.dev/v1alpha1\nkind: Expectations\n';

function errors(text: string): string[] {
  const r = decodeExpectations(text, 'x.yaml');
  assert.equal(r.expectations, undefined, 'a file with errors yields no expectations');
  return r.diagnostics.map(formatDiagnostic);
}

describe('decoding expectations', () => {
  test('a valid file: cases in order, names, peers as written, protocol TCP by default, port absent means every declared port', () => {
    const r = decodeExpectations(
      `${HEAD}metadata: {name: shop}\nnamespace: prod\ncases:\n- name: web reaches api\n  allow: {from: web, to: prod/service/api, port: 80}\n- deny:\n    from: [outside, 10.0.0.1]\n    to: {namespace: prod, podSelector: {matchLabels: {role: db}}}\n    protocol: UDP\n- only:\n    to: db\n    port: mysql\n    from: [{namespaceSelector: {matchLabels: {team: a}}}]\n`,
      'x.yaml',
    );
    assert.deepEqual(r.diagnostics, []);
    const e = r.expectations!;
    assert.equal(e.name, 'shop');
    assert.equal(e.namespace, 'prod');
    assert.deepEqual(
      e.cases.map((c) => [c.index, c.name, c.verb, c.port, c.protocol]),
      [
        [0, 'web reaches api', 'allow', 80, 'TCP'],
        [1, undefined, 'deny', undefined, 'UDP'],
        [2, undefined, 'only', 'mysql', 'TCP'],
      ],
    );
    assert.deepEqual(e.cases[1].from.map((p) => p.kind), ['outside', 'name']);
    assert.deepEqual(e.cases[1].from[1].path, ['cases', 1, 'deny', 'from', 1]);
    const selector = e.cases[1].to[0];
    assert.equal(selector.kind, 'selector');
    assert.deepEqual(selector.kind === 'selector' && selector.podSelector?.matchLabels, { role: 'db' });
    assert.deepEqual(e.locate(['cases', 1]), { line: 8, column: 3 });
  });

  const bad: { rule: string; text: string; want: string[] }[] = [
    {
      rule: 'an unknown field in a case is an error that suggests the field meant',
      text: `${HEAD}cases:\n- alow: {from: a, to: b, port: 80}\n`,
      want: [
        'x.yaml:4:9: Expectations: cases[0].alow: unknown field "cases[0].alow"; did you mean "allow"?',
        'x.yaml:4:3: Expectations: cases[0]: Required value: a case needs one of allow, deny and only',
      ],
    },
    {
      rule: 'an unknown top-level field is an error with a suggestion',
      text: `${HEAD}case:\n- allow: {from: a, to: b, port: 80}\n`,
      want: [
        'x.yaml:4:1: Expectations: case: unknown field "case"; did you mean "cases"?',
        'x.yaml:1:1: Expectations: cases: Required value: the list of cases (allow, deny, only)',
      ],
    },
    {
      rule: 'an unknown field with nothing close lists the known fields',
      text: `${HEAD}cases:\n- allow: {from: a, to: b, port: 80, via: ingress}\n`,
      want: ['x.yaml:4:42: Expectations: cases[0].allow.via: unknown field "cases[0].allow.via" (known fields: from, to, port, protocol)'],
    },
    {
      rule: 'a selector field typo is caught, not read as "every pod"',
      text: `${HEAD}cases:\n- deny: {from: a, to: {namespace: x, podselector: {matchLabels: {a: b}}}, port: 80}\n`,
      want: ['x.yaml:4:51: Expectations: cases[0].deny.to.podselector: unknown field "cases[0].deny.to.podselector"; did you mean "podSelector"?'],
    },
    {
      rule: 'apiVersion and kind must be the expectations type',
      text: 'apiVersion: v1\nkind: Expectation\ncases:\n- allow: {from: a, to: b, port: 80}\n',
      want: [
        'x.yaml:1:13: Expectations: apiVersion: Unsupported value: "v1": supported values: "podwall.dev/v1alpha1"',
        'x.yaml:2:7: Expectations: kind: Unsupported value: "Expectation": supported values: "Expectations"',
      ],
    },
    {
      rule: 'a port out of range and an unknown protocol are reported in the apiserver words, both at once',
      text: `${HEAD}metadata: {name: n}\ncases:\n- allow:\n    from: a\n    to: b\n    port: 70000\n    protocol: ICMP\n`,
      want: [
        'x.yaml:8:11: Expectations n: cases[0].allow.port: Invalid value: 70000: must be between 1 and 65535, inclusive',
        'x.yaml:9:15: Expectations n: cases[0].allow.protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
      ],
    },
    {
      rule: 'a port name must be an IANA service name',
      text: `${HEAD}cases:\n- allow: {from: a, to: b, port: Web_1}\n`,
      want: ['x.yaml:4:33: Expectations: cases[0].allow.port: Invalid value: "Web_1": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
    },
    {
      rule: 'from and to are required, and an empty list names nothing',
      text: `${HEAD}cases:\n- deny: {to: [], port: 80}\n`,
      want: [
        'x.yaml:4:9: Expectations: cases[0].deny.from: Required value: the source(s) of the flow',
        'x.yaml:4:14: Expectations: cases[0].deny.to: Required value: the destination(s) of the flow (an empty list names nothing)',
      ],
    },
    {
      rule: 'a case states one thing: allow and deny together are refused',
      text: `${HEAD}cases:\n- allow: {from: a, to: b, port: 80}\n  deny: {from: a, to: b, port: 81}\n`,
      want: ['x.yaml:5:9: Expectations: cases[0].deny: Forbidden: a case states one thing: give allow and deny as separate cases'],
    },
    {
      rule: 'a selector names one namespace or selects namespaces, not both, and selects something',
      text: `${HEAD}cases:\n- allow:\n    from: {namespace: a, namespaceSelector: {}}\n    to: {}\n    port: 80\n`,
      want: [
        'x.yaml:5:45: Expectations: cases[0].allow.from.namespaceSelector: Forbidden: may not be specified when `namespace` is: give one namespace by name or select namespaces by label',
        'x.yaml:6:9: Expectations: cases[0].allow.to: Required value: a selector needs at least one of namespace, namespaceSelector and podSelector',
      ],
    },
    {
      rule: 'label selectors are validated as the apiserver validates them',
      text: `${HEAD}cases:\n- allow:\n    from: {podSelector: {matchExpressions: [{key: app, operator: Is, values: [x]}]}}\n    to: b\n    port: 80\n`,
      want: ['x.yaml:5:66: Expectations: cases[0].allow.from.podSelector.matchExpressions[0].operator: Invalid value: "Is": not a valid selector operator'],
    },
    {
      rule: 'a namespace must be a DNS-1123 label',
      text: `${HEAD}namespace: Prod\ncases:\n- allow: {from: {namespace: a_b}, to: b, port: 80}\n`,
      want: [
        'x.yaml:3:12: Expectations: namespace: Invalid value: "Prod": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\')',
        'x.yaml:5:29: Expectations: cases[0].allow.from.namespace: Invalid value: "a_b": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\')',
      ],
    },
    {
      rule: 'a name has at most three parts and none empty; a number is no name',
      text: `${HEAD}cases:\n- allow: {from: a/b/c/d, to: [x//y, 5], port: 80}\n`,
      want: [
        'x.yaml:4:17: Expectations: cases[0].allow.from: Invalid value: "a/b/c/d": must be ns/name, ns/kind/name, ns/service/name, a name in the default namespace, an IP address, or "outside"',
        'x.yaml:4:31: Expectations: cases[0].allow.to[0]: Invalid value: "x//y": must be ns/name, ns/kind/name, ns/service/name, a name in the default namespace, an IP address, or "outside"',
        'x.yaml:4:37: Expectations: cases[0].allow.to[1]: Invalid value: 5: must be a name (a string) or a selector (an object with namespace, namespaceSelector and/or podSelector)',
      ],
    },
    {
      rule: 'a file without cases tests nothing and is refused',
      text: `${HEAD}cases: []\n`,
      want: ['x.yaml:3:8: Expectations: cases: Required value: at least one case: an empty file tests nothing'],
    },
    {
      rule: 'one expectations document per file',
      text: `${HEAD}cases: [{allow: {from: a, to: b, port: 1}}]\n---\n${HEAD}cases: [{allow: {from: a, to: b, port: 1}}]\n`,
      want: ['x.yaml:5:1: one Expectations document per file (found 2)'],
    },
    {
      rule: 'a YAML syntax error names its line and column',
      text: `${HEAD}cases:\n- allow: {from: a, to: b, port: 80\n`,
      want: ['x.yaml:5:1: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }'],
    },
  ];
  for (const { rule, text, want } of bad) {
    test(rule, () => assert.deepEqual(errors(text), want));
  }

  test('a quoted port number is a number', () => {
    const r = decodeExpectations(`${HEAD}cases:\n- allow: {from: a, to: b, port: "8080"}\n`, 'x.yaml');
    assert.equal(r.expectations?.cases[0].port, 8080);
  });
});

describe('did you mean', () => {
  const table: { typo: string; known: string[]; want: string | undefined }[] = [
    { typo: 'alow', known: ['allow', 'deny', 'only'], want: 'allow' },
    { typo: 'Deny', known: ['allow', 'deny', 'only'], want: 'deny' },
    { typo: 'podselector', known: ['namespace', 'namespaceSelector', 'podSelector'], want: 'podSelector' },
    { typo: 'prot', known: ['from', 'to', 'port', 'protocol'], want: 'port' },
    { typo: 'via', known: ['from', 'to', 'port', 'protocol'], want: undefined },
  ];
  for (const { typo, known, want } of table) {
    test(`"${typo}" suggests ${want ?? 'nothing'}`, () => assert.equal(closestWord(typo, known), want));
  }
});
