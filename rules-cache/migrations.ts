/**
 * Schema of the local cache, as numbered migrations tracked by `PRAGMA user_version`.
 *
 * Append-only: a released migration is never edited or reordered, because installed
 * databases have already run it; a schema change is a new entry at the end. All pending
 * migrations run in one transaction, so a database is always at one known version.
 */
import type Database from 'better-sqlite3';

/** One schema step: `sql` takes a database at `version - 1` to `version`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every schema step, oldest first; entry n has version n + 1. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'settings, install secret, rule libraries, ledger, audit trail',
    sql: `
      -- Small durable settings; values are JSON text.
      CREATE TABLE settings (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL CHECK (json_valid(value))
      ) STRICT;

      -- The per-install HMAC key for patient ids. Its own table rather than a setting, so
      -- that code listing or exporting settings can never reveal it.
      CREATE TABLE install_secret (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        secret BLOB NOT NULL CHECK (length(secret) = 32),
        created_at TEXT NOT NULL
      ) STRICT;

      -- At most one active and one previous library. slot is NULL only for the moment a
      -- rollback swaps the two inside its transaction.
      CREATE TABLE libraries (
        id INTEGER PRIMARY KEY,
        slot TEXT UNIQUE CHECK (slot IN ('active', 'previous')),
        version INTEGER NOT NULL,
        source TEXT NOT NULL,
        rule_count INTEGER NOT NULL,
        counts TEXT NOT NULL CHECK (json_valid(counts)),
        applied_at TEXT NOT NULL,
        published_at TEXT,
        expires_at TEXT,
        meta TEXT CHECK (meta IS NULL OR json_valid(meta))
      ) STRICT;

      -- One row per rule; body is the rule's canonical JSON (rules.md). position keeps the
      -- source order, which is the order findings are reported in.
      CREATE TABLE rules (
        library_id INTEGER NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        rule_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (library_id, position),
        UNIQUE (library_id, rule_id)
      ) STRICT;

      -- Committed order items. Patient and visit ids are stored only as keyed hashes.
      CREATE TABLE ledger (
        rx_id TEXT PRIMARY KEY NOT NULL,
        patient_key TEXT NOT NULL,
        visit_key TEXT NOT NULL,
        check_id TEXT NOT NULL,
        date TEXT NOT NULL,
        item TEXT NOT NULL CHECK (json_valid(item)),
        recorded_at TEXT NOT NULL
      ) STRICT;
      -- Every check asks for one patient's items since a date.
      CREATE INDEX ledger_patient_date ON ledger (patient_key, date);
      -- Retention purges by date alone.
      CREATE INDEX ledger_date ON ledger (date);

      -- Append-only, hash-chained (audit-hash.ts says what is hashed).
      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        type TEXT NOT NULL,
        check_id TEXT,
        patient_key TEXT,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_type ON audit (type, seq);
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
      BEGIN
        SELECT RAISE(ABORT, 'audit trail is append-only: records cannot be updated');
      END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
      BEGIN
        SELECT RAISE(ABORT, 'audit trail is append-only: records cannot be deleted');
      END;
    `,
  },
  {
    version: 2,
    name: 'rule library digest, so a library validated when written is only integrity-checked when read',
    sql: `
      -- sha256 over the library's rule bodies in position order (each followed by a newline),
      -- and the rule-model version they were validated against. NULL for libraries written
      -- before this migration: those are validated rule by rule, as before.
      ALTER TABLE libraries ADD COLUMN rules_digest TEXT;
      ALTER TABLE libraries ADD COLUMN model_version INTEGER;
    `,
  },
  {
    version: 3,
    name: 'secret out of the database, staged rule libraries, audit retention',
    sql: `
      -- The HMAC secret now lives in an owner-only key file beside the database (key-file.ts);
      -- the store copies it out before this migration runs.
      DROP TABLE install_secret;

      -- A library being written in slices by the apply worker: staged = 1 and no slot until one
      -- short transaction makes it active. A library with no slot and staged = 0 is retired
      -- (an old previous, or a staging left by a crash) and is deleted in small batches.
      ALTER TABLE libraries ADD COLUMN staged INTEGER NOT NULL DEFAULT 0;

      -- Audit retention: records up to through_seq may be deleted (oldest first); every purge
      -- also appends an audit.purged record naming the last purged hash, so the remaining
      -- chain still verifies from its first record.
      CREATE TABLE audit_purge (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        through_seq INTEGER NOT NULL
      ) STRICT;
      DROP TRIGGER audit_no_delete;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
      WHEN OLD.seq > coalesce((SELECT through_seq FROM audit_purge WHERE id = 1), 0)
      BEGIN
        SELECT RAISE(ABORT, 'audit trail is append-only: only records past retention can be purged');
      END;
    `,
  },
  {
    version: 4,
    name: 'hub outbox',
    sql: `
      -- Events for the hospital hub, written in the same transaction as the local write they
      -- describe and deleted once the hub acknowledged them. body is AES-256-GCM ciphertext
      -- (the events carry patient ids, which the database never holds in the clear).
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        body BLOB NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
    `,
  },
];

/** The schema version this build of the app writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Thrown when a database was written by a newer app; opening it could corrupt its data. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly file: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `database ${file} has schema version ${found}, newer than the ${supported} this version of RxGate knows; ` +
        'upgrade RxGate or point it at another data folder (the file was left untouched)',
    );
    this.name = 'SchemaTooNewError';
  }
}

/**
 * Brings `database` to the newest schema in `migrations`: every pending migration and the new
 * `user_version` in one IMMEDIATE transaction, so two processes opening the same new file
 * cannot both migrate it, and a failure leaves the database exactly as it was.
 */
export function migrate(
  database: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  checkMigrationList(migrations);
  const latest = migrations.length;
  const current = schemaVersion(database);
  if (current > latest) throw new SchemaTooNewError(database.name, current, latest);
  // The usual open: nothing to do, so take no write lock.
  if (current === latest) return { from: current, to: current };
  const run = database.transaction(() => {
    // Read again under the write lock: another process may have migrated in between.
    const from = schemaVersion(database);
    if (from > latest) throw new SchemaTooNewError(database.name, from, latest);
    for (const migration of migrations.slice(from)) {
      try {
        database.exec(migration.sql);
      } catch (error) {
        throw new Error(`migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    // PRAGMA takes no bound parameters; `latest` is an integer computed above, not input.
    if (from < latest) database.pragma(`user_version = ${latest}`);
    return { from, to: latest };
  });
  return run.immediate();
}

/** The database's `user_version`: 0 for a new file. */
export function schemaVersion(database: Database.Database): number {
  return database.pragma('user_version', { simple: true }) as number;
}

/** Numbering mistakes in the list itself are programming errors; catch them before any SQL runs. */
function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration list is out of order: entry ${index} has version ${migration.version}, expected ${index + 1}`);
    }
  });
}
