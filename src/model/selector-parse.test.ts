// Label and field selectors in their string form, case by case against apimachinery:
// labels.Parse (its lexer and parser in pkg/labels/selector.go) and fields.ParseSelector
// (pkg/fields/selector.go). Each label case states which label sets it matches, so it checks the
// meaning, not one way of writing it down. Cases where Podwall still differs are `todo`, with the fix.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFieldSelector, parseLabelSelector } from './selector-parse.js';
import { selectorMatches } from './selector-match.js';
import type { Labels } from './types.js';

interface LabelCase {
  readonly text: string;
  /** Label sets the selector must match... */
  readonly matches?: readonly Labels[];
  /** ...and must not. */
  readonly rejects?: readonly Labels[];
  /** Parse must fail, with a message matching this. */
  readonly error?: RegExp;
  /** Podwall differs from labels.Parse here; the reason and the fix. */
  readonly todo?: string;
}

const labelCases: LabelCase[] = [
  { text: '', matches: [{}, { a: 'b' }] },
  { text: '   ', matches: [{}, { a: 'b' }] },
  { text: 'a=b', matches: [{ a: 'b' }, { a: 'b', c: 'd' }], rejects: [{}, { a: 'c' }, { b: 'b' }] },
  { text: 'a==b', matches: [{ a: 'b' }], rejects: [{}, { a: 'c' }] },
  { text: 'a!=b', matches: [{}, { a: 'c' }, { c: 'b' }], rejects: [{ a: 'b' }] },
  { text: 'a=', matches: [{ a: '' }], rejects: [{}, { a: 'b' }] },
  { text: 'a!=', matches: [{}, { a: 'b' }], rejects: [{ a: '' }] },
  { text: 'a in (x,y)', matches: [{ a: 'x' }, { a: 'y' }], rejects: [{}, { a: 'z' }] },
  { text: 'a notin (x,y)', matches: [{}, { a: 'z' }], rejects: [{ a: 'x' }, { a: 'y' }] },
  { text: 'a in (x)', matches: [{ a: 'x' }], rejects: [{ a: 'y' }] },
  { text: 'a in(x)', matches: [{ a: 'x' }], rejects: [{ a: 'y' }] },
  { text: 'a notin(x)', matches: [{ a: 'y' }, {}], rejects: [{ a: 'x' }] },
  // parseValues: "()" is the set holding the empty string; a trailing or leading comma adds it too.
  { text: 'a in ()', matches: [{ a: '' }], rejects: [{}, { a: 'x' }] },
  { text: 'a in (x,)', matches: [{ a: 'x' }, { a: '' }], rejects: [{ a: 'y' }] },
  { text: 'a in (,x)', matches: [{ a: 'x' }, { a: '' }], rejects: [{ a: 'y' }] },
  { text: 'a', matches: [{ a: '' }, { a: 'x' }], rejects: [{}, { b: 'a' }] },
  { text: '!a', matches: [{}, { b: 'x' }], rejects: [{ a: '' }, { a: 'x' }] },
  { text: '! a', matches: [{}], rejects: [{ a: 'x' }] },
  // The lexer skips whitespace between tokens.
  { text: ' a = b , c in ( x , y ) , !d ', matches: [{ a: 'b', c: 'y' }], rejects: [{ a: 'b', c: 'z' }, { a: 'b', c: 'x', d: '1' }] },
  { text: 'a=b,c!=d,e,!f,g in (h),i notin (j)', matches: [{ a: 'b', e: '', g: 'h' }], rejects: [{ a: 'b', e: '', g: 'h', f: '' }, { a: 'b', e: '', g: 'h', c: 'd' }, { a: 'b', g: 'h' }] },
  // Requirements are ANDed: one key twice with two values matches nothing.
  { text: 'a=b,a=c', rejects: [{ a: 'b' }, { a: 'c' }, {}] },
  { text: 'a=b,a!=b', rejects: [{ a: 'b' }, {}] },
  // In a values position `in` and `notin` are plain identifiers.
  { text: 'in=notin', matches: [{ in: 'notin' }] },
  { text: 'example.com/app=web,app.kubernetes.io/name in (db)', matches: [{ 'example.com/app': 'web', 'app.kubernetes.io/name': 'db' }] },
  { text: 'a=b_c-d.e', matches: [{ a: 'b_c-d.e' }] },
  // Errors.
  { text: 'a=b=c', error: /./ },
  { text: 'a=b c', error: /./ },
  { text: 'a b', error: /./ },
  { text: '!a=b', error: /./ },
  { text: 'a in (x y)', error: /./ },
  { text: 'a in x', error: /./ },
  { text: 'a in (x', error: /./ },
  { text: 'a in ((x))', error: /./ },
  { text: 'a=(b)', error: /./ },
  { text: 'a!b', error: /./ },
  { text: '=b', error: /./ },
  { text: '-a=b', error: /invalid label key "-a"/ },
  { text: 'a/b/c=d', error: /invalid label key "a\/b\/c"/ },
  { text: `a=${'x'.repeat(64)}`, error: /invalid label value/ },
  { text: 'a=b@c', error: /invalid label value "b@c"/ },
  { text: 'a in (x,b@c)', error: /invalid label value "b@c"/ },
  {
    text: 'a,',
    error: /./,
  },
  { text: ',a', error: /./ },
  { text: 'a,,b', error: /./ },
  {
    text: 'a>1',
    matches: [{ a: '2' }],
    rejects: [{ a: '1' }, {}, { a: 'x' }],
  },
  { text: 'a<1', matches: [{ a: '0' }, { a: '-5' }], rejects: [{ a: '1' }, {}] },
  { text: 'a>x', error: /must be an integer/ },
];

describe('label selectors (labels.Parse)', () => {
  for (const c of labelCases) {
    const name = c.error ? `${JSON.stringify(c.text)} is refused` : `${JSON.stringify(c.text)} matches ${JSON.stringify(c.matches ?? [])}, not ${JSON.stringify(c.rejects ?? [])}`;
    test(name, c.todo ? { todo: c.todo } : {}, () => {
      const parsed = parseLabelSelector(c.text);
      if (c.error) {
        assert.ok('error' in parsed, `parsed as ${JSON.stringify(parsed)}`);
        assert.match(parsed.error, c.error);
        return;
      }
      assert.ok('selector' in parsed, `refused: ${'error' in parsed ? parsed.error : ''}`);
      for (const labels of c.matches ?? []) assert.equal(selectorMatches(parsed.selector, labels), true, `should match ${JSON.stringify(labels)}`);
      for (const labels of c.rejects ?? []) assert.equal(selectorMatches(parsed.selector, labels), false, `should not match ${JSON.stringify(labels)}`);
    });
  }

  test('a=b parses to matchLabels, set and inequality operators to matchExpressions', () => {
    assert.deepEqual(parseLabelSelector('a=b,c!=d,e in (f,g),h notin (i),j,!k'), {
      selector: {
        matchLabels: { a: 'b' },
        matchExpressions: [
          { key: 'c', operator: 'NotIn', values: ['d'] },
          { key: 'e', operator: 'In', values: ['f', 'g'] },
          { key: 'h', operator: 'NotIn', values: ['i'] },
          { key: 'j', operator: 'Exists', values: [] },
          { key: 'k', operator: 'DoesNotExist', values: [] },
        ],
      },
    });
  });
});

interface FieldCase {
  readonly text: string;
  readonly want?: readonly { field: string; operator: '=' | '!='; value: string }[];
  readonly error?: RegExp;
  readonly todo?: string;
}

const FIELDS = ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase'];

const fieldCases: FieldCase[] = [
  { text: '', want: [] },
  { text: 'metadata.name=web', want: [{ field: 'metadata.name', operator: '=', value: 'web' }] },
  { text: 'metadata.name==web', want: [{ field: 'metadata.name', operator: '=', value: 'web' }] },
  { text: 'metadata.name!=web', want: [{ field: 'metadata.name', operator: '!=', value: 'web' }] },
  { text: 'spec.nodeName=', want: [{ field: 'spec.nodeName', operator: '=', value: '' }] },
  {
    text: 'spec.nodeName=n1,status.phase!=Running',
    want: [
      { field: 'spec.nodeName', operator: '=', value: 'n1' },
      { field: 'status.phase', operator: '!=', value: 'Running' },
    ],
  },
  // parseSelector skips empty terms.
  { text: 'metadata.name=web,', want: [{ field: 'metadata.name', operator: '=', value: 'web' }] },
  { text: ',metadata.name=web,,', want: [{ field: 'metadata.name', operator: '=', value: 'web' }] },
  { text: 'metadata.name', error: /invalid selector/ },
  { text: 'spec.image=x', error: /field label not supported: spec\.image/ },
  {
    text: 'metadata.name=a\\,b',
    want: [{ field: 'metadata.name', operator: '=', value: 'a,b' }],
  },
  { text: 'metadata.name=a=b', error: /./ },
  {
    text: 'metadata.name = web',
    error: /field label not supported/,
  },
];

describe('field selectors (fields.ParseSelector)', () => {
  for (const c of fieldCases) {
    test(c.error ? `${JSON.stringify(c.text)} is refused` : `${JSON.stringify(c.text)} parses to ${JSON.stringify(c.want)}`, c.todo ? { todo: c.todo } : {}, () => {
      const parsed = parseFieldSelector(c.text, FIELDS);
      if (c.error) {
        assert.ok('error' in parsed, `parsed as ${JSON.stringify(parsed)}`);
        assert.match(parsed.error, c.error);
        return;
      }
      assert.ok('requirements' in parsed, `refused: ${'error' in parsed ? parsed.error : ''}`);
      assert.deepEqual(parsed.requirements, c.want);
    });
  }
});
