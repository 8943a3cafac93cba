// Judging expectations with the engine: each case becomes flows decided by evaluateConnection /
// evaluateServiceConnection; selectors expand to every selected endpoint and a failure names only
// the flows that disagree; `only` denies every source not listed; names that do not exist are bad input.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeExpectations, loadTexts, type Expectations } from '../model/index.js';
import { compileCluster } from './compile.js';
import { judgeExpectations, type CaseResult } from './expectations.js';

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {team: a}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: prod, labels: {role: web}}
spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: prod, labels: {role: api}}
spec: {containers: [{name: c, image: i, ports: [{name: api, containerPort: 5000}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: prod, labels: {role: db}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 3306}]}]}
status: {podIP: 10.0.0.3}
---
apiVersion: v1
kind: Pod
metadata: {name: db2, namespace: prod, labels: {role: db, name: db2}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 3306}]}]}
status: {podIP: 10.0.0.4}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other, labels: {role: client}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.1.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-policy, namespace: prod}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress: [{from: [{podSelector: {matchLabels: {role: api}}}], ports: [{port: 3306}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db2-extra, namespace: prod}
spec:
  podSelector: {matchLabels: {name: db2}}
  ingress: [{from: [{podSelector: {matchLabels: {role: web}}}], ports: [{port: 3306}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-policy, namespace: prod}
spec:
  podSelector: {matchLabels: {role: api}}
  policyTypes: [Ingress, Egress]
  ingress: [{from: [{podSelector: {matchLabels: {role: web}}}, {ipBlock: {cidr: 203.0.113.0/24}}], ports: [{port: 5000}]}]
  egress: [{to: [{podSelector: {matchLabels: {role: db}}}], ports: [{port: 3306}]}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: prod}
spec: {selector: {role: api}, ports: [{name: http, port: 80, targetPort: 5000}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: prod}
spec: {selector: {role: db}, ports: [{port: 3306}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec: {type: NodePort, selector: {role: web}, ports: [{port: 80, nodePort: 30080}]}
---
apiVersion: v1
kind: Service
metadata: {name: nobody, namespace: prod}
spec: {selector: {role: nothing}, ports: [{port: 1}]}
`;

const built = loadTexts([{ file: 'cluster.yaml', text: MANIFESTS }]);
assert.ok(built.cluster, built.diagnostics.map((d) => d.message).join('\n'));
const compiled = compileCluster(built.cluster);

function expectations(cases: string): Expectations {
  const r = decodeExpectations(`apiVersion: podwall.dev/v1alpha1\nkind: Expectations\nnamespace: prod\ncases:\n${cases}`, 'e.yaml');
  assert.ok(r.expectations, r.diagnostics.map((d) => d.message).join('\n'));
  return r.expectations;
}

function judgeOne(yamlCase: string): CaseResult {
  const r = judgeExpectations(compiled, expectations(yamlCase));
  assert.deepEqual(r.problems, []);
  return r.cases[0];
}

/** The flows that disagree with the case, as `from -> to port: engine`. */
const failing = (r: CaseResult): string[] => r.checks.filter((c) => !c.passed).map((c) => `${c.from} -> ${c.to} ${c.port}: ${c.engine}`);

describe('allow and deny', () => {
  const table: { rule: string; yaml: string; passed: boolean; failing?: string[] }[] = [
    { rule: 'an allowed flow passes allow', yaml: '- allow: {from: api, to: db, port: 3306}', passed: true },
    { rule: 'a denied flow fails allow', yaml: '- allow: {from: web, to: db, port: 3306}', passed: false, failing: ['prod/web -> prod/db 3306: denied'] },
    { rule: 'a denied flow passes deny', yaml: '- deny: {from: web, to: db, port: 3306}', passed: true },
    { rule: 'the namespace of the file places bare names; ns/name names any namespace', yaml: '- deny: {from: other/client, to: prod/db, port: 3306}', passed: true },
    { rule: 'a port name resolves against the destination pod', yaml: '- allow: {from: web, to: api, port: api}', passed: true },
    { rule: 'no port means every port the destination declares', yaml: '- deny: {from: web, to: db}', passed: true },
    {
      rule: 'a selector means every endpoint it selects, and a failure names only the ones that disagree',
      yaml: '- deny: {from: web, to: {podSelector: {matchLabels: {role: db}}}, port: 3306}',
      passed: false,
      failing: ['prod/web -> prod/db2 3306: allowed'],
    },
    {
      rule: 'a namespaceSelector selects the endpoints of every matching namespace',
      yaml: '- deny: {from: {namespaceSelector: {matchLabels: {team: a}}, podSelector: {matchLabels: {role: web}}}, to: db, port: 3306}',
      passed: true,
    },
    { rule: 'a list of sources means each of them', yaml: '- deny: {from: [web, other/client], to: db, port: 3306}', passed: true },
    { rule: 'an egress-isolated pod is denied a destination outside the cluster', yaml: '- deny: {from: api, to: 8.8.8.8, port: 443}', passed: true },
  ];
  for (const { rule, yaml, passed, failing: want } of table) {
    test(rule, () => {
      const r = judgeOne(yaml);
      assert.equal(r.passed, passed, JSON.stringify(r.checks, null, 1));
      if (want) assert.deepEqual(failing(r), want);
    });
  }

  test("a failure carries the engine's reasons: the isolating policy and the rules it has", () => {
    const r = judgeOne('- allow: {from: web, to: db, port: 3306}');
    assert.deepEqual(r.checks[0].reasons, [
      'egress from prod/web: not isolated for egress (no policy selects it for Egress), so allowed',
      'ingress to prod/db: isolated by prod/db-policy; no ingress rule allows it',
      '  prod/db-policy ingress[0] allows from pods with role=api in namespace prod, on TCP 3306',
    ]);
  });

  test('a port the destination does not declare keeps its verdict, with a note that nothing would listen there', () => {
    const r = judgeOne('- allow: {from: api, to: web, port: 8080}');
    assert.equal(r.checks[0].engine, 'denied', 'api is isolated for egress');
    assert.equal(r.checks[0].reasons.at(-1), 'note [port-undeclared]: prod/web declares no container port 8080/TCP (it declares 80/TCP): nothing would listen there');
  });

  test('a case without a name is titled by what it says', () => {
    assert.equal(judgeOne('- deny: {from: [web, outside], to: {namespace: prod, podSelector: {matchLabels: {role: db}}}, port: 3306}').title, 'deny web, outside -> {namespace prod, pods with role=db} on 3306/TCP');
  });
});

describe('outside the cluster', () => {
  const table: { rule: string; yaml: string; engine: string }[] = [
    { rule: 'every outside address reaches a pod no policy isolates', yaml: '- allow: {from: outside, to: web, port: 80}', engine: 'allowed' },
    { rule: 'only some outside addresses reach a pod whose rule admits an ipBlock', yaml: '- allow: {from: outside, to: api, port: 5000}', engine: 'partly' },
    { rule: 'no outside address reaches a pod whose rules name only pods', yaml: '- deny: {from: outside, to: db, port: 3306}', engine: 'denied' },
    { rule: 'one outside address in the ipBlock is admitted', yaml: '- allow: {from: 203.0.113.9, to: api, port: 5000}', engine: 'allowed' },
    { rule: 'an egress-isolated pod reaches no outside address', yaml: '- deny: {from: api, to: outside, port: 443}', engine: 'denied' },
    { rule: 'a pod not isolated for egress reaches every outside address', yaml: '- allow: {from: web, to: outside, port: 443}', engine: 'allowed' },
  ];
  for (const { rule, yaml, engine } of table) {
    test(rule, () => assert.equal(judgeOne(yaml).checks[0].engine, engine));
  }

  test('"partly" fails both allow and deny, and says which rule admits only some addresses', () => {
    const allow = judgeOne('- allow: {from: outside, to: api, port: 5000}');
    const deny = judgeOne('- deny: {from: outside, to: api, port: 5000}');
    assert.equal(allow.passed, false);
    assert.equal(deny.passed, false);
    assert.match(allow.checks[0].reasons.join('\n'), /prod\/api-policy ingress\[0\] allows only addresses in 203\.0\.113\.0\/24/);
  });
});

describe('Services: judged per backend at its target port', () => {
  const table: { rule: string; yaml: string; engine: string }[] = [
    { rule: 'a Service port is judged at the backend targetPort (80 -> 5000)', yaml: '- allow: {from: web, to: prod/service/api, port: 80}', engine: 'allowed' },
    { rule: 'a Service whose backends disagree is allowed only in part', yaml: '- allow: {from: web, to: service/db, port: 3306}', engine: 'partly' },
    { rule: 'every backend admitting it is allowed', yaml: '- allow: {from: api, to: prod/service/db, port: 3306}', engine: 'allowed' },
    { rule: 'outside reaches a NodePort Service by its node port', yaml: '- allow: {from: outside, to: prod/service/web, port: 30080}', engine: 'allowed' },
    { rule: 'outside never reaches a ClusterIP Service', yaml: '- deny: {from: outside, to: prod/service/api, port: 80}', engine: 'denied' },
    { rule: 'a Service as the source means each of its backends', yaml: '- allow: {from: prod/service/api, to: db, port: 3306}', engine: 'allowed' },
    { rule: 'a Service port name means that port', yaml: '- allow: {from: web, to: prod/service/api, port: http}', engine: 'allowed' },
  ];
  for (const { rule, yaml, engine } of table) {
    test(rule, () => assert.equal(judgeOne(yaml).checks[0].engine, engine));
  }

  test('the reasons name each backend and its verdict', () => {
    const r = judgeOne('- deny: {from: web, to: prod/service/db, port: 3306}');
    const text = r.checks[0].reasons.join('\n');
    assert.match(text, /prod\/service\/db port 3306\/TCP: 1 of 2 backends admits it/);
    assert.match(text, /prod\/db on 3306\/TCP: DENIED/);
    assert.match(text, /prod\/db2 on 3306\/TCP: ALLOWED/);
  });
});

describe('only: the sources listed are allowed, every other source is denied', () => {
  test('only api reaches db: web, db2, the other namespace and outside are denied (a pod to itself is no question)', () => {
    const r = judgeOne('- only: {to: db, port: 3306, from: [api]}');
    assert.equal(r.passed, true);
    assert.deepEqual(
      r.checks.map((c) => `${c.from} ${c.expected}`),
      ['prod/api allowed', 'other/client denied', 'prod/db2 denied', 'prod/web denied', 'outside denied'],
    );
  });

  test('an unlisted source that gets through fails the case, named', () => {
    assert.deepEqual(failing(judgeOne('- only: {to: db2, port: 3306, from: [api]}')), ['prod/web -> prod/db2 3306: allowed']);
  });

  test('outside admitted through an ipBlock is an unlisted source that gets through (in part)', () => {
    assert.deepEqual(failing(judgeOne('- only: {to: api, port: 5000, from: [web]}')), ['outside -> prod/api 5000: partly']);
  });

  test('a listed source that is denied fails the case', () => {
    assert.deepEqual(failing(judgeOne('- only: {to: db, port: 3306, from: [api, web]}')), ['prod/web -> prod/db 3306: denied']);
  });
});

describe('cases that name what does not exist are bad input, with the field that names it', () => {
  const table: { rule: string; yaml: string; path: (string | number)[]; message: RegExp }[] = [
    { rule: 'an endpoint that does not exist, with the name likely meant', yaml: '- allow: {from: wbe, to: db, port: 3306}', path: ['cases', 0, 'allow', 'from'], message: /no endpoint "prod\/wbe" in the input .*; did you mean "web"\?$/ },
    { rule: 'a Service that does not exist, with the one likely meant', yaml: '- allow: {from: web, to: prod/service/apl, port: 80}', path: ['cases', 0, 'allow', 'to'], message: /no Service "prod\/service\/apl" in the input .*; did you mean "prod\/service\/api"\?$/ },
    { rule: 'a selector that selects nothing', yaml: '- allow: {from: {podSelector: {matchLabels: {role: cache}}}, to: db, port: 3306}', path: ['cases', 0, 'allow', 'from'], message: /the selector selects nothing: no endpoint with role=cache in namespace prod/ },
    { rule: 'a namespaceSelector that selects no namespace', yaml: '- allow: {from: web, to: [db, {namespaceSelector: {matchLabels: {team: b}}}], port: 3306}', path: ['cases', 0, 'allow', 'to', 1], message: /namespaceSelector team=b selects no namespace/ },
    { rule: 'a port the Service does not have (with the targetPort hint)', yaml: '- allow: {from: web, to: prod/service/api, port: 5000}', path: ['cases', 0, 'allow', 'port'], message: /prod\/service\/api has no port 5000\/TCP .*5000 is the targetPort of port 80/ },
    { rule: 'a port name the destination does not declare', yaml: '- allow: {from: web, to: db, port: mysql}', path: ['cases', 0, 'allow', 'port'], message: /prod\/db declares no TCP port named "mysql"/ },
    { rule: 'no port for a destination outside the cluster', yaml: '- deny: {from: web, to: outside}', path: ['cases', 0, 'deny'], message: /outside is outside the cluster and declares no ports: give a port number/ },
    { rule: 'neither end in the cluster', yaml: '- deny: {from: outside, to: 8.8.8.8, port: 53}', path: ['cases', 0, 'deny'], message: /neither end is in the cluster/ },
    { rule: 'a Service without backends as the source', yaml: '- deny: {from: prod/service/nobody, to: db, port: 3306}', path: ['cases', 0, 'deny', 'from'], message: /prod\/service\/nobody has no backends/ },
  ];
  for (const { rule, yaml, path, message } of table) {
    test(rule, () => {
      const r = judgeExpectations(compiled, expectations(yaml));
      assert.equal(r.cases.length, 0);
      assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
      assert.deepEqual(r.problems[0].path, path);
      assert.match(r.problems[0].message, message);
    });
  }

  test('every problem of every case is reported, the good cases still judged', () => {
    const r = judgeExpectations(compiled, expectations('- allow: {from: nope, to: db, port: 3306}\n- allow: {from: api, to: db, port: 3306}\n- deny: {from: web, to: nada, port: 1}'));
    assert.deepEqual(r.problems.map((p) => p.path), [['cases', 0, 'allow', 'from'], ['cases', 2, 'deny', 'to']]);
    assert.equal(r.cases.length, 1);
  });
});

describe('admin and baseline tiers', () => {
  const ADMIN = `
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: guard}
spec:
  tier: Admin
  priority: 2
  subject: {namespaces: {matchLabels: {team: a}}}
  ingress:
  - name: no-client
    action: Deny
    from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: other}}}]
  egress:
  - name: no-docs
    action: Deny
    to: [{networks: [198.51.100.0/24]}]
`;
  const tiered = loadTexts([{ file: 'cluster.yaml', text: MANIFESTS + ADMIN }]);
  assert.ok(tiered.cluster, tiered.diagnostics.map((d) => d.message).join('\n'));
  const judge = (yamlCase: string): CaseResult => {
    const r = judgeExpectations(compileCluster(tiered.cluster!), expectations(yamlCase));
    assert.deepEqual(r.problems, []);
    return r.cases[0];
  };

  test('an allow case failing on an admin Deny names the rule that decided', () => {
    const r = judge('- allow: {from: other/client, to: web, port: 80}');
    assert.equal(r.passed, false);
    assert.deepEqual(r.checks[0].reasons, [
      'egress from other/client: not isolated for egress (no policy selects it for Egress) and no admin or baseline rule matches: no tier decided, so allowed',
      'ingress to prod/web: ClusterNetworkPolicy/guard (Admin tier, priority 2) ingress[0] "no-client": Deny, so denied (the Admin tier decides before NetworkPolicy)',
    ]);
  });

  test('every outside address from a pod is judged tier by tier: an admin networks Deny makes it partly, with the reasons per address set', () => {
    const r = judge('- allow: {from: web, to: outside, port: 443}');
    assert.equal(r.passed, false);
    assert.equal(r.checks[0].engine, 'partly');
    assert.ok(
      r.checks[0].reasons.some((l) => l.startsWith('for 198.51.100.0/24: egress from prod/web: ClusterNetworkPolicy/guard (Admin tier, priority 2) egress[0] "no-docs": Deny, so denied')),
      r.checks[0].reasons.join('\n'),
    );
  });
});
