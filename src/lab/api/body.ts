// Request bodies, read and parsed at a bounded cost: the daemon that serves the API also runs the
// pod runner and the agent in the same event loop, so one request must never stall enforcement.
// Sizes are capped before parsing, nesting depth after, and keys that reach an object's prototype
// are refused.
import type { IncomingMessage } from 'node:http';
import { isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { ApiError } from './registry.js';
import { MAX_OBJECT_DEPTH, shapeProblem } from './shape.js';

/**
 * The largest JSON body accepted. The apiserver takes 3 MiB; the lab's objects are far smaller (a
 * 1,000-rule NetworkPolicy is 72 KB, twice that with kubectl's last-applied annotation), and the
 * worst JSON at 512 KiB (hundreds of thousands of empty arrays, or nesting to the cap) parses and is
 * checked in about 40 ms on the development machine, so one request cannot hold the loop for long.
 */
export const MAX_BODY_BYTES = 512 * 1024;

/**
 * YAML costs 30-50 times what JSON does to parse (its worst shapes, flow mappings, take about 3 ms
 * per KiB), and no client the lab serves sends it (kubectl sends JSON): 32 KiB, enough for any
 * hand-written manifest, keeps one YAML body near 100 ms.
 */
export const MAX_YAML_BODY_BYTES = 32 * 1024;

/** How deep a body may nest (the limit every object the API stores keeps). */
export const MAX_BODY_DEPTH = MAX_OBJECT_DEPTH;

const isYAML = (contentType: string): boolean => /\byaml\b/i.test(contentType);

export function bodyLimit(contentType: string): number {
  return isYAML(contentType) ? MAX_YAML_BODY_BYTES : MAX_BODY_BYTES;
}

/** The apiserver's answer to an oversized body (apierrors.NewRequestEntityTooLargeError). */
export function tooLarge(limit: number): ApiError {
  return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

/**
 * How much of an oversized body is read and dropped after the 413 (so a client that sends its
 * whole body still reads the answer) before the connection is cut.
 */
export const MAX_DISCARDED_BYTES = 64 * 1024 * 1024;

/**
 * Reads a body of at most `limit` bytes. A declared Content-Length over the limit is refused before
 * a byte is read; a longer chunked body as soon as it passes the limit. The rest of an oversized
 * body is read and dropped, so the 413 reaches the client instead of a reset connection.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  let discarded = 0;
  const discard = (c: Buffer): void => {
    discarded += c.length;
    if (discarded > MAX_DISCARDED_BYTES) req.socket.destroy();
  };
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.on('data', discard);
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    let size = 0;
    let over = false;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      if (over) return discard(c);
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        reject(tooLarge(limit));
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** Refuses a value nested deeper than MAX_BODY_DEPTH or holding the key `__proto__`; iterative, so any depth is safe to check. */
export function checkBodyShape(value: unknown): void {
  const problem = shapeProblem(value);
  if (problem !== undefined) throw badRequest(`the request body ${problem}`);
}

/**
 * One YAML document as plain data. The yaml library's own duplicate-key check compares every pair
 * of keys (a 250 KB map took 8 s), so keys are checked here with one set per map instead.
 */
function parseYAMLBody(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) throw new Error(doc.errors[0].message.split('\n')[0]);
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (seen.has(key)) throw new Error(`map keys must be unique: "${key}" appears twice`);
        seen.add(key);
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      stack.push(...(node.items as Node[]));
    } else if (isAlias(node) || isScalar(node)) {
      continue;
    }
  }
  // An alias expands to a copy of what it names: few are allowed, so a small body cannot grow large.
  return doc.toJS({ maxAliasCount: 100 });
}

/** Parses a body as JSON, or as YAML when the content type says so; malformed, too deep or hostile bodies are 400. */
export function parseBody(text: string, contentType: string): unknown {
  const yaml = isYAML(contentType);
  let value: unknown;
  try {
    value = yaml ? parseYAMLBody(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`the request body is not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
  checkBodyShape(value);
  return value;
}
