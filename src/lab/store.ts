// The lab's state, kept between commands in an embedded SQLite database: the objects the lab
// holds (Namespaces, Pods, NetworkPolicies, as manifests), each pod's network slot and
// addresses, and the lab's own settings. Every write bumps a global resourceVersion.
import Database from 'better-sqlite3';

export type StoredKind = 'Namespace' | 'Pod' | 'NetworkPolicy';

export interface StoredObject {
  readonly kind: StoredKind;
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: number;
  readonly manifest: Record<string, unknown>;
}

export interface PodNetwork {
  readonly namespace: string;
  readonly name: string;
  readonly slot: number;
  readonly ips: readonly string[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
  kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
  resource_version INTEGER NOT NULL, manifest TEXT NOT NULL,
  PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS pod_networks (
  namespace TEXT NOT NULL, name TEXT NOT NULL, slot INTEGER NOT NULL UNIQUE, ips TEXT NOT NULL,
  PRIMARY KEY (namespace, name)
);
`;

export class LabStore {
  private constructor(private readonly db: Database.Database) {}

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

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getMeta<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  setMeta(key: string, value: unknown): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }

  private nextResourceVersion(): number {
    const rv = (this.getMeta<number>('resourceVersion') ?? 0) + 1;
    this.setMeta('resourceVersion', rv);
    return rv;
  }

  /** Creates or replaces an object; returns whether anything changed. */
  put(kind: StoredKind, namespace: string, name: string, manifest: Record<string, unknown>): boolean {
    const text = JSON.stringify(manifest);
    const existing = this.db.prepare('SELECT manifest FROM objects WHERE kind = ? AND namespace = ? AND name = ?').get(kind, namespace, name) as
      | { manifest: string }
      | undefined;
    if (existing?.manifest === text) return false;
    const rv = this.nextResourceVersion();
    this.db
      .prepare(
        `INSERT INTO objects (kind, namespace, name, resource_version, manifest) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(kind, namespace, name) DO UPDATE SET resource_version = excluded.resource_version, manifest = excluded.manifest`,
      )
      .run(kind, namespace, name, rv, text);
    return true;
  }

  remove(kind: StoredKind, namespace: string, name: string): boolean {
    const r = this.db.prepare('DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?').run(kind, namespace, name);
    if (r.changes > 0) this.nextResourceVersion();
    return r.changes > 0;
  }

  get(kind: StoredKind, namespace: string, name: string): StoredObject | undefined {
    const row = this.db.prepare('SELECT * FROM objects WHERE kind = ? AND namespace = ? AND name = ?').get(kind, namespace, name) as Row | undefined;
    return row ? toObject(row) : undefined;
  }

  list(kind?: StoredKind): StoredObject[] {
    const rows = (
      kind
        ? this.db.prepare('SELECT * FROM objects WHERE kind = ? ORDER BY namespace, name').all(kind)
        : this.db.prepare('SELECT * FROM objects ORDER BY kind, namespace, name').all()
    ) as Row[];
    return rows.map(toObject);
  }

  podNetworks(): PodNetwork[] {
    const rows = this.db.prepare('SELECT * FROM pod_networks ORDER BY slot').all() as { namespace: string; name: string; slot: number; ips: string }[];
    return rows.map((r) => ({ namespace: r.namespace, name: r.name, slot: r.slot, ips: JSON.parse(r.ips) as string[] }));
  }

  podNetwork(namespace: string, name: string): PodNetwork | undefined {
    return this.podNetworks().find((p) => p.namespace === namespace && p.name === name);
  }

  /** The lowest free slot (slots name the pod's namespace and veth). */
  freeSlot(): number {
    const used = new Set(this.podNetworks().map((p) => p.slot));
    let slot = 1;
    while (used.has(slot)) slot++;
    return slot;
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
    manifest: JSON.parse(row.manifest) as Record<string, unknown>,
  };
}
