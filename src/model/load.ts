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

function listFiles(path: string, diagnostics: Diagnostic[]): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    diagnostics.push({ severity: 'error', file: path, message: `the path "${path}" does not exist` });
    return [];
  }
  if (!stat.isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(child, diagnostics));
    else if (MANIFEST_EXTENSIONS.test(entry.name)) out.push(child);
  }
  return out;
}

/** Parses manifest texts already in memory (the web editor and tests use this directly). */
export function loadTexts(texts: readonly { file: string; text: string }[], namespace = 'default'): BuildResult {
  const objects: ManifestObject[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const { file, text } of texts) {
    const parsed = parseManifests(text, file);
    objects.push(...parsed.objects);
    diagnostics.push(...parsed.diagnostics);
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

export function loadManifests(paths: readonly string[], options: LoadOptions = {}): BuildResult {
  const diagnostics: Diagnostic[] = [];
  const texts: { file: string; text: string }[] = [];
  for (const path of paths) {
    if (path === '-') {
      texts.push({ file: '<stdin>', text: options.readStdin ? options.readStdin() : readFileSync(0, 'utf8') });
      continue;
    }
    for (const file of listFiles(path, diagnostics)) {
      try {
        texts.push({ file, text: readFileSync(file, 'utf8') });
      } catch (err) {
        diagnostics.push({ severity: 'error', file, message: `cannot read: ${(err as Error).message}` });
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
