/**
 * The SQLite store behind store-contract.ts: settings, the active and previous rule library,
 * the ledger of committed orders, and the hash-chained audit trail.
 *
 * Habits (architecture.md): every SQL statement is parameterised and prepared once, when the
 * store opens; transactions are synchronous and short, with validation and serialisation
 * done before they start; writes use IMMEDIATE transactions so that a second process on the
 * same file (the CLI next to a running agent) waits for the lock instead of failing halfway.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { auditHash, GENESIS_HASH } from './audit-hash';
import { SCHEMA_VERSION, SchemaTooNewError, migrate, schemaVersion } from './migrations';
import { RULE_MODEL_VERSION, Rule, RuleLibraryError, describeIssue, validateRules, type RuleLibrary, type RuleProblem } from './model';
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
  /** Writes rules already validated by `Rule` (see the implementation); the agent's apply worker uses it. */
  applyValidatedRows(header: Omit<RuleLibrary, 'rules'>, rows: readonly StoredRule[], meta?: Record<string, unknown>): LibraryInfo;
  /** False once `close()` ran: timers that outlive the agent check it before touching the file. */
  isOpen(): boolean;
  /** Appends several audit records in one transaction; all or none. */
  appendAuditBatch(events: readonly AuditEvent[]): AuditRecord[];
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

/** sha256 over rule bodies in order, each followed by a newline (a body is one-line JSON). */
function rulesDigest(bodies: readonly string[]): string {
  const hash = createHash('sha256');
  for (const body of bodies) {
    hash.update(body);
    hash.update('\n');
  }
  return hash.digest('hex');
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
  let database: Database.Database;
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
    migrate(database);
    const store = new SqliteRuleStore(database, file, now, retentionDays);
    if (options.purgeOnOpen !== false) store.purgeExpiredLedger();
    return store;
  } catch (error) {
    database.close();
    if (error instanceof SchemaTooNewError) throw error;
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
    deleteRules: prepare<[number]>('DELETE FROM rules WHERE library_id = ?'),
    deleteLibrary: prepare<[number]>('DELETE FROM libraries WHERE id = ?'),
    setSlot: prepare<[Slot | null, number]>('UPDATE libraries SET slot = ? WHERE id = ?'),
    insertLibrary: prepare<[number, string, number, string, string, string | null, string | null, string | null, string, number]>(
      `INSERT INTO libraries (slot, version, source, rule_count, counts, applied_at, published_at, expires_at, meta, rules_digest, model_version)
       VALUES ('active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    insertAudit: prepare<[number, string, string, string | null, string | null, string, string, string]>(
      `INSERT INTO audit (seq, at, type, check_id, patient_key, data, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    allAudit: prepare<[], AuditRow>(
      'SELECT seq, at, type, check_id, patient_key, data, prev_hash, hash FROM audit ORDER BY seq',
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

class SqliteRuleStore implements SqliteStore {
  private readonly secret: Buffer;
  private readonly statements: Statements;
  private readonly applyTransaction: Database.Transaction<(info: LibraryInfo, metaText: string | null, rows: readonly StoredRule[]) => void>;
  private readonly rollbackTransaction: Database.Transaction<() => LibraryInfo>;
  private readonly recordTransaction: Database.Transaction<
    (rows: LedgerRow[], patientKey: string, visitKey: string, checkId: string, recordedAt: string) => void
  >;
  private readonly appendTransaction: Database.Transaction<
    (type: string, checkId: string | null, patientKey: string | null, data: Record<string, unknown>) => AuditRecord
  >;
  private readonly appendBatchTransaction: Database.Transaction<
    (events: Array<{ type: string; checkId: string | null; patientKey: string | null; data: Record<string, unknown> }>) => AuditRecord[]
  >;

  constructor(
    private readonly database: Database.Database,
    readonly file: string,
    private readonly now: () => Date,
    private readonly retentionDays: number,
  ) {
    this.statements = prepareStatements(database);
    this.applyTransaction = database.transaction((info, metaText, rows) => this.applyRows(info, metaText, rows));
    this.rollbackTransaction = database.transaction(() => this.swapLibraries());
    this.recordTransaction = database.transaction((rows, patientKey, visitKey, checkId, recordedAt) => {
      // Recording an order again (the HIS saved it again after an edit) replaces what was
      // recorded for it: a line dropped since must not stay behind as a phantom prescription.
      this.statements.deleteOrder.run(patientKey, visitKey, checkId);
      for (const row of rows) {
        this.statements.upsertLedger.run(row.rxId, patientKey, visitKey, checkId, row.date, row.item, recordedAt);
      }
    });
    this.appendTransaction = database.transaction((type, checkId, patientKey, data) =>
      this.appendRecord(type, checkId, patientKey, data),
    );
    this.appendBatchTransaction = database.transaction((events) =>
      events.map((event) => this.appendRecord(event.type, event.checkId, event.patientKey, event.data)),
    );
    this.secret = loadOrCreateSecret(database, now);
  }

  close(): void {
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
   * Loads the active library and checks every rule against the schema again, because the file
   * may have been written by an older build or edited by hand. Throws {@link RuleLibraryError}
   * listing the rules that fail; the caller keeps its current rules or rolls back.
   */
  activeLibrary(): { library: RuleLibrary; info: LibraryInfo } | null {
    const row = this.statements.library.get('active');
    if (!row) return null;
    const stored = this.statements.ruleBodies.all(row.id);
    // Every rule was validated before it was written. When the bodies still hash to what was
    // written, by this rule model, parsing is enough; validating 100,000 rules again would
    // triple the agent's cold start. Anything else (edited rows, an older model, a library
    // from before the digest) is validated rule by rule.
    if (
      row.rules_digest !== null &&
      row.model_version === RULE_MODEL_VERSION &&
      stored.length === row.rule_count &&
      rulesDigest(stored) === row.rules_digest
    ) {
      return libraryOf(row, stored.map((body) => JSON.parse(body) as Rule));
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
      const parsed = Rule.safeParse(candidate);
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

  rollbackLibrary(): LibraryInfo {
    return this.rollbackTransaction.immediate();
  }

  /** HMAC-SHA256 of the id with the per-install secret, hex; the same id always gives the same key on this install. */
  patientKey(patientId: string): string {
    requireText(patientId, 'patient id');
    return createHmac('sha256', this.secret).update(patientId, 'utf8').digest('hex');
  }

  /**
   * Records the order's items in one transaction and returns how many. An rxId seen before is
   * overwritten, so a repeated commit (a retry, or the HIS sending changed items) keeps one row
   * per prescription line. Only the LedgerItem fields are kept: stray fields a caller passes
   * (a patient name, say) never reach the file.
   */
  recordOrder(order: LedgerOrder): number {
    requireText(order.checkId, 'order checkId');
    const patientKey = this.patientKey(order.patientId);
    requireText(order.visitId, 'order visitId');
    // The visit id is stored keyed too: with the HIS it leads straight back to the patient.
    const visitKey = createHmac('sha256', this.secret).update(`visit\u0000${order.visitId}`, 'utf8').digest('hex');
    if (!Array.isArray(order.items)) throw new TypeError('order items must be an array');
    const rows = order.items.map((item, index) => ledgerRow(item, index));
    this.recordTransaction.immediate(rows, patientKey, visitKey, order.checkId, this.now().toISOString());
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
  appendAudit(event: AuditEvent): AuditRecord {
    const prepared = this.prepareAudit(event);
    return this.appendTransaction.immediate(prepared.type, prepared.checkId, prepared.patientKey, prepared.data);
  }

  /**
   * Appends several records in one transaction (one commit for a burst of checks). Every
   * event is checked before anything is written, so a bad one appends none.
   */
  appendAuditBatch(events: readonly AuditEvent[]): AuditRecord[] {
    const prepared = events.map((event) => this.prepareAudit(event));
    return this.appendBatchTransaction.immediate(prepared);
  }

  private prepareAudit(event: AuditEvent): { type: string; checkId: string | null; patientKey: string | null; data: Record<string, unknown> } {
    requireText(event.type, 'audit event type');
    optionalText(event.checkId, 'audit event checkId');
    const topLevelId = isPlainObject(event.data) ? event.data['patientId'] : undefined;
    const patientId = event.patientId ?? (typeof topLevelId === 'string' && topLevelId !== '' ? topLevelId : undefined);
    const patientKey = patientId === undefined ? null : this.patientKey(patientId);
    const data = scrubPatientId(toPlainJson(event.data, 'audit event data'), patientId);
    if (!isPlainObject(data)) throw new TypeError('audit event data must be a JSON object');
    return { type: event.type, checkId: event.checkId ?? null, patientKey, data };
  }

  /**
   * Walks the whole trail in order, recomputing each hash. `count` is the number of records
   * found intact, in order, before `brokenAt` (the first record that is missing, out of order,
   * or does not match its hash or its predecessor's).
   */
  verifyAudit(): AuditVerification {
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    for (const row of this.statements.allAudit.iterate()) {
      const broken = (reason: string, at = row.seq): AuditVerification => ({ ok: false, count: expectedSeq - 1, brokenAt: at, reason });
      if (row.seq !== expectedSeq) return broken(`record ${expectedSeq} is missing (next is ${row.seq})`, expectedSeq);
      if (row.prev_hash !== prevHash) return broken('prevHash does not match the hash of the record before it');
      let data: unknown;
      try {
        data = JSON.parse(row.data);
      } catch {
        return broken('data is not valid JSON');
      }
      if (!isPlainObject(data)) return broken('data is not a JSON object');
      const hash = auditHash(row.prev_hash, {
        seq: row.seq,
        at: row.at,
        type: row.type,
        checkId: row.check_id,
        patientKey: row.patient_key,
        data,
      });
      if (hash !== row.hash) return broken('hash does not match the record content');
      prevHash = row.hash;
      expectedSeq += 1;
    }
    return { ok: true, count: expectedSeq - 1 };
  }

  recentAudit(limit: number, type?: string): AuditRecord[] {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`audit limit must be a whole number, at least 0 (got ${String(limit)})`);
    const rows = type === undefined ? this.statements.recentAudit.all(limit) : this.statements.recentAuditOfType.all(type, limit);
    return rows.map(toAuditRecord);
  }

  /** Runs inside the apply transaction: nothing here can fail on input, it was all checked. */
  private applyRows(info: LibraryInfo, metaText: string | null, rows: readonly StoredRule[]): void {
    const active = this.statements.library.get('active');
    const previous = this.statements.library.get('previous');
    if (previous) {
      // Rules first, by their primary-key prefix, rather than one cascade lookup per rule.
      this.statements.deleteRules.run(previous.id);
      this.statements.deleteLibrary.run(previous.id);
    }
    if (active) this.statements.setSlot.run('previous', active.id);
    const libraryId = this.statements.insertLibrary.run(
      info.version,
      info.source,
      info.ruleCount,
      JSON.stringify(info.counts),
      info.appliedAt,
      info.publishedAt ?? null,
      info.expiresAt ?? null,
      metaText,
      rulesDigest(rows.map((row) => row.body)),
      RULE_MODEL_VERSION,
    ).lastInsertRowid;
    rows.forEach((row, position) => {
      this.statements.insertRule.run(libraryId, position, row.ruleId, row.kind, row.body);
    });
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
  private appendRecord(type: string, checkId: string | null, patientKey: string | null, data: Record<string, unknown>): AuditRecord {
    const last = this.statements.lastAudit.get();
    const seq = last ? last.seq + 1 : 1;
    const prevHash = last ? last.hash : GENESIS_HASH;
    const at = this.now().toISOString();
    const hash = auditHash(prevHash, { seq, at, type, checkId, patientKey, data });
    this.statements.insertAudit.run(seq, at, type, checkId, patientKey, JSON.stringify(data), prevHash, hash);
    const record: AuditRecord = { seq, at, type, data, prevHash, hash };
    if (checkId !== null) record.checkId = checkId;
    if (patientKey !== null) record.patientKey = patientKey;
    return record;
  }
}

/**
 * The install's HMAC key, created on first open. INSERT OR IGNORE on the single row means two
 * processes opening a new file at once still end up with one secret.
 */
function loadOrCreateSecret(database: Database.Database, now: () => Date): Buffer {
  database
    .prepare<[Buffer, string]>('INSERT OR IGNORE INTO install_secret (id, secret, created_at) VALUES (1, ?, ?)')
    .run(randomBytes(32), now().toISOString());
  const secret = database.prepare<[], Buffer>('SELECT secret FROM install_secret WHERE id = 1').pluck().get();
  if (!secret || secret.length !== 32) throw new Error('the install secret is missing or damaged');
  return secret;
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

/** A deep copy holding only what JSON can hold (Dates become strings, undefined members go). */
function toPlainJson(value: unknown, what: string): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`${what} cannot be stored as JSON: ${messageOf(error)}`, { cause: error });
  }
  if (text === undefined) throw new TypeError(`${what} cannot be stored as JSON (a ${typeof value})`);
  return JSON.parse(text);
}

function scrubPatientId(value: unknown, patientId: string | undefined): unknown {
  if (Array.isArray(value)) return value.map((element) => scrubPatientId(element, patientId));
  if (isPlainObject(value)) {
    const clean: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      if (key !== 'patientId') clean[key] = scrubPatientId(member, patientId);
    }
    return clean;
  }
  if (patientId !== undefined && value === patientId) return REDACTED_PATIENT_ID;
  return value;
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
