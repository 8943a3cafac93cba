// The admin policy kinds through a real kubectl against the lab's API server, without a lab (no
// root): `kubectl api-resources` lists them with their short names, `kubectl apply -f` creates and
// then patches them (kubectl sends a custom resource a JSON merge patch), `kubectl get anp,banp,cnp`
// prints the CRDs' columns, `kubectl explain` reads their schema, invalid objects are refused with
// the field path, `kubectl delete` removes them. Skipped without kubectl ($PODWALL_KUBECTL, else
// `kubectl` on PATH).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Manifest } from '../../model/index.js';
import { KUBECTL, kubectlMinor, kubectlOk, runKubectl, startTestServer, type KubectlResult, type TestServer } from './testing.js';

const minor = kubectlMinor();
const skip = minor === 0 ? `needs a kubectl (${KUBECTL})` : false;
let t: TestServer;
let kubeconfig: string;

const kubectl = (args: readonly string[]): Promise<KubectlResult> => runKubectl(t, kubeconfig, args);
const ok = (args: readonly string[]): Promise<string> => kubectlOk(t, kubeconfig, args);

function file(name: string, text: string): string {
  const path = join(t.dir, name);
  writeFileSync(path, text);
  return path;
}

const anpYaml = (priority: number, action = 'Deny'): string => `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: deny-b-to-a
spec:
  priority: ${priority}
  subject:
    namespaces:
      matchLabels:
        tenant: a
  ingress:
  - name: from-b
    action: ${action}
    from:
    - namespaces:
        matchLabels:
          tenant: b
`;

const banpYaml = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata:
  name: default
spec:
  subject:
    namespaces: {}
  ingress:
  - action: Deny
    from:
    - namespaces: {}
`;

const cnpYaml = (name: string, tier: string, priority: number): string => `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: ${name}
spec:
  tier: ${tier}
  priority: ${priority}
  subject:
    namespaces: {}
  egress:
  - name: dns
    action: Accept
    to:
    - pods:
        namespaceSelector:
          matchLabels:
            kubernetes.io/metadata.name: kube-system
        podSelector:
          matchLabels:
            k8s-app: kube-dns
    protocols:
    - udp:
        destinationPort:
          number: 53
`;

/** The rows of `kubectl get` as words, header first. */
const rows = (out: string): string[][] =>
  out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/));

describe(`kubectl ${minor ? `1.${minor} ` : ''}and the admin policy kinds (no lab)`, { skip }, () => {
  before(async () => {
    t = await startTestServer();
    kubeconfig = t.kubeconfig();
  });

  after(() => t?.close());

  test('kubectl api-resources lists anp, banp and cnp: cluster-scoped, in policy.networking.k8s.io, with every verb', async () => {
    const out = await ok(['api-resources', '--api-group=policy.networking.k8s.io', '-o', 'wide']);
    const table = rows(out);
    assert.deepEqual(table[0].slice(0, 5), ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
    const byName = new Map(table.slice(1).map((r) => [r[0], r]));
    assert.deepEqual(byName.get('adminnetworkpolicies')?.slice(1, 5), ['anp', 'policy.networking.k8s.io/v1alpha1', 'false', 'AdminNetworkPolicy']);
    assert.deepEqual(byName.get('baselineadminnetworkpolicies')?.slice(1, 5), ['banp', 'policy.networking.k8s.io/v1alpha1', 'false', 'BaselineAdminNetworkPolicy']);
    assert.deepEqual(byName.get('clusternetworkpolicies')?.slice(1, 5), ['cnp', 'policy.networking.k8s.io/v1alpha2', 'false', 'ClusterNetworkPolicy']);
    assert.match(byName.get('clusternetworkpolicies')?.slice(5).join(' ') ?? '', /create.*delete.*deletecollection.*get.*list.*patch.*update.*watch/);
    assert.match(await ok(['api-resources', '--api-group=']), /^nodes\s+no\s+v1\s+false\s+Node$/m);
  });

  test('kubectl apply -f creates each kind, applies a change as a JSON merge patch, and kubectl get anp,banp,cnp prints their columns', async () => {
    const anp = file('anp.yaml', anpYaml(3));
    assert.match(await ok(['apply', '-f', anp]), /^adminnetworkpolicy\.policy\.networking\.k8s\.io\/deny-b-to-a created$/m);
    assert.match(await ok(['apply', '-f', file('banp.yaml', banpYaml)]), /baselineadminnetworkpolicy\.policy\.networking\.k8s\.io\/default created/);
    assert.match(await ok(['apply', '-f', file('cnp.yaml', cnpYaml('dns', 'Baseline', 5))]), /clusternetworkpolicy\.policy\.networking\.k8s\.io\/dns created/);
    file('anp.yaml', anpYaml(4, 'Pass'));
    assert.match(await ok(['apply', '-f', anp]), /deny-b-to-a configured/);
    const stored = t.store.get('AdminNetworkPolicy', '', 'deny-b-to-a')!.manifest as { spec: { priority: number; ingress: Manifest[] } };
    assert.equal(stored.spec.priority, 4);
    assert.equal(stored.spec.ingress[0].action, 'Pass');
    assert.equal(await ok(['apply', '-f', anp]).then((o) => /unchanged/.test(o)), true, 'applying the same file again changes nothing');

    const out = await ok(['get', 'anp,banp,cnp']);
    assert.match(out, /^NAME\s+PRIORITY\s+AGE\nadminnetworkpolicy\.policy\.networking\.k8s\.io\/deny-b-to-a\s+4\s+\S+$/m);
    assert.match(out, /^NAME\s+AGE\nbaselineadminnetworkpolicy\.policy\.networking\.k8s\.io\/default\s+\S+$/m);
    assert.match(out, /^NAME\s+TIER\s+PRIORITY\s+AGE\nclusternetworkpolicy\.policy\.networking\.k8s\.io\/dns\s+Baseline\s+5\s+\S+$/m);
    assert.match(await ok(['get', 'anp', 'deny-b-to-a', '-o', 'jsonpath={.spec.ingress[0].action}']), /^Pass$/);
  });

  test('kubectl explain reads the kinds\' schema from the server', async () => {
    const out = await ok(['explain', 'cnp.spec.tier']);
    assert.match(out, /KIND:\s+ClusterNetworkPolicy/);
    assert.match(out, /Admin or Baseline/);
    assert.match(await ok(['explain', 'anp.spec.subject']), /FIELDS:[\s\S]*namespaces[\s\S]*pods/);
  });

  test('an invalid object is refused the way the apiextensions apiserver refuses it, naming the field, and nothing is stored', async () => {
    const r = await kubectl(['apply', '-f', file('bad.yaml', anpYaml(1001).replace('deny-b-to-a', 'too-low'))]);
    assert.equal(r.code, 1);
    assert.match(r.err, /The AdminNetworkPolicy "too-low" is invalid: spec\.priority: Invalid value: 1001: spec\.priority in body should be less than or equal to 1000/);
    assert.equal(t.store.get('AdminNetworkPolicy', '', 'too-low'), undefined);
    const typo = await kubectl(['apply', '-f', file('typo.yaml', cnpYaml('typo', 'Admin', 1).replace('  egress:', '  egres:'))]);
    assert.equal(typo.code, 1, 'an unknown field is refused (kubectl asks the server to be strict)');
    assert.match(typo.err, /egres/);
  });

  test('kubectl patch: a merge patch applies; the default strategic merge patch gets 415, as for any custom resource', async () => {
    assert.match(await ok(['patch', 'cnp', 'dns', '--type=merge', '-p', '{"spec":{"priority":6}}']), /patched/);
    assert.equal((t.store.get('ClusterNetworkPolicy', '', 'dns')!.manifest.spec as { priority: number }).priority, 6);
    const strategic = await kubectl(['patch', 'cnp', 'dns', '-p', '{"spec":{"priority":7}}']);
    assert.notEqual(strategic.code, 0);
    assert.match(strategic.err, /UnsupportedMediaType|unknown format/);
  });

  test('kubectl delete removes them by short name, by file, and all of a kind (--all)', async () => {
    assert.match(await ok(['delete', 'cnp', 'dns']), /clusternetworkpolicy\.policy\.networking\.k8s\.io "dns" deleted/);
    assert.match(await ok(['delete', '-f', join(t.dir, 'anp.yaml')]), /deny-b-to-a" deleted/);
    assert.match(await ok(['delete', 'banp', 'default']), /"default" deleted/);
    for (const [name, priority] of [['one', 1], ['two', 2]] as const) await ok(['create', '-f', file(`${name}.yaml`, anpYaml(priority).replace('deny-b-to-a', name))]);
    const all = await ok(['delete', 'anp', '--all']);
    assert.match(all, /"one" deleted/);
    assert.match(all, /"two" deleted/);
    assert.match((await kubectl(['get', 'anp,banp,cnp'])).err, /No resources found/);
  });
});
