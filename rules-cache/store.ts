/**
 * The SQLite store behind store-contract.ts: settings, the active and previous rule library,
 * the ledger of committed orders, and the hash-chained audit trail.
 *
 * Habits (architecture.md): every SQL statement is parameterised and prepared once, when the
 * store opens; transactions are synchronous and short, with validation and serialisation
 * done before they start; writes use IMMEDIATE transactions so that a second process on the
 * same file (the CLI next to a running agent) waits for the lock instead of failing halfway.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { auditHash, auditHashOfText, GENESIS_HASH, storedCanonicalJson, storedText } from './audit-hash';
import { Checkpointer } from './checkpointer';
import {
  KeyFileError,
  deriveKeys,
  newSecret,
  readKeyFile,
  secureDirectory,
  secureFile,
  writeKeyFile,
  type InstallKeys,
  type SecretSealer,
} from './key-file';
import { SCHEMA_VERSION, SchemaTooNewError, migrate, schemaVersion } from './migrations';
import { RULE_MODEL_VERSION, RuleLibraryError, describeIssue, parseRule, validateRules, type Rule, type RuleLibrary, type RuleProblem } from './model';
import type {
  AuditEvent,
  AuditRecord,
  AuditVerification,
  LedgerItem,
  LedgerOrder,
  LibraryInfo,
  Store,
} from './store-contract';

/** Prescription history older than this many days is purged (product.md, Privacy and security). */
export const DEFAULT_RETENTION_DAYS = 180;

/**
 * How long a statement waits for another connection's lock. Applying a 100,000-rule library
 * holds the write lock for about a second; five seconds covers that with room to spare.
 */
const BUSY_TIMEOUT_MILLISECONDS = 5000;

/** WAL is truncated back to this size after a checkpoint, so one big apply does not leave a huge file behind. */
const JOURNAL_SIZE_LIMIT_BYTES = 32 * 1024 * 1024;

/** Written in place of a raw patient id found among audit data values. */
export const REDACTED_PATIENT_ID = '[patient id removed]';

/** How {@link openStore} behaves; both have defaults suited to the installed agent. */
export interface StoreOptions {
  /** Clock for audit times, library apply times and the retention cutoff; tests pin it. */
  now?: () => Date;
  /** Ledger rows dated more than this many days before today are purged; default 180. */
  retentionDays?: number;
  /**
   * Purge expired ledger rows while opening (default true). The agent passes false and purges
   * in small batches after it is listening, so a PC that was off for a month does not start
   * slowly.
   */
  purgeOnOpen?: boolean;
  /** The install's key file; default `rxgate.key` beside the database file. */
  keyFile?: string;
  /** Seals a new key file with the OS key store, and opens one sealed that way (desktop app). */
  sealer?: SecretSealer;
  /** Keys to use as they are, for in-memory stores (tests); a file store always uses its key file. */
  keys?: InstallKeys;
  /**
   * Checkpoint the write-ahead log on a worker thread rather than inside the commit that fills
   * it (the agent: see checkpointer.ts), telling `log` when that fails. Default: SQLite's own.
   */
  checkpointInWorker?: { log: (line: string) => void };
}

/** The last record of the audit chain: what an anchor (the file beside the database, the hub) keeps. */
export interface AuditHead {
  seq: number;
  hash: string;
}

/** Where a verification that runs in pages has got to. */
export interface AuditCursor {
  /** The last record verified (seq 0 and the genesis hash before the first). */
  head: AuditHead;
  count: number;
  /** The anchor the chain must still reach, checked when the walk ends. */
  anchor: AuditHead | null;
}

/** What the ledger comparison found: orders compared, orders short of rows, the earliest such. */
export interface LedgerVerification {
  checked: number;
  missing: number;
  first?: { seq: number; checkId: string };
}

/** Where a paged ledger comparison has got to (start with `after` 0, an empty map, `toCount` null). */
export interface LedgerCursor extends LedgerVerification {
  /** The last commit record read. */
  after: number;
  latest: Map<string, { seq: number; checkId: string; patientKey: string; recorded: number }>;
  /** Once every commit record is read: the orders still to count. */
  toCount: Array<{ seq: number; checkId: string; patientKey: string; recorded: number }> | null;
}

/** A library row written in slices by the apply worker, not yet active. */
export interface StagedLibraryHeader {
  version: number;
  source: string;
  publishedAt?: string;
  expiresAt?: string;
  ruleCount: number;
  counts: Record<string, number>;
  /** The keyed digest over every rule body in order ({@link SqliteStore.libraryDigest}). */
  digest: string;
  meta?: Record<string, unknown>;
}

/** The contract's store plus what the SQLite implementation adds. */
export interface SqliteStore extends Store {
  /**
   * Makes the previous library active again and the active one previous (so a second rollback
   * undoes the first). Throws when there is no previous library. The swapped-in rules are
   * checked by the next `activeLibrary()`, as always.
   */
  rollbackLibrary(): LibraryInfo;
  /**
   * Purges ledger rows older than the retention period, counted back from `now()`; the store
   * does this when it opens, and a long-running agent calls it once a day. Returns how many.
   */
  purgeExpiredLedger(): number;
  /**
   * Purges at most `limit` expired ledger rows (oldest first); returns how many. Called
   * repeatedly, it spreads a large purge over many short transactions.
   */
  purgeExpiredLedgerBatch(limit: number): number;
  /** Writes rules already validated by `Rule` (see the implementation) in one transaction, with its audit record. */
  applyValidatedRows(header: Omit<RuleLibrary, 'rules'>, rows: readonly StoredRule[], meta?: Record<string, unknown>): LibraryInfo;
  /** The keyed digest of rule bodies in order, as stored with a library and checked when it is read. */
  libraryDigest(bodies: readonly string[]): string;
  /** The same digest over the bodies already encoded as UTF-8, each followed by a newline, in pieces. */
  libraryDigestOfText(pieces: readonly Uint8Array[]): string;
  /** Starts a staged library (not active, invisible to checks); returns its id for {@link stageRules}. */
  beginStagedLibrary(header: StagedLibraryHeader): number;
  /** Writes one slice of a staged library's rules, at positions from `firstPosition`, in one short transaction. */
  stageRules(libraryId: number, firstPosition: number, rows: readonly StoredRule[]): void;
  /**
   * Makes a fully staged library active in one short transaction, together with its audit
   * record: the active one becomes previous, the old previous is retired (deleted later in
   * batches). Throws, changing nothing, when the staging is incomplete or gone.
   */
  activateStagedLibrary(libraryId: number): LibraryInfo;
  /** Retires stagings a crashed apply left behind; the agent calls it once at start. */
  retireAbandonedStaging(): number;
  /** Deletes at most `limit` rule rows of retired libraries; returns how many (0: nothing left). */
  purgeRetiredLibrariesBatch(limit: number): number;
  /** Keyed hash of a visit id (hex), as the ledger stores it. */
  visitKey(visitId: string): string;
  /** The newest audit record's seq and hash, or null for an empty trail. */
  auditHead(): AuditHead | null;
  /** The hash of audit record `seq`, or null when there is none (not written yet, or purged by retention). */
  auditHashAt(seq: number): string | null;
  /** Writes the chain head to the anchor file beside the database (keyed, so it cannot be forged without the key). */
  writeAuditAnchor(): AuditHead | null;
  /**
   * Starts a verification: from the anchor file's record when `fromAnchor` (fast, at start-up),
   * otherwise from the first record kept. Returns a cursor, or the failure when the start
   * itself is already wrong (the anchor no longer matches, records before the first are gone).
   */
  startAuditVerification(fromAnchor: boolean): AuditCursor | AuditVerification;
  /** Verifies up to `limit` more records; `done` with the result once the chain's end is reached. */
  continueAuditVerification(cursor: AuditCursor, limit: number): { done: false; cursor: AuditCursor } | { done: true; result: AuditVerification };
  /**
   * Compares the ledger with the audit trail: every order whose `commit` record (the latest for
   * that check and patient) is still within retention must still have the rows it recorded. A
   * patient's history deleted behind the agent's back shows up here. Returns how many orders
   * were compared and the first one found short.
   */
  verifyLedger(): LedgerVerification;
  /** The same comparison in pages of `limit` records or orders, for a walk that yields between pages. */
  continueLedgerVerification(cursor: LedgerCursor, limit: number): { done: false; cursor: LedgerCursor } | { done: true; result: LedgerVerification };
  /** Appends an audit record, and when `outbox` is given, that hub event in the same transaction. */
  appendAudit(event: AuditEvent, outbox?: unknown): AuditRecord;
  /** Records a committed order with its audit record and, when given, its hub event, in one transaction. */
  recordOrder(order: LedgerOrder, audit?: AuditEvent, outbox?: unknown): number;
  /** Queues a hub event on its own (status reports, audit heads). */
  addToOutbox(body: unknown): void;
  /** The oldest undelivered hub events, decrypted, in order. */
  outboxPending(limit: number): Array<{ seq: number; id: string; body: unknown }>;
  /** Forgets the events the hub acknowledged (every seq ≤ `seq`). */
  outboxDelivered(seq: number): void;
  outboxBacklog(): number;
  /** Purges at most `limit` audit records older than the retention period (oldest first), recording the purge in the chain; returns how many. */
  purgeExpiredAuditBatch(limit: number): number;
  /** False once `close()` ran: timers that outlive the agent check it before touching the file. */
  isOpen(): boolean;
  /** Appends several audit records in one transaction; all or none. Returns them without their data, which only the trail holds. */
  appendAuditBatch(events: readonly AuditEvent[]): AppendedAudit[];
  /**
   * Checks an audit event and makes the text that will be hashed and stored, without writing:
   * the costly half of an append, for a caller that does it while nothing waits and appends later.
   * Throws as `appendAuditBatch` would for a bad event.
   */
  prepareAudit(event: AuditEvent): PreparedAudit;
  /** `appendAuditBatch` for events already prepared: one transaction, all or none, in order. */
  appendPreparedAudit(prepared: readonly PreparedAudit[]): AppendedAudit[];
  /** Removes a setting; `setSetting(key, undefined)` does the same. */
  deleteSetting(key: string): void;
}

function libraryOf(row: LibraryRow, rules: Rule[]): { library: RuleLibrary; info: LibraryInfo } {
  const info = toLibraryInfo(row);
  const library: RuleLibrary = { version: row.version, source: row.source, rules };
  if (info.publishedAt !== undefined) library.publishedAt = info.publishedAt;
  if (info.expiresAt !== undefined) library.expiresAt = info.expiresAt;
  return { library, info };
}

/**
 * The version a new library must exceed to replace `active`. The built-in demo library is the
 * floor: any verified pack or imported library replaces it, whatever its number.
 */
export function versionToBeat(active: LibraryInfo | null): number {
  return !active || active.source === 'demo' ? 0 : active.version;
}

/**
 * Digest over rule bodies in order, each followed by a newline (a body is one-line JSON):
 * `hmac:` and HMAC-SHA256 with the install's library key, so that a library edited inside the
 * database cannot be given a matching digest without the key file; plain sha256 hex for
 * libraries written before schema 3.
 */
function rulesDigest(bodies: readonly string[], key?: Buffer): string {
  const digest = rulesDigester(key);
  for (const body of bodies) digest.add(body);
  return digest.finish();
}

/** The same digest, a body at a time, for bodies that are read and dropped one by one. */
function rulesDigester(key?: Buffer): { add(body: string): void; addText(text: Uint8Array): void; finish(): string } {
  const hash = key ? createHmac('sha256', key) : createHash('sha256');
  return {
    add(body) {
      hash.update(body);
      hash.update('\n');
    },
    // Bodies already encoded, each with its newline: the same bytes `add` hashes one by one.
    addText(text) {
      hash.update(text);
    },
    finish: () => (key ? `hmac:${hash.digest('hex')}` : hash.digest('hex')),
  };
}

/** Thrown when a stored library no longer matches its digest: it was changed outside the agent. */
export class LibraryTamperedError extends Error {
  override name = 'LibraryTamperedError';
}

function tampered(row: LibraryRow, found: number): LibraryTamperedError {
  return new LibraryTamperedError(
    `规则库 版本 ${row.version} 的内容与写入时的摘要不符 (${found}/${row.rule_count} 条): 数据库在 RxGate 之外被修改过, 该规则库不再使用`,
  );
}

/** The default key file: beside the database. */
export function defaultKeyFile(databaseFile: string): string {
  return join(dirname(databaseFile), 'rxgate.key');
}

/** The audit anchor file: beside the database. */
function anchorFile(databaseFile: string): string {
  return join(dirname(databaseFile), 'audit-head.json');
}

/**
 * Opens (creating and migrating if needed) the store at `file`, or an in-memory one for
 * `:memory:`. Refuses a database written by a newer schema with {@link SchemaTooNewError},
 * and purges expired ledger rows before returning.
 */
export function openStore(file: string, options: StoreOptions = {}): SqliteStore {
  const now = options.now ?? (() => new Date());
  const retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new RangeError(`retentionDays must be a whole number of days, at least 1 (got ${String(retentionDays)})`);
  }
  const inMemory = file === ':memory:';
  if (!inMemory) {
    // Owner-only from the first byte: SQLite gives the -wal and -shm files the database's mode.
    secureDirectory(dirname(file));
    try {
      closeSync(openSync(file, 'a', 0o600));
    } catch (error) {
      throw new Error(`cannot open the rule cache database ${file}: ${messageOf(error)}`, { cause: error });
    }
    for (const suffix of ['', '-wal', '-shm']) secureFile(`${file}${suffix}`);
  }
  let database: Database.Database;
  let checkpointer: Checkpointer | null = null;
  try {
    database = new Database(file, { timeout: BUSY_TIMEOUT_MILLISECONDS });
  } catch (error) {
    throw new Error(`cannot open the rule cache database ${file}: ${messageOf(error)}`, { cause: error });
  }
  try {
    database.pragma('foreign_keys = ON');
    // The schema of a file someone else may have edited must not run functions we did not allow.
    database.pragma('trusted_schema = OFF');
    // Checked before anything writes to the file (journal_mode below already would).
    const found = schemaVersion(database);
    if (found > SCHEMA_VERSION) throw new SchemaTooNewError(file, found, SCHEMA_VERSION);
    database.pragma('journal_mode = WAL');
    // NORMAL is SQLite's recommended setting under WAL: a crash of the app loses nothing
    // committed and the file never corrupts; only a power cut may drop the last moments of
    // commits. FULL would put an fsync on the agent's thread for every audit batch, which the
    // check latency target (p99 5 ms) cannot afford.
    database.pragma('synchronous = NORMAL');
    // Purged ledger rows are zeroed on disk, not just unlinked, so retention means gone.
    database.pragma('secure_delete = ON');
    database.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
    const keys = inMemory
      ? (options.keys ?? deriveKeys(newSecret(), 1))
      : loadKeys(database, options.keyFile ?? defaultKeyFile(file), options.sealer, now);
    migrate(database);
    checkFingerprint(database, keys, options.keyFile ?? defaultKeyFile(file));
    if (options.checkpointInWorker && !inMemory) {
      database.pragma('wal_autocheckpoint = 0');
      const opened = database;
      checkpointer = new Checkpointer(file, () => opened.pragma('wal_checkpoint(PASSIVE)'), options.checkpointInWorker.log);
    }
    const store = new SqliteRuleStore(database, file, now, retentionDays, keys, checkpointer);
    if (options.purgeOnOpen !== false) store.purgeExpiredLedger();
    return store;
  } catch (error) {
    checkpointer?.close();
    database.close();
    if (error instanceof SchemaTooNewError || error instanceof KeyFileError) throw error;
    throw new Error(`cannot open the rule cache database ${file}: ${messageOf(error)}`, { cause: error });
  }
}

interface LibraryRow {
  id: number;
  version: number;
  source: string;
  rule_count: number;
  counts: string;
  applied_at: string;
  published_at: string | null;
  expires_at: string | null;
  meta: string | null;
  rules_digest: string | null;
  model_version: number | null;
}

interface AuditRow {
  seq: number;
  at: string;
  type: string;
  check_id: string | null;
  patient_key: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

/** A rule ready to insert: validated and serialised before the transaction starts. */
/** A validated rule as a row: its id, kind and canonical JSON body. */
export interface StoredRule {
  ruleId: string;
  kind: string;
  body: string;
}

/** The row for a rule that passed `Rule`. */
export function storedRule(rule: Rule): StoredRule {
  return { ruleId: rule.id, kind: rule.kind, body: JSON.stringify(rule) };
}

interface LedgerRow {
  rxId: string;
  date: string;
  item: string;
}

type Slot = 'active' | 'previous';

const LEDGER_ITEM_FIELDS = [
  'rxId',
  'code',
  'hospCode',
  'name',
  'category',
  'date',
  'days',
  'qty',
  'amount',
  'deptCode',
  'deptName',
  'doctorCode',
  'doctorName',
  'channel',
] as const satisfies readonly (keyof LedgerItem)[];

/** Every statement the store runs, prepared once when it opens. */
function prepareStatements(database: Database.Database) {
  const prepare = <Parameters extends unknown[], Result = unknown>(sql: string) =>
    database.prepare<Parameters, Result>(sql);
  return {
    getSetting: prepare<[string], string>('SELECT value FROM settings WHERE key = ?').pluck(),
    setSetting: prepare<[string, string]>(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    deleteSetting: prepare<[string]>('DELETE FROM settings WHERE key = ?'),

    library: prepare<[Slot], LibraryRow>(
      `SELECT id, version, source, rule_count, counts, applied_at, published_at, expires_at, meta, rules_digest, model_version
       FROM libraries WHERE slot = ?`,
    ),
    // The body alone: reading rule_id and kind too costs a third more, and the body carries both.
    ruleBodies: prepare<[number], string>('SELECT body FROM rules WHERE library_id = ? ORDER BY position').pluck(),
    deleteLibrary: prepare<[number]>('DELETE FROM libraries WHERE id = ?'),
    setSlot: prepare<[Slot | null, number]>('UPDATE libraries SET slot = ? WHERE id = ?'),
    insertLibrary: prepare<[Slot | null, number, string, number, string, string, string | null, string | null, string | null, string, number, number]>(
      `INSERT INTO libraries (slot, version, source, rule_count, counts, applied_at, published_at, expires_at, meta, rules_digest, model_version, staged)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    stagedLibrary: prepare<[number], LibraryRow>(
      `SELECT id, version, source, rule_count, counts, applied_at, published_at, expires_at, meta, rules_digest, model_version
       FROM libraries WHERE id = ? AND staged = 1 AND slot IS NULL`,
    ),
    stagedRuleCount: prepare<[number], number>('SELECT count(*) FROM rules WHERE library_id = ?').pluck(),
    activateStaged: prepare<[string, number]>(`UPDATE libraries SET slot = 'active', staged = 0, applied_at = ? WHERE id = ?`),
    retireStaged: prepare<[string]>('UPDATE libraries SET staged = 0 WHERE staged = 1 AND applied_at < ?'),
    retiredLibrary: prepare<[], number>('SELECT id FROM libraries WHERE slot IS NULL AND staged = 0 LIMIT 1').pluck(),
    deleteRulesBatch: prepare<[number, number]>(
      'DELETE FROM rules WHERE rowid IN (SELECT rowid FROM rules WHERE library_id = ? LIMIT ?)',
    ),
    insertRule: prepare<[number | bigint, number, string, string, string]>(
      'INSERT INTO rules (library_id, position, rule_id, kind, body) VALUES (?, ?, ?, ?, ?)',
    ),

    upsertLedger: prepare<[string, string, string, string, string, string, string]>(
      `INSERT INTO ledger (rx_id, patient_key, visit_key, check_id, date, item, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (rx_id) DO UPDATE SET
         patient_key = excluded.patient_key, visit_key = excluded.visit_key, check_id = excluded.check_id,
         date = excluded.date, item = excluded.item, recorded_at = excluded.recorded_at`,
    ),
    deleteOrder: prepare<[string, string, string]>('DELETE FROM ledger WHERE patient_key = ? AND visit_key = ? AND check_id = ?'),
    // Walks ledger_patient_date backwards: no sort step, whatever the table size.
    priorItems: prepare<[string, string], string>(
      'SELECT item FROM ledger WHERE patient_key = ? AND date >= ? ORDER BY date DESC, rowid DESC',
    ).pluck(),
    purgeLedger: prepare<[string]>('DELETE FROM ledger WHERE date < ?'),
    purgeLedgerBatch: prepare<[string, number]>(
      'DELETE FROM ledger WHERE rowid IN (SELECT rowid FROM ledger WHERE date < ? ORDER BY date LIMIT ?)',
    ),
    ledgerCount: prepare<[], number>('SELECT count(*) FROM ledger').pluck(),

    lastAudit: prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'),
    firstAudit: prepare<[], AuditRow>('SELECT seq, at, type, check_id, patient_key, data, prev_hash, hash FROM audit ORDER BY seq LIMIT 1'),
    auditAt: prepare<[number], AuditRow>('SELECT seq, at, type, check_id, patient_key, data, prev_hash, hash FROM audit WHERE seq = ?'),
    auditPage: prepare<[number, number], AuditRow>(
      'SELECT seq, at, type, check_id, patient_key, data, prev_hash, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    purgeThrough: prepare<[], number | null>('SELECT through_seq FROM audit_purge WHERE id = 1').pluck(),
    setPurgeThrough: prepare<[number]>(
      'INSERT INTO audit_purge (id, through_seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET through_seq = excluded.through_seq',
    ),
    expiredAuditThrough: prepare<[string, number], number | null>(
      'SELECT max(seq) FROM (SELECT seq FROM audit WHERE at < ? ORDER BY seq LIMIT ?)',
    ).pluck(),
    deleteAuditThrough: prepare<[number]>('DELETE FROM audit WHERE seq <= ?'),
    commitRecords: prepare<[number, number], { seq: number; check_id: string; patient_key: string; recorded: number | null; visit_date: string | null }>(
      `SELECT seq, check_id, patient_key, json_extract(data, '$.recorded') AS recorded, json_extract(data, '$.visitDate') AS visit_date
       FROM audit WHERE type = 'commit' AND seq > ? AND check_id IS NOT NULL AND patient_key IS NOT NULL ORDER BY seq LIMIT ?`,
    ),
    insertOutbox: prepare<[string, Buffer, string]>('INSERT INTO outbox (id, body, created_at) VALUES (?, ?, ?)'),
    outboxPending: prepare<[number], { seq: number; id: string; body: Buffer }>('SELECT seq, id, body FROM outbox ORDER BY seq LIMIT ?'),
    outboxDelivered: prepare<[number]>('DELETE FROM outbox WHERE seq <= ?'),
    outboxCount: prepare<[], number>('SELECT count(*) FROM outbox').pluck(),
    ledgerRowsOfOrder: prepare<[string, string], number>('SELECT count(*) FROM ledger WHERE patient_key = ? AND check_id = ?').pluck(),
    insertAudit: prepare<[number, string, string, string | null, string | null, string, string, string]>(
      `INSERT INTO audit (seq, at, type, check_id, patient_key, data, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    recentAudit: prepare<[number], AuditRow>(
      'SELECT seq, at, type, check_id, patient_key, data, prev_hash, hash FROM audit ORDER BY seq DESC LIMIT ?',
    ),
    recentAuditOfType: prepare<[string, number], AuditRow>(
      `SELECT seq, at, type, check_id, patient_key, data, prev_hash, hash FROM audit
       WHERE type = ? ORDER BY seq DESC LIMIT ?`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * An audit event checked and reduced to what is stored: `data` as its canonical JSON text.
 * Made only by `prepareAudit`; its place in the chain and its hash come when it is appended.
 */
export type PreparedAudit = { readonly type: string; readonly checkId: string | null; readonly patientKey: string | null; readonly dataText: string };

/** An appended audit record as the batch returns it: everything but its data. */
export type AppendedAudit = Omit<AuditRecord, 'data'>;

class SqliteRuleStore implements SqliteStore {
  private readonly statements: Statements;
  private readonly applyTransaction: Database.Transaction<(info: LibraryInfo, metaText: string | null, rows: readonly StoredRule[]) => void>;
  private readonly stageTransaction: Database.Transaction<(libraryId: number, firstPosition: number, rows: readonly StoredRule[]) => void>;
  private readonly activateTransaction: Database.Transaction<(libraryId: number) => LibraryInfo>;
  private readonly purgeAuditTransaction: Database.Transaction<(through: number) => number>;
  private readonly rollbackTransaction: Database.Transaction<() => LibraryInfo>;
  private readonly recordTransaction: Database.Transaction<
    (rows: LedgerRow[], patientKey: string, visitKey: string, checkId: string, recordedAt: string, audit: PreparedAudit | null, outbox: Buffer | null) => void
  >;
  private readonly appendTransaction: Database.Transaction<
    (prepared: PreparedAudit, outbox: Buffer | null) => AppendedAudit
  >;
  private readonly appendBatchTransaction: Database.Transaction<
    (events: readonly PreparedAudit[]) => AppendedAudit[]
  >;

  constructor(
    private readonly database: Database.Database,
    readonly file: string,
    private readonly now: () => Date,
    private readonly retentionDays: number,
    private readonly keys: InstallKeys,
    private readonly checkpointer: Checkpointer | null = null,
  ) {
    this.statements = prepareStatements(database);
    this.applyTransaction = database.transaction((info, metaText, rows) => this.applyRows(info, metaText, rows));
    this.stageTransaction = database.transaction((libraryId, firstPosition, rows) => {
      rows.forEach((row, index) => this.statements.insertRule.run(libraryId, firstPosition + index, row.ruleId, row.kind, row.body));
    });
    this.activateTransaction = database.transaction((libraryId) => this.activate(libraryId));
    this.purgeAuditTransaction = database.transaction((through) => {
      const last = this.statements.auditAt.get(through);
      if (!last) return 0;
      this.statements.setPurgeThrough.run(through);
      const purged = this.statements.deleteAuditThrough.run(through).changes;
      // The chain's first remaining record points at a hash that is gone; this record says
      // which, so the rest still verifies.
      this.appendRecord(internalAudit('audit.purged', { throughSeq: through, throughHash: last.hash, records: purged }));
      return purged;
    });
    this.rollbackTransaction = database.transaction(() => this.swapLibraries());
    this.recordTransaction = database.transaction((rows, patientKey, visitKey, checkId, recordedAt, audit, outbox) => {
      // Recording an order again (the HIS saved it again after an edit) replaces what was
      // recorded for it: a line dropped since must not stay behind as a phantom prescription.
      this.statements.deleteOrder.run(patientKey, visitKey, checkId);
      for (const row of rows) {
        this.statements.upsertLedger.run(row.rxId, patientKey, visitKey, checkId, row.date, row.item, recordedAt);
      }
      // The order and its audit record are one write: both are there, or neither.
      if (audit) this.appendRecord(audit);
      // And the hub hears of it from the same write, or not at all.
      if (outbox) this.statements.insertOutbox.run(randomUUID(), outbox, recordedAt);
    });
    this.appendTransaction = database.transaction((prepared, outbox) => {
      const record = this.appendRecord(prepared);
      if (outbox) this.statements.insertOutbox.run(randomUUID(), outbox, record.at);
      return record;
    });
    this.appendBatchTransaction = database.transaction((events) => events.map((event) => this.appendRecord(event)));
  }

  close(): void {
    // The worker's connection goes first, so that this one is the last and SQLite removes the log.
    this.checkpointer?.close();
    if (this.database.open) this.database.close();
  }

  isOpen(): boolean {
    return this.database.open;
  }

  getSetting<T>(key: string): T | undefined {
    requireText(key, 'setting key');
    const value = this.statements.getSetting.get(key);
    if (value === undefined) return undefined;
    return JSON.parse(value) as T;
  }

  /** Stores `value` as JSON; `undefined` removes the setting. */
  setSetting(key: string, value: unknown): void {
    requireText(key, 'setting key');
    if (value === undefined) {
      this.deleteSetting(key);
      return;
    }
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      throw new TypeError(`setting ${key} cannot be stored as JSON: ${messageOf(error)}`, { cause: error });
    }
    if (text === undefined) throw new TypeError(`setting ${key} cannot be stored as JSON (a ${typeof value})`);
    this.statements.setSetting.run(key, text);
  }

  deleteSetting(key: string): void {
    requireText(key, 'setting key');
    this.statements.deleteSetting.run(key);
  }

  /**
   * Loads the active library. Rules whose bodies still match the keyed digest written with them,
   * by this rule model, are parsed and trusted (see below); a library from before the digest or
   * from an older model is checked against the schema again, rule by rule. Throws
   * {@link LibraryTamperedError} when the digest no longer matches and {@link RuleLibraryError}
   * listing the rules that fail; the caller keeps its current rules or rolls back.
   */
  activeLibrary(): { library: RuleLibrary; info: LibraryInfo } | null {
    const row = this.statements.library.get('active');
    if (!row) return null;
    // Every rule was validated before it was written. When the bodies still match the digest
    // written with them, by this rule model, parsing is enough; validating 100,000 rules again
    // would triple the agent's cold start. A digest that no longer matches means the rows were
    // changed outside the agent (a rule quietly disabled, say): such a library is refused, never
    // re-validated into use. Only libraries from before the digest, or from an older rule model,
    // are validated rule by rule.
    if (row.rules_digest !== null && row.model_version === RULE_MODEL_VERSION) return this.digestedLibrary(row, row.rules_digest);
    const stored = this.statements.ruleBodies.all(row.id);
    if (row.rules_digest !== null) {
      const keyed = row.rules_digest.startsWith('hmac:');
      const expected = keyed ? rulesDigest(stored, this.keys.library) : rulesDigest(stored);
      if (stored.length !== row.rule_count || !sameText(expected, row.rules_digest)) throw tampered(row, stored.length);
    }
    const rules: Rule[] = [];
    const problems: RuleProblem[] = [];
    // The rule_id column is unique per library, but an edited body can still repeat an id.
    const seen = new Set<string>();
    stored.forEach((body, index) => {
      let candidate: unknown;
      try {
        candidate = JSON.parse(body);
      } catch {
        problems.push({ index, field: '', message: '缓存中的规则不是有效的 JSON' });
        return;
      }
      const parsed = parseRule(candidate);
      if (!parsed.success) {
        const ruleId = isPlainObject(candidate) && typeof candidate['id'] === 'string' ? candidate['id'] : undefined;
        for (const issue of parsed.error.issues) {
          problems.push({ index, ruleId, field: issue.path.join('.'), message: describeIssue(issue) });
        }
        return;
      }
      if (seen.has(parsed.data.id)) {
        problems.push({ index, ruleId: parsed.data.id, field: 'id', message: '规则编号重复' });
        return;
      }
      seen.add(parsed.data.id);
      rules.push(parsed.data);
    });
    if (stored.length !== row.rule_count) {
      problems.push({ index: -1, field: '', message: `规则库 ${row.version} 应有 ${row.rule_count} 条规则, 缓存中只找到 ${stored.length} 条` });
    }
    if (problems.length > 0) throw new RuleLibraryError(problems);
    return libraryOf(row, rules);
  }

  /**
   * A library written with a digest by this rule model: each body is hashed and parsed as it is
   * read, then dropped. Holding all 100,000 bodies first (40 MB of text at once) made every
   * young-generation collection of the start copy them, and the heap grow by as much.
   */
  private digestedLibrary(row: LibraryRow, written: string): { library: RuleLibrary; info: LibraryInfo } {
    const digest = rulesDigester(written.startsWith('hmac:') ? this.keys.library : undefined);
    const rules: Rule[] = [];
    let count = 0;
    let readable = true;
    for (const body of this.statements.ruleBodies.iterate(row.id)) {
      digest.add(body);
      count += 1;
      if (!readable) continue;
      try {
        rules.push(JSON.parse(body) as Rule);
      } catch {
        // Only a body changed outside the agent fails to parse; the digest below says so.
        readable = false;
      }
    }
    if (count !== row.rule_count || !sameText(digest.finish(), written) || !readable) throw tampered(row, count);
    return libraryOf(row, rules);
  }

  libraryInfo(): { active: LibraryInfo | null; previous: LibraryInfo | null } {
    const active = this.statements.library.get('active');
    const previous = this.statements.library.get('previous');
    return { active: active ? toLibraryInfo(active) : null, previous: previous ? toLibraryInfo(previous) : null };
  }

  /**
   * Validates every rule (throwing {@link RuleLibraryError} with all problems), serialises
   * them, and only then replaces the active library in one transaction: the active one
   * becomes previous, the old previous is deleted. An error or a crash before the commit
   * leaves both exactly as they were.
   */
  applyLibrary(library: RuleLibrary, meta?: Record<string, unknown>): LibraryInfo {
    if (!Array.isArray(library.rules)) throw new TypeError('library rules must be an array');
    const { rules, problems } = validateRules(library.rules);
    if (problems.length > 0) throw new RuleLibraryError(problems);
    return this.applyValidatedRows(library, rules.map(storedRule), meta);
  }

  /**
   * Writes rules that were validated by `Rule` already (in another thread, from the same
   * verified bytes), without validating again: the caller vouches for every row.
   */
  applyValidatedRows(header: Omit<RuleLibrary, 'rules'>, rows: readonly StoredRule[], meta?: Record<string, unknown>): LibraryInfo {
    if (!Number.isInteger(header.version) || header.version < 0) {
      throw new RangeError(`library version must be a whole number, at least 0 (got ${String(header.version)})`);
    }
    requireText(header.source, 'library source');
    optionalText(header.publishedAt, 'library publishedAt');
    optionalText(header.expiresAt, 'library expiresAt');
    const counts: Record<string, number> = {};
    for (const row of rows) counts[row.kind] = (counts[row.kind] ?? 0) + 1;
    let metaText: string | null = null;
    if (meta !== undefined) {
      try {
        metaText = JSON.stringify(meta);
      } catch (error) {
        throw new TypeError(`library meta cannot be stored as JSON: ${messageOf(error)}`, { cause: error });
      }
    }
    const info: LibraryInfo = {
      version: header.version,
      source: header.source,
      ruleCount: rows.length,
      counts,
      appliedAt: this.now().toISOString(),
    };
    if (header.publishedAt !== undefined) info.publishedAt = header.publishedAt;
    if (header.expiresAt !== undefined) info.expiresAt = header.expiresAt;
    if (meta !== undefined) info.meta = JSON.parse(metaText!) as Record<string, unknown>;
    this.applyTransaction.immediate(info, metaText, rows);
    return info;
  }

  libraryDigest(bodies: readonly string[]): string {
    return rulesDigest(bodies, this.keys.library);
  }

  libraryDigestOfText(pieces: readonly Uint8Array[]): string {
    const digest = rulesDigester(this.keys.library);
    for (const piece of pieces) digest.addText(piece);
    return digest.finish();
  }

  beginStagedLibrary(header: StagedLibraryHeader): number {
    if (!Number.isInteger(header.version) || header.version < 0) {
      throw new RangeError(`library version must be a whole number, at least 0 (got ${String(header.version)})`);
    }
    requireText(header.source, 'library source');
    const metaText = header.meta === undefined ? null : JSON.stringify(header.meta);
    return Number(
      this.statements.insertLibrary.run(
        null,
        header.version,
        header.source,
        header.ruleCount,
        JSON.stringify(header.counts),
        // The staging's start: a staging older than a few minutes that never finished was abandoned.
        this.now().toISOString(),
        header.publishedAt ?? null,
        header.expiresAt ?? null,
        metaText,
        header.digest,
        RULE_MODEL_VERSION,
        1,
      ).lastInsertRowid,
    );
  }

  stageRules(libraryId: number, firstPosition: number, rows: readonly StoredRule[]): void {
    this.stageTransaction.immediate(libraryId, firstPosition, rows);
  }

  activateStagedLibrary(libraryId: number): LibraryInfo {
    return this.activateTransaction.immediate(libraryId);
  }

  retireAbandonedStaging(): number {
    // Everything staged before now: the caller is the only writer of stagings for this file.
    return this.statements.retireStaged.run(new Date(this.now().getTime() + 1000).toISOString()).changes;
  }

  purgeRetiredLibrariesBatch(limit: number): number {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`purge batch must be a whole number, at least 1 (got ${String(limit)})`);
    const id = this.statements.retiredLibrary.get();
    if (id === undefined) return 0;
    const deleted = this.statements.deleteRulesBatch.run(id, limit).changes;
    if (deleted === 0) {
      this.statements.deleteLibrary.run(id);
      return 1;
    }
    return deleted;
  }

  /** Inside the activate transaction: the staging must be whole, then the slots move and the audit says so. */
  private activate(libraryId: number): LibraryInfo {
    const row = this.statements.stagedLibrary.get(libraryId);
    if (!row) throw new Error(`规则库暂存 ${libraryId} 不存在或已被放弃`);
    const written = this.statements.stagedRuleCount.get(libraryId)!;
    if (written !== row.rule_count) throw new Error(`规则库暂存不完整: ${written}/${row.rule_count} 条`);
    this.moveSlotsForNew();
    const appliedAt = this.now().toISOString();
    this.statements.activateStaged.run(appliedAt, libraryId);
    const info = toLibraryInfo({ ...row, applied_at: appliedAt });
    this.appendLibraryAudit(info);
    return info;
  }

  /** The active library becomes previous; the old previous is retired (its rows go later, in batches). */
  private moveSlotsForNew(): void {
    const active = this.statements.library.get('active');
    const previous = this.statements.library.get('previous');
    if (previous) this.statements.setSlot.run(null, previous.id);
    if (active) this.statements.setSlot.run('previous', active.id);
  }

  /** Every install writes the same audit record, in its own transaction. */
  private appendLibraryAudit(info: LibraryInfo): void {
    this.appendRecord(
      internalAudit('rules', {
        version: info.version,
        source: info.source,
        ruleCount: info.ruleCount,
        meta: info.meta ?? {},
      }),
    );
  }

  rollbackLibrary(): LibraryInfo {
    return this.rollbackTransaction.immediate();
  }

  /** HMAC-SHA256 of the id with the per-install secret, hex; the same id always gives the same key on this install. */
  patientKey(patientId: string): string {
    requireText(patientId, 'patient id');
    return createHmac('sha256', this.keys.patient).update(patientId, 'utf8').digest('hex');
  }

  visitKey(visitId: string): string {
    requireText(visitId, 'visit id');
    return createHmac('sha256', this.keys.patient).update(`visit\u0000${visitId}`, 'utf8').digest('hex');
  }

  /**
   * Records the order's items in one transaction and returns how many. An rxId seen before is
   * overwritten, so a repeated commit (a retry, or the HIS sending changed items) keeps one row
   * per prescription line. Only the LedgerItem fields are kept: stray fields a caller passes
   * (a patient name, say) never reach the file.
   */
  recordOrder(order: LedgerOrder, audit?: AuditEvent, outbox?: unknown): number {
    requireText(order.checkId, 'order checkId');
    const patientKey = this.patientKey(order.patientId);
    // The visit id is stored keyed too: with the HIS it leads straight back to the patient.
    const visitKey = this.visitKey(order.visitId);
    if (!Array.isArray(order.items)) throw new TypeError('order items must be an array');
    const rows = order.items.map((item, index) => ledgerRow(item, index));
    const prepared = audit ? this.prepareAudit(audit) : null;
    const sealed = outbox === undefined ? null : this.sealOutbox(outbox);
    this.recordTransaction.immediate(rows, patientKey, visitKey, storedText(order.checkId), this.now().toISOString(), prepared, sealed);
    return rows.length;
  }

  priorItems(patientId: string, since: string): LedgerItem[] {
    requireDate(since, 'since');
    return this.statements.priorItems.all(this.patientKey(patientId), since).map((item) => JSON.parse(item) as LedgerItem);
  }

  purgeLedger(before: string): number {
    requireDate(before, 'before');
    return this.statements.purgeLedger.run(before).changes;
  }

  purgeExpiredLedgerBatch(limit: number): number {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`purge batch must be a whole number, at least 1 (got ${String(limit)})`);
    return this.statements.purgeLedgerBatch.run(this.retentionCutoff(), limit).changes;
  }

  purgeExpiredLedger(): number {
    return this.purgeLedger(this.retentionCutoff());
  }

  /** The first date still kept: `retentionDays` before today, local time. */
  private retentionCutoff(): string {
    const today = this.now();
    return localDate(new Date(today.getFullYear(), today.getMonth(), today.getDate() - this.retentionDays));
  }

  ledgerCount(): number {
    return this.statements.ledgerCount.get()!;
  }

  /**
   * Appends one record. The patient id becomes `patientKey`; `data` is reduced to plain JSON,
   * any `patientId` member (at any depth) is dropped and any value equal to the patient id is
   * replaced by {@link REDACTED_PATIENT_ID}, so the trail never holds a raw id. When the event
   * has no `patientId` but its data has one at the top level, that one is keyed instead.
   */
  appendAudit(event: AuditEvent, outbox?: unknown): AuditRecord {
    const prepared = this.prepareAudit(event);
    const sealed = outbox === undefined ? null : this.sealOutbox(outbox);
    return { ...this.appendTransaction.immediate(prepared, sealed), data: JSON.parse(prepared.dataText) as Record<string, unknown> };
  }

  addToOutbox(body: unknown): void {
    this.statements.insertOutbox.run(randomUUID(), this.sealOutbox(body), this.now().toISOString());
  }

  outboxPending(limit: number): Array<{ seq: number; id: string; body: unknown }> {
    return this.statements.outboxPending.all(limit).map((row) => ({ seq: row.seq, id: row.id, body: this.openOutbox(row.body) }));
  }

  outboxDelivered(seq: number): void {
    this.statements.outboxDelivered.run(seq);
  }

  outboxBacklog(): number {
    return this.statements.outboxCount.get()!;
  }

  /** AES-256-GCM with the install's outbox key: IV (12 bytes), tag (16), ciphertext. */
  private sealOutbox(body: unknown): Buffer {
    const text = JSON.stringify(body);
    if (text === undefined) throw new TypeError('outbox event must be JSON');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.outbox, iv);
    const sealed = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
  }

  private openOutbox(sealed: Buffer): unknown {
    const decipher = createDecipheriv('aes-256-gcm', this.keys.outbox, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return JSON.parse(Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8'));
  }

  /**
   * Appends several records in one transaction (one commit for a burst of checks). Every
   * event is checked before anything is written, so a bad one appends none.
   */
  appendAuditBatch(events: readonly AuditEvent[]): AppendedAudit[] {
    return this.appendPreparedAudit(events.map((event) => this.prepareAudit(event)));
  }

  appendPreparedAudit(prepared: readonly PreparedAudit[]): AppendedAudit[] {
    return this.appendBatchTransaction.immediate(prepared);
  }

  prepareAudit(event: AuditEvent): PreparedAudit {
    requireText(event.type, 'audit event type');
    optionalText(event.checkId, 'audit event checkId');
    const topLevelId = isPlainObject(event.data) ? event.data['patientId'] : undefined;
    const patientId = event.patientId ?? (typeof topLevelId === 'string' && topLevelId !== '' ? topLevelId : undefined);
    const patientKey = patientId === undefined ? null : this.patientKey(patientId);
    let dataText: string | undefined;
    try {
      // One pass: plain JSON, no patient id, canonical — the text that is both hashed and stored.
      dataText = storedCanonicalJson(event.data, patientId, REDACTED_PATIENT_ID);
    } catch (error) {
      throw new TypeError(`audit event data cannot be stored as JSON: ${messageOf(error)}`, { cause: error });
    }
    if (dataText === undefined || !dataText.startsWith('{')) throw new TypeError('audit event data must be a JSON object');
    return { type: event.type, checkId: event.checkId ?? null, patientKey, dataText };
  }

  /**
   * Walks the whole trail in order, recomputing each hash. `count` is the number of records
   * found intact, in order, before `brokenAt` (the first record that is missing, out of order,
   * or does not match its hash or its predecessor's). The anchor file, when there is one, must
   * still be reached: a trail cut short or rewritten behind it fails.
   */
  verifyAudit(): AuditVerification {
    const start = this.startAuditVerification(false);
    if ('ok' in start) return start;
    let cursor = start;
    for (;;) {
      const step = this.continueAuditVerification(cursor, 10_000);
      if (step.done) return step.result;
      cursor = step.cursor;
    }
  }

  auditHead(): AuditHead | null {
    return this.statements.lastAudit.get() ?? null;
  }

  auditHashAt(seq: number): string | null {
    return this.statements.auditAt.get(seq)?.hash ?? null;
  }

  writeAuditAnchor(): AuditHead | null {
    const head = this.auditHead();
    if (!head || this.file === ':memory:') return head;
    const path = anchorFile(this.file);
    const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ ...head, mac: this.anchorMac(head) })}\n`, { mode: 0o600 });
    renameSync(temporary, path);
    return head;
  }

  private anchorMac(head: AuditHead): string {
    return createHmac('sha256', this.keys.audit).update(`anchor\n${head.seq}\n${head.hash}`, 'utf8').digest('hex');
  }

  /** The anchor file's head; a file whose MAC does not match is itself a sign of tampering. */
  private readAnchor(): AuditHead | 'forged' | null {
    if (this.file === ':memory:') return null;
    const path = anchorFile(this.file);
    if (!existsSync(path)) return null;
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as { seq?: unknown; hash?: unknown; mac?: unknown };
      if (typeof parsed.seq !== 'number' || typeof parsed.hash !== 'string' || typeof parsed.mac !== 'string') return 'forged';
      const head = { seq: parsed.seq, hash: parsed.hash };
      return sameText(this.anchorMac(head), parsed.mac) ? head : 'forged';
    } catch {
      return 'forged';
    }
  }

  startAuditVerification(fromAnchor: boolean): AuditCursor | AuditVerification {
    const failed = (brokenAt: number, reason: string): AuditVerification => ({ ok: false, count: 0, brokenAt, reason });
    const anchor = this.readAnchor();
    if (anchor === 'forged') return failed(0, '审计锚点文件 audit-head.json 被改动或损坏');
    if (fromAnchor && anchor) {
      const row = this.statements.auditAt.get(anchor.seq);
      if (!row) {
        const last = this.auditHead();
        return failed(anchor.seq, `审计记录被截断: 锚点在第 ${anchor.seq} 条, 现在只到第 ${last?.seq ?? 0} 条`);
      }
      if (!sameText(row.hash, anchor.hash)) return failed(anchor.seq, `审计记录第 ${anchor.seq} 条与锚点不符: 被改写过`);
      return { head: { seq: row.seq, hash: row.hash }, count: 0, anchor };
    }
    const first = this.statements.firstAudit.get();
    if (!first) {
      if (anchor) return failed(anchor.seq, `审计记录被清空: 锚点在第 ${anchor.seq} 条`);
      return { head: { seq: 0, hash: GENESIS_HASH }, count: 0, anchor: null };
    }
    if (first.seq === 1) return { head: { seq: 0, hash: GENESIS_HASH }, count: 0, anchor };
    // Records before the first are gone: only a retention purge may have removed them, and the
    // purge named the hash the first remaining record continues.
    const purge = this.statements.recentAuditOfType.get('audit.purged', 1);
    const through = this.statements.purgeThrough.get();
    let purgeData: Record<string, unknown> | null = null;
    try {
      purgeData = purge ? (JSON.parse(purge.data) as Record<string, unknown>) : null;
    } catch {
      purgeData = null;
    }
    if (
      through !== first.seq - 1 ||
      !purgeData ||
      purgeData['throughSeq'] !== first.seq - 1 ||
      purgeData['throughHash'] !== first.prev_hash
    ) {
      return failed(1, `审计记录第 1 至 ${first.seq - 1} 条不见了, 且不是按保留期清理的`);
    }
    return { head: { seq: first.seq - 1, hash: first.prev_hash }, count: 0, anchor };
  }

  continueAuditVerification(cursor: AuditCursor, limit: number): { done: false; cursor: AuditCursor } | { done: true; result: AuditVerification } {
    let { seq: expectedSeq, hash: prevHash } = cursor.head;
    expectedSeq += 1;
    let count = cursor.count;
    const rows = this.statements.auditPage.all(cursor.head.seq, limit);
    for (const row of rows) {
      const broken = (reason: string, at = row.seq) => ({ done: true as const, result: { ok: false as const, count, brokenAt: at, reason } });
      if (row.seq !== expectedSeq) return broken(`第 ${expectedSeq} 条审计记录不见了 (下一条是第 ${row.seq} 条)`, expectedSeq);
      if (row.prev_hash !== prevHash) return broken(`第 ${row.seq} 条审计记录的 prevHash 与前一条不符`);
      let data: unknown;
      try {
        data = JSON.parse(row.data);
      } catch {
        return broken(`第 ${row.seq} 条审计记录的 data 不是有效的 JSON`);
      }
      if (!isPlainObject(data)) return broken(`第 ${row.seq} 条审计记录的 data 不是 JSON 对象`);
      const key = row.seq >= this.keys.auditKeyedFrom ? this.keys.audit : undefined;
      const hash = auditHash(row.prev_hash, { seq: row.seq, at: row.at, type: row.type, checkId: row.check_id, patientKey: row.patient_key, data }, key);
      if (!sameText(hash, row.hash)) return broken(`第 ${row.seq} 条审计记录的内容与其哈希不符: 被改动过`);
      if (cursor.anchor && row.seq === cursor.anchor.seq && !sameText(row.hash, cursor.anchor.hash)) {
        return broken(`第 ${row.seq} 条审计记录与锚点不符: 被改写过`);
      }
      prevHash = row.hash;
      expectedSeq += 1;
      count += 1;
    }
    const head = { seq: expectedSeq - 1, hash: prevHash };
    if (rows.length === limit) return { done: false, cursor: { head, count, anchor: cursor.anchor } };
    if (cursor.anchor && head.seq < cursor.anchor.seq) {
      return { done: true, result: { ok: false, count, brokenAt: head.seq + 1, reason: `审计记录被截断: 锚点在第 ${cursor.anchor.seq} 条, 现在只到第 ${head.seq} 条` } };
    }
    return { done: true, result: head.seq > 0 ? { ok: true, count, head } : { ok: true, count } };
  }

  verifyLedger(): LedgerVerification {
    let cursor: LedgerCursor = { after: 0, latest: new Map(), toCount: null, checked: 0, missing: 0 };
    for (;;) {
      const step = this.continueLedgerVerification(cursor, 5000);
      if (step.done) return step.result;
      cursor = step.cursor;
    }
  }

  continueLedgerVerification(cursor: LedgerCursor, limit: number): { done: false; cursor: LedgerCursor } | { done: true; result: LedgerVerification } {
    if (cursor.toCount === null) {
      // First the commit records, page by page: the latest of each order, still within retention.
      const cutoff = this.retentionCutoff();
      const page = this.statements.commitRecords.all(cursor.after, limit);
      let after = cursor.after;
      for (const row of page) {
        after = row.seq;
        if (row.visit_date === null || typeof row.recorded !== 'number' || row.visit_date < cutoff) continue;
        // A re-commit replaces the rows of the one before: the later record wins.
        cursor.latest.set(`${row.patient_key}\u0000${row.check_id}`, { seq: row.seq, checkId: row.check_id, patientKey: row.patient_key, recorded: row.recorded });
      }
      const toCount = page.length < limit ? [...cursor.latest.values()] : null;
      return { done: false, cursor: { ...cursor, after, toCount } };
    }
    // Then their ledger rows, a page of orders at a time.
    let { checked, missing, first } = cursor;
    for (const order of cursor.toCount.splice(0, limit)) {
      checked += 1;
      if (this.statements.ledgerRowsOfOrder.get(order.patientKey, order.checkId)! >= order.recorded) continue;
      missing += 1;
      if (!first || order.seq < first.seq) first = { seq: order.seq, checkId: order.checkId };
    }
    if (cursor.toCount.length > 0) return { done: false, cursor: { ...cursor, checked, missing, first } };
    return { done: true, result: first ? { checked, missing, first } : { checked, missing } };
  }

  purgeExpiredAuditBatch(limit: number): number {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`purge batch must be a whole number, at least 1 (got ${String(limit)})`);
    const cutoff = new Date(`${this.retentionCutoff()}T00:00:00`).toISOString();
    const through = this.statements.expiredAuditThrough.get(cutoff, limit);
    if (through === null || through === undefined) return 0;
    // The record that says what was purged must itself stay: never purge the chain's head.
    const head = this.auditHead();
    if (!head || through >= head.seq) return 0;
    return this.purgeAuditTransaction.immediate(through);
  }

  recentAudit(limit: number, type?: string): AuditRecord[] {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`audit limit must be a whole number, at least 0 (got ${String(limit)})`);
    const rows = type === undefined ? this.statements.recentAudit.all(limit) : this.statements.recentAuditOfType.all(type, limit);
    return rows.map(toAuditRecord);
  }

  /** Runs inside the apply transaction: nothing here can fail on input, it was all checked. */
  private applyRows(info: LibraryInfo, metaText: string | null, rows: readonly StoredRule[]): void {
    this.moveSlotsForNew();
    const libraryId = this.statements.insertLibrary.run(
      'active',
      info.version,
      info.source,
      info.ruleCount,
      JSON.stringify(info.counts),
      info.appliedAt,
      info.publishedAt ?? null,
      info.expiresAt ?? null,
      metaText,
      rulesDigest(rows.map((row) => row.body), this.keys.library),
      RULE_MODEL_VERSION,
      0,
    ).lastInsertRowid;
    rows.forEach((row, position) => {
      this.statements.insertRule.run(libraryId, position, row.ruleId, row.kind, row.body);
    });
    this.appendLibraryAudit(info);
  }

  private swapLibraries(): LibraryInfo {
    const active = this.statements.library.get('active');
    const previous = this.statements.library.get('previous');
    if (!previous) throw new Error('there is no previous rule library to roll back to');
    // slot is UNIQUE, so the active one steps aside (NULL) before the previous takes its place.
    if (active) this.statements.setSlot.run(null, active.id);
    this.statements.setSlot.run('active', previous.id);
    if (active) this.statements.setSlot.run('previous', active.id);
    return toLibraryInfo(previous);
  }

  /** Runs inside the append transaction, so reading the chain's head and adding to it is atomic. */
  private appendRecord(prepared: PreparedAudit): AppendedAudit {
    const last = this.statements.lastAudit.get();
    const seq = last ? last.seq + 1 : 1;
    const prevHash = last ? last.hash : GENESIS_HASH;
    const at = this.now().toISOString();
    // Hashed exactly as SQLite will store the text (audit-hash.ts).
    const type = storedText(prepared.type);
    const checkId = prepared.checkId === null ? null : storedText(prepared.checkId);
    const { patientKey, dataText } = prepared;
    const key = seq >= this.keys.auditKeyedFrom ? this.keys.audit : undefined;
    const hash = auditHashOfText(prevHash, { seq, at, type, checkId, patientKey }, dataText, key);
    this.statements.insertAudit.run(seq, at, type, checkId, patientKey, dataText, prevHash, hash);
    const record: AppendedAudit = { seq, at, type, prevHash, hash };
    if (checkId !== null) record.checkId = checkId;
    if (patientKey !== null) record.patientKey = patientKey;
    return record;
  }
}

/**
 * The install's keys, from the key file beside the database. On the first open of a database
 * from before schema 3 the secret is moved out of it (the migration then drops it from the
 * database), and the audit records written so far stay plain SHA-256. A missing key file next
 * to a database that had one is an error, not a new key: a new key would silently orphan every
 * patient's history and break the audit chain.
 */
function loadKeys(database: Database.Database, keyFile: string, sealer: SecretSealer | undefined, now: () => Date): InstallKeys {
  if (existsSync(keyFile)) return readKeyFile(keyFile, sealer);
  const version = schemaVersion(database);
  const nextSeq = () => (database.prepare<[], number | null>('SELECT max(seq) FROM audit').pluck().get() ?? 0) + 1;
  if (version >= 1 && version < 3) {
    const secret = database.prepare<[], Buffer>('SELECT secret FROM install_secret WHERE id = 1').pluck().get();
    return writeKeyFile(keyFile, secret && secret.length === 32 ? secret : newSecret(), nextSeq(), sealer, now());
  }
  if (version >= 3) {
    const fingerprint = database.prepare<[string], string>('SELECT value FROM settings WHERE key = ?').pluck().get(FINGERPRINT_SETTING);
    if (fingerprint !== undefined) {
      throw new KeyFileError(
        `密钥文件 ${keyFile} 不见了: 没有它, 本机的处方台账和审计记录都无法使用。请从备份恢复该文件; ` +
          '确要从头开始, 请把整个数据目录移走后再启动',
      );
    }
    return writeKeyFile(keyFile, newSecret(), nextSeq(), sealer, now());
  }
  return writeKeyFile(keyFile, newSecret(), 1, sealer, now());
}

const FINGERPRINT_SETTING = 'key.fingerprint';

/** Remembers which key file belongs to the database, and refuses another one. */
function checkFingerprint(database: Database.Database, keys: InstallKeys, keyFile: string): void {
  const stored = database.prepare<[string], string>('SELECT value FROM settings WHERE key = ?').pluck().get(FINGERPRINT_SETTING);
  if (stored === undefined) {
    database.prepare<[string, string]>('INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)').run(FINGERPRINT_SETTING, JSON.stringify(keys.fingerprint));
  } else if (JSON.parse(stored) !== keys.fingerprint) {
    throw new KeyFileError(`密钥文件 ${keyFile} 不属于这个数据库 (指纹不符): 请放回原来的密钥文件`);
  }
}

function toLibraryInfo(row: LibraryRow): LibraryInfo {
  const info: LibraryInfo = {
    version: row.version,
    source: row.source,
    ruleCount: row.rule_count,
    counts: JSON.parse(row.counts) as Record<string, number>,
    appliedAt: row.applied_at,
  };
  if (row.published_at !== null) info.publishedAt = row.published_at;
  if (row.expires_at !== null) info.expiresAt = row.expires_at;
  if (row.meta !== null) info.meta = JSON.parse(row.meta) as Record<string, unknown>;
  return info;
}

function toAuditRecord(row: AuditRow): AuditRecord {
  const record: AuditRecord = {
    seq: row.seq,
    at: row.at,
    type: row.type,
    data: JSON.parse(row.data) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
  if (row.check_id !== null) record.checkId = row.check_id;
  if (row.patient_key !== null) record.patientKey = row.patient_key;
  return record;
}

function ledgerRow(item: LedgerItem, index: number): LedgerRow {
  const where = `order item ${index + 1}`;
  requireText(item.rxId, `${where} rxId`);
  requireDate(item.date, `${where} date`);
  requireText(item.category, `${where} category`);
  if (item.channel !== 'insured' && item.channel !== 'selfpay') {
    throw new TypeError(`${where} channel must be insured or selfpay (got ${String(item.channel)})`);
  }
  const kept: Record<string, unknown> = {};
  for (const field of LEDGER_ITEM_FIELDS) {
    if (item[field] !== undefined) kept[field] = item[field];
  }
  return { rxId: item.rxId, date: item.date, item: JSON.stringify(kept) };
}

/** An audit record the store writes itself (installs, purges): no patient, data as given. */
function internalAudit(type: string, data: Record<string, unknown>): PreparedAudit {
  return { type, checkId: null, patientKey: null, dataText: storedCanonicalJson(data, undefined, REDACTED_PATIENT_ID)! };
}

/** Compares two hex texts in constant time (a digest or MAC must not leak by timing). */
function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireText(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${what} must be a non-empty string`);
}

function optionalText(value: unknown, what: string): void {
  if (value !== undefined) requireText(value, what);
}

/** Dates are compared as text in SQL, so only the exact YYYY-MM-DD form of a real day is accepted. */
function requireDate(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value) || localDate(new Date(`${value}T00:00:00`)) !== value) {
    throw new TypeError(`${what} must be a date written YYYY-MM-DD (got ${JSON.stringify(value)})`);
  }
}

/** The calendar day of `date` in the machine's time zone, YYYY-MM-DD: visit dates are local days. */
function localDate(date: Date): string {
  const month = String(date.getMonth() + 1).padStart(2, '0');
  const day = String(date.getDate()).padStart(2, '0');
  return `${String(date.getFullYear()).padStart(4, '0')}-${month}-${day}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
