/**
 * What the SQLite store offers the rest of the agent. SQL stays behind these functions
 * (architecture.md: reader/writer functions, parameterised statements prepared once).
 */
import type { RuleLibrary } from './model';

/** One prescribed item of a committed order, as the ledger keeps it. */
export interface LedgerItem {
  /** Stable id of the prescription line: the check id and line, e.g. `c-0001#1`. */
  rxId: string;
  code?: string;
  hospCode?: string;
  name?: string;
  category: string;
  /** Visit date, YYYY-MM-DD: the day the supply starts. */
  date: string;
  days?: number;
  qty?: number;
  amount?: number;
  deptCode?: string;
  deptName?: string;
  doctorCode?: string;
  doctorName?: string;
  channel: 'insured' | 'selfpay';
}

/** A committed order: the patient id is turned into a keyed hash before it is stored. */
export interface LedgerOrder {
  checkId: string;
  patientId: string;
  visitId: string;
  items: LedgerItem[];
}

export interface LibraryInfo {
  version: number;
  source: string;
  ruleCount: number;
  counts: Record<string, number>;
  appliedAt: string;
  publishedAt?: string;
  expiresAt?: string;
  /** Free-form pack metadata (manifest id, key id, hash) for status and audit. */
  meta?: Record<string, unknown>;
}

export interface AuditEvent {
  type: string;
  checkId?: string;
  /** Raw patient id; the store keeps only its keyed hash. */
  patientId?: string;
  data: Record<string, unknown>;
}

export interface AuditRecord {
  seq: number;
  at: string;
  type: string;
  checkId?: string;
  patientKey?: string;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** `head`: the last record verified (absent for an empty trail), for anchoring elsewhere. */
export type AuditVerification =
  | { ok: true; count: number; head?: { seq: number; hash: string } }
  | { ok: false; count: number; brokenAt: number; reason: string };

export interface Store {
  /** Path of the database file, or `:memory:`. */
  readonly file: string;
  close(): void;

  /** Small durable settings (token, sync state, ...), JSON values. */
  getSetting<T>(key: string): T | undefined;
  setSetting(key: string, value: unknown): void;

  /** The active rule library, or null when none was ever applied. */
  activeLibrary(): { library: RuleLibrary; info: LibraryInfo } | null;
  /** Metadata of the active and the previous library (the previous is kept for rollback). */
  libraryInfo(): { active: LibraryInfo | null; previous: LibraryInfo | null };
  /**
   * Replaces the active library in one transaction, together with its `rules` audit record;
   * the old active one becomes `previous`.
   */
  applyLibrary(library: RuleLibrary, meta?: Record<string, unknown>): LibraryInfo;

  /** HMAC-SHA256 of a patient id with the per-install secret (hex). */
  patientKey(patientId: string): string;
  /**
   * Records a committed order, and `audit` in the same transaction; recording the same order
   * (check and visit) again replaces its earlier rows, and the same rxId twice keeps one row.
   */
  recordOrder(order: LedgerOrder, audit?: AuditEvent): number;
  /** The patient's ledger rows dated on or after `since` (YYYY-MM-DD), newest first. */
  priorItems(patientId: string, since: string): LedgerItem[];
  /** Deletes ledger rows dated before `before` (YYYY-MM-DD); returns how many. */
  purgeLedger(before: string): number;
  ledgerCount(): number;

  /** Appends to the hash-chained audit trail. */
  appendAudit(event: AuditEvent): AuditRecord;
  /** Recomputes the chain; reports the first record that does not match. */
  verifyAudit(): AuditVerification;
  /** Newest first. */
  recentAudit(limit: number, type?: string): AuditRecord[];
}
