// The lab's state, kept between commands and restarts in an embedded SQLite database: the
// objects the lab holds (Namespaces, Pods, Services, NetworkPolicies, Nodes and the admin policy
// kinds, as manifests), each pod's network slot and addresses, and the lab's settings. Writes keep metadata the way the apiserver keeps it
// (uid, creationTimestamp, generation, a global resourceVersion) and append to an event log that
// watches resume from; listeners in this process hear every change as it is committed.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import Database from 'better-sqlite3';
import type { Manifest } from '../model/index.js';

export type StoredKind =
  | 'Namespace'
  | 'Pod'
  | 'NetworkPolicy'
  | 'Service'
  | 'Node'
  | 'AdminNetworkPolicy'
  | 'BaselineAdminNetworkPolicy'
  | 'ClusterNetworkPolicy';

export interface StoredObject {
  readonly kind: StoredKind;
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: number;
  /** The manifest with metadata.resourceVersion filled in. */
  readonly manifest: Record<string, unknown>;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly type: WatchEventType;
  readonly object: StoredObject;
}

export interface PodNetwork {
  readonly namespace: string;
  readonly name: string;
  readonly slot: number;
  readonly ips: readonly string[];
}

/** How many events a watch can resume over; older resourceVersions get 410 Gone. */
export const EVENT_LOG_SIZE = 10_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
  kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
  resource_version INTEGER NOT NULL, manifest TEXT NOT NULL,
  PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS events (
  resource_version INTEGER PRIMARY KEY, type TEXT NOT NULL,
  kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, manifest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pod_networks (
  namespace TEXT NOT NULL, name TEXT NOT NULL, slot INTEGER NOT NULL UNIQUE, ips TEXT NOT NULL,
  PRIMARY KEY (namespace, name)
);
`;

type Meta = Record<string, unknown>;

const metaOf = (m: Manifest): Meta => (m.metadata && typeof m.metadata === 'object' ? (m.metadata as Meta) : {});

/** The parts of a manifest that say what it is, without the bookkeeping the store adds. */
function content(m: Manifest): string {
  const { resourceVersion: _rv, generation: _g, uid: _u, creationTimestamp: _c, managedFields: _mf, ...meta } = metaOf(m);
  return JSON.stringify({ ...m, metadata: meta });
}

function withResourceVersion(manifest: Manifest, rv: number): Manifest {
  return { ...manifest, metadata: { ...metaOf(manifest), resourceVersion: String(rv) } };
}

export class LabStore {
  private readonly emitter = new EventEmitter();

  private constructor(private readonly db: Database.Database) {
    this.emitter.setMaxListeners(0);
  }

  static open(path: string): LabStore {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new LabStore(db);
  }

  close(): void {
    this.db.close();
  }

  /** Runs fn in one transaction; listeners hear its changes after it commits, and none if it fails. */
  transaction<T>(fn: () => T): T {
    try {
      const result = this.db.transaction(fn)();
      this.flush();
      return result;
    } catch (err) {
      this.pending = [];
      throw err;
    }
  }

  getMeta<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  setMeta(key: string, value: unknown): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }

  /** The resourceVersion of the latest change (what a list reports). */
  currentResourceVersion(): number {
    return this.getMeta<number>('resourceVersion') ?? 0;
  }

  private nextResourceVersion(): number {
    const rv = this.currentResourceVersion() + 1;
    this.setMeta('resourceVersion', rv);
    return rv;
  }

  /** Listens to every committed change; returns the function that stops listening. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  private record(type: WatchEventType, object: StoredObject): void {
    this.db
      .prepare('INSERT INTO events (resource_version, type, kind, namespace, name, manifest) VALUES (?, ?, ?, ?, ?, ?)')
      .run(object.resourceVersion, type, object.kind, object.namespace, object.name, JSON.stringify(object.manifest));
    this.db.prepare('DELETE FROM events WHERE resource_version <= ?').run(object.resourceVersion - EVENT_LOG_SIZE);
    const event: StoreEvent = { type, object };
    // Listeners hear the change once it is committed, not from inside a transaction that may roll back.
    if (this.db.inTransaction) this.pending.push(event);
    else this.emitter.emit('event', event);
  }

  private pending: StoreEvent[] = [];

  private flush(): void {
    const events = this.pending;
    this.pending = [];
    for (const e of events) this.emitter.emit('event', e);
  }

  /**
   * Creates or replaces an object, keeping uid and creationTimestamp, bumping generation when
   * the spec changes; returns the stored object, or undefined when nothing changed.
   */
  put(kind: StoredKind, namespace: string, name: string, manifest: Manifest): StoredObject | undefined {
    const existing = this.get(kind, namespace, name);
    if (existing && content(existing.manifest) === content(manifest)) return undefined;
    const rv = this.nextResourceVersion();
    const oldMeta = existing ? metaOf(existing.manifest) : {};
    const newMeta = metaOf(manifest);
    const specChanged = !existing || JSON.stringify(existing.manifest.spec) !== JSON.stringify(manifest.spec);
    const metadata: Meta = {
      ...newMeta,
      uid: oldMeta.uid ?? newMeta.uid ?? randomUUID(),
      creationTimestamp: oldMeta.creationTimestamp ?? newMeta.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      generation: existing ? Number(oldMeta.generation ?? 1) + (specChanged ? 1 : 0) : 1,
    };
    delete metadata.resourceVersion;
    const stored = { ...manifest, metadata };
    this.db
      .prepare(
        `INSERT INTO objects (kind, namespace, name, resource_version, manifest) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(kind, namespace, name) DO UPDATE SET resource_version = excluded.resource_version, manifest = excluded.manifest`,
      )
      .run(kind, namespace, name, rv, JSON.stringify(stored));
    const object: StoredObject = { kind, namespace, name, resourceVersion: rv, manifest: withResourceVersion(stored, rv) };
    this.record(existing ? 'MODIFIED' : 'ADDED', object);
    return object;
  }

  /** Removes an object; returns it as it was (with the deletion's resourceVersion), if it existed. */
  remove(kind: StoredKind, namespace: string, name: string): StoredObject | undefined {
    const existing = this.get(kind, namespace, name);
    if (!existing) return undefined;
    this.db.prepare('DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?').run(kind, namespace, name);
    const rv = this.nextResourceVersion();
    const object: StoredObject = { ...existing, resourceVersion: rv, manifest: withResourceVersion(existing.manifest, rv) };
    this.record('DELETED', object);
    return object;
  }

  get(kind: StoredKind, namespace: string, name: string): StoredObject | undefined {
    const row = this.db.prepare('SELECT * FROM objects WHERE kind = ? AND namespace = ? AND name = ?').get(kind, namespace, name) as Row | undefined;
    return row ? toObject(row) : undefined;
  }

  list(kind?: StoredKind, namespace?: string): StoredObject[] {
    let rows: Row[];
    if (kind && namespace !== undefined) {
      rows = this.db.prepare('SELECT * FROM objects WHERE kind = ? AND namespace = ? ORDER BY namespace, name').all(kind, namespace) as Row[];
    } else if (kind) rows = this.db.prepare('SELECT * FROM objects WHERE kind = ? ORDER BY namespace, name').all(kind) as Row[];
    else rows = this.db.prepare('SELECT * FROM objects ORDER BY kind, namespace, name').all() as Row[];
    return rows.map(toObject);
  }

  /**
   * Events after `resourceVersion`, oldest first; undefined when the log no longer reaches back
   * that far (the watch must re-list: 410 Gone).
   */
  eventsSince(resourceVersion: number, kind?: StoredKind): StoreEvent[] | undefined {
    const oldest = (this.db.prepare('SELECT MIN(resource_version) AS rv FROM events').get() as { rv: number | null }).rv;
    const current = this.currentResourceVersion();
    if (resourceVersion < current && (oldest === null || resourceVersion < oldest - 1)) return undefined;
    const rows = (
      kind
        ? this.db.prepare('SELECT * FROM events WHERE resource_version > ? AND kind = ? ORDER BY resource_version').all(resourceVersion, kind)
        : this.db.prepare('SELECT * FROM events WHERE resource_version > ? ORDER BY resource_version').all(resourceVersion)
    ) as (Row & { type: WatchEventType })[];
    return rows.map((r) => ({ type: r.type, object: toObject(r) }));
  }

  podNetworks(): PodNetwork[] {
    const rows = this.db.prepare('SELECT * FROM pod_networks ORDER BY slot').all() as { namespace: string; name: string; slot: number; ips: string }[];
    return rows.map((r) => ({ namespace: r.namespace, name: r.name, slot: r.slot, ips: JSON.parse(r.ips) as string[] }));
  }

  podNetwork(namespace: string, name: string): PodNetwork | undefined {
    const row = this.db.prepare('SELECT * FROM pod_networks WHERE namespace = ? AND name = ?').get(namespace, name) as
      | { namespace: string; name: string; slot: number; ips: string }
      | undefined;
    return row ? { namespace: row.namespace, name: row.name, slot: row.slot, ips: JSON.parse(row.ips) as string[] } : undefined;
  }

  setPodNetwork(net: PodNetwork): void {
    this.db
      .prepare(
        `INSERT INTO pod_networks (namespace, name, slot, ips) VALUES (?, ?, ?, ?)
         ON CONFLICT(namespace, name) DO UPDATE SET slot = excluded.slot, ips = excluded.ips`,
      )
      .run(net.namespace, net.name, net.slot, JSON.stringify(net.ips));
  }

  removePodNetwork(namespace: string, name: string): void {
    this.db.prepare('DELETE FROM pod_networks WHERE namespace = ? AND name = ?').run(namespace, name);
  }
}

interface Row {
  kind: StoredKind;
  namespace: string;
  name: string;
  resource_version: number;
  manifest: string;
}

function toObject(row: Row): StoredObject {
  return {
    kind: row.kind,
    namespace: row.namespace,
    name: row.name,
    resourceVersion: row.resource_version,
    manifest: withResourceVersion(JSON.parse(row.manifest) as Manifest, row.resource_version),
  };
}
