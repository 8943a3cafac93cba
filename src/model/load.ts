// The only place the model touches the filesystem: `-f` paths (files, directories, `-` for
// stdin) are read, parsed and built into a Cluster, as `kubectl apply -f` would read them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildCluster, type BuildResult } from './cluster.js';
import type { Diagnostic } from './diagnostics.js';
import { parseManifests, type ManifestObject } from './parse.js';

export interface LoadOptions {
  /** Where objects without metadata.namespace go (`-n`); `default` if unset. */
  readonly namespace?: string;
  /** Reads standard input for the path `-`. */
  readonly readStdin?: () => string;
}

const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i;

/** A read error in a few words, with the path left to the diagnostic (no raw `EACCES: ..., open '...'`). */
function readError(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOENT':
      return 'does not exist';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    default:
      return err instanceof Error ? err.message.split('\n')[0] : String(err);
  }
}

/**
 * The manifest files a `-f` path names. A path given explicitly is read whatever it is (so
 * `-f <(...)`, a pipe, works); inside a directory only regular files are read: a FIFO or socket
 * with a manifest's name would block the read forever.
 */
function listFiles(path: string, diagnostics: Diagnostic[]): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    diagnostics.push({ severity: 'error', file: path, message: code === 'ENOENT' ? `the path "${path}" does not exist` : `cannot read: ${readError(err)}` });
    return [];
  }
  if (!stat.isDirectory()) return [path];
  let entries;
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch (err) {
    diagnostics.push({ severity: 'error', file: path, message: `cannot read: ${readError(err)}` });
    return [];
  }
  const out: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) {
      for (const f of listFiles(child, diagnostics)) out.push(f);
      continue;
    }
    if (!MANIFEST_EXTENSIONS.test(entry.name)) continue;
    // A symbolic link is read when it leads to a regular file, as kubectl reads it.
    let regular = entry.isFile();
    if (entry.isSymbolicLink()) {
      try {
        regular = statSync(child).isFile();
      } catch (err) {
        diagnostics.push({ severity: 'error', file: child, message: `cannot read: ${readError(err)}` });
        continue;
      }
    }
    if (regular) out.push(child);
    else diagnostics.push({ severity: 'notice', file: child, message: 'skipped: not a regular file' });
  }
  return out;
}

/** Parses manifest texts already in memory (the web editor and tests use this directly). */
export function loadTexts(texts: readonly { file: string; text: string }[], namespace = 'default'): BuildResult {
  const objects: ManifestObject[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const { file, text } of texts) {
    const parsed = parseManifests(text, file);
    // One push per element: a spread of 150,000 arguments overflows the stack.
    for (const o of parsed.objects) objects.push(o);
    for (const d of parsed.diagnostics) diagnostics.push(d);
  }
  const built = buildCluster(objects, namespace);
  // Report in reading order: by file as given, then by position.
  const fileOrder = new Map(texts.map((t, i) => [t.file, i]));
  const all = [...diagnostics, ...built.diagnostics].sort(
    (a, b) =>
      (fileOrder.get(a.file) ?? 0) - (fileOrder.get(b.file) ?? 0) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
  return all.some((d) => d.severity === 'error')
    ? { diagnostics: all, skipped: built.skipped }
    : { ...built, diagnostics: all };
}

/** How standard input (`-f -`) is named in diagnostics. */
export const STDIN = '<stdin>';

export function loadManifests(paths: readonly string[], options: LoadOptions = {}): BuildResult {
  const diagnostics: Diagnostic[] = [];
  const texts: { file: string; text: string }[] = [];
  for (const path of paths) {
    if (path === '-') {
      try {
        texts.push({ file: STDIN, text: options.readStdin ? options.readStdin() : readFileSync(0, 'utf8') });
      } catch (err) {
        diagnostics.push({ severity: 'error', file: STDIN, message: `cannot read: ${readError(err)}` });
      }
      continue;
    }
    for (const file of listFiles(path, diagnostics)) {
      try {
        texts.push({ file, text: readFileSync(file, 'utf8') });
      } catch (err) {
        diagnostics.push({ severity: 'error', file, message: `cannot read: ${readError(err)}` });
      }
    }
  }
  const built = loadTexts(texts, options.namespace);
  const all = [...diagnostics, ...built.diagnostics];
  return all.some((d) => d.severity === 'error') ? { diagnostics: all, skipped: built.skipped } : { ...built, diagnostics: all };
}

/**
 * Builds a cluster from objects an apiserver already holds (no text, no positions): invalid
 * objects are left out and reported, unknown fields ignored, so one odd object never hides the rest.
 */
export function clusterFromObjects(objects: readonly Record<string, unknown>[], namespace = 'default'): BuildResult {
  const manifests: ManifestObject[] = objects.map((value, i) => {
    const meta = (value.metadata ?? {}) as Record<string, unknown>;
    return {
      value,
      file: `${String(value.kind)} ${meta.namespace ? `${String(meta.namespace)}/` : ''}${String(meta.name)}`,
      document: i + 1,
      multiDocument: false,
      prefix: [],
      locate: () => ({ line: 1, column: 1 }),
    };
  });
  return buildCluster(manifests, namespace, { lenient: true });
}
