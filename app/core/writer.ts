/**
 * The only code in the agent that writes to the SQLite cache: committed orders, decisions and
 * every other audit record, rule installs, settings, and the retention purges.
 *
 * Its promise: what it acknowledges is in the database. `recordOrder`, `audit` and the install
 * calls return only after their transaction has committed, so the transport acknowledges a
 * `commit` or a decision only once it is durable — also while a rule pack is being staged by
 * the apply worker, which holds the write lock for one short slice at a time, never for the
 * whole library. The one exception is the per-check audit record, batched for the check's
 * latency: it is written at most {@link CHECK_AUDIT_WINDOW_MS} ms (or {@link CHECK_AUDIT_BATCH}
 * records) after its verdict, and that window is all a crash can lose (docs/operations.md).
 * Urgent writes first flush the batch, so the chain keeps the order in which things happened.
 */
import type { RuleLibrary } from '../../rules-cache/model';
import type { PreparedAudit, SqliteStore } from '../../rules-cache/store';
import type { AuditEvent, LedgerOrder, LibraryInfo } from '../../rules-cache/store-contract';

/** The most time a check's audit record waits before it is written. */
export const CHECK_AUDIT_WINDOW_MS = 10;
/** Check audit records that make a batch due (written as soon as the current reply has gone). */
export const CHECK_AUDIT_BATCH = 20;
/** The most check audit records ever waiting: a burst of frames read in one turn flushes inline here. */
const CHECK_AUDIT_BATCH_LIMIT = 4 * CHECK_AUDIT_BATCH;
/** How often the audit chain's head is written to the anchor file beside the database, at most. */
const ANCHOR_INTERVAL_MS = 1000;
/** Rows a purge step deletes: short enough to sit between checks. */
const PURGE_BATCH = 500;
const DAY_MS = 24 * 3600_000;

export class Writer {
  /** Check audit records waiting for their batch, in order: prepared, or still to be built. */
  private queue: Array<PreparedAudit | (() => AuditEvent)> = [];
  private batchTimer: NodeJS.Timeout | null = null;
  private batchImmediate: NodeJS.Immediate | undefined;
  private prepareImmediate: NodeJS.Immediate | undefined;
  private anchorTimer: NodeJS.Timeout | null = null;
  private anchorDue = false;
  private maintenanceTimer: NodeJS.Timeout | null = null;
  private maintaining = false;
  private closed = false;

  /**
   * Set by the hub service when a hub is configured: hub events are written only then, and this
   * is called after a write queued one (it wakes the delivery, a no-op once delivery stopped).
   */
  onOutbox: (() => void) | null = null;

  constructor(
    readonly store: SqliteStore,
    readonly log: (line: string) => void,
  ) {}

  /**
   * Queues a check's audit record as a function that builds it once the check's reply has gone
   * (a burst of checks then keeps no second copy of every verdict alive). Each is built and
   * prepared (its canonical text made) in the turn after its own check, so that a batch is left
   * with only its transaction: built twenty at a time, a batch held the loop for ~3 ms every
   * twentieth check, and the check that arrived meanwhile waited for all of it.
   */
  auditLater(build: () => AuditEvent): void {
    if (this.closed) return;
    this.queue.push(build);
    this.prepareImmediate ??= setImmediate(() => this.prepareQueued());
    if (this.queue.length >= CHECK_AUDIT_BATCH_LIMIT) {
      this.flush();
      return;
    }
    if (this.queue.length >= CHECK_AUDIT_BATCH) {
      // Right after the current turn of the loop, once the reply of the check that filled the
      // batch has gone out: written inline, the batch delayed every twentieth verdict by its
      // whole cost, and in a burst the limit above still keeps the queue short.
      this.batchImmediate ??= setImmediate(() => this.flush());
      return;
    }
    if (!this.batchTimer) {
      this.batchTimer = setTimeout(() => this.flush(), CHECK_AUDIT_WINDOW_MS);
      this.batchTimer.unref();
    }
  }

  /**
   * Writes an audit record now (after any queued ones); throws when it could not be written.
   * `hub` (built only when a hub is configured) goes into the outbox in the same transaction.
   */
  audit(event: AuditEvent, hub?: () => unknown): void {
    this.flush();
    const body = this.onOutbox && hub ? hub() : undefined;
    this.store.appendAudit(event, body);
    this.anchorSoon();
    if (body !== undefined) this.onOutbox?.();
  }

  /** Records a committed order, its audit record and its hub event in one transaction; returns how many items. */
  recordOrder(order: LedgerOrder, audit: AuditEvent, hub?: () => unknown): number {
    this.flush();
    const body = this.onOutbox && hub ? hub() : undefined;
    const recorded = this.store.recordOrder(order, audit, body);
    this.anchorSoon();
    if (body !== undefined) this.onOutbox?.();
    return recorded;
  }

  /** Queues an event for the hub on its own (status reports, audit heads). */
  queueHubEvent(body: unknown): void {
    if (!this.onOutbox) return;
    this.store.addToOutbox(body);
    this.onOutbox?.();
  }

  /** Forgets the hub events the hub acknowledged. */
  outboxDelivered(seq: number): void {
    if (this.store.isOpen()) this.store.outboxDelivered(seq);
  }

  /** Installs a library in one transaction with its audit record (small libraries, CLI, tests). */
  applyLibrary(library: RuleLibrary, meta?: Record<string, unknown>): LibraryInfo {
    this.flush();
    const info = this.store.applyLibrary(library, meta);
    this.anchorSoon();
    return info;
  }

  /** Makes a library staged by the apply worker active, with its audit record, in one short transaction. */
  activateStaged(libraryId: number): LibraryInfo {
    this.flush();
    const info = this.store.activateStagedLibrary(libraryId);
    this.anchorSoon();
    return info;
  }

  rollbackLibrary(): LibraryInfo {
    return this.store.rollbackLibrary();
  }

  setSetting(key: string, value: unknown): void {
    this.store.setSetting(key, value);
  }

  /** Writes the queued check audit records in one transaction. */
  flush(): void {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = null;
    if (this.batchImmediate) clearImmediate(this.batchImmediate);
    this.batchImmediate = undefined;
    this.prepareQueued();
    if (this.queue.length === 0 || !this.store.isOpen()) return;
    const records = this.queue.filter((entry): entry is PreparedAudit => typeof entry !== 'function');
    this.queue = [];
    if (records.length === 0) return;
    try {
      this.store.appendPreparedAudit(records);
      this.anchorSoon();
    } catch (error) {
      // A check's audit failure must not take checks down with it; logged without patient data.
      this.log(`审计记录写入失败 (${records.length} 条): ${(error as Error).message}`);
    }
  }

  /**
   * Builds and prepares the queued records not prepared yet, in place, so their order stays.
   * One that cannot be built or stored is dropped from the batch, with a log line, alone.
   */
  private prepareQueued(): void {
    if (this.prepareImmediate) clearImmediate(this.prepareImmediate);
    this.prepareImmediate = undefined;
    if (!this.store.isOpen()) return;
    for (let index = 0; index < this.queue.length; index += 1) {
      const entry = this.queue[index]!;
      if (typeof entry !== 'function') continue;
      try {
        this.queue[index] = this.store.prepareAudit(entry());
      } catch (error) {
        this.log(`审计记录未能生成: ${(error as Error).message}`);
        this.queue.splice(index, 1);
        index -= 1;
      }
    }
  }

  /** Keeps the anchor file close behind the chain's head, at most once a second. */
  private anchorSoon(): void {
    this.anchorDue = true;
    if (this.anchorTimer || this.closed) return;
    this.anchorTimer = setTimeout(() => {
      this.anchorTimer = null;
      this.writeAnchor();
    }, ANCHOR_INTERVAL_MS);
    this.anchorTimer.unref();
  }

  private writeAnchor(): void {
    if (!this.anchorDue || !this.store.isOpen()) return;
    this.anchorDue = false;
    try {
      this.store.writeAuditAnchor();
    } catch (error) {
      this.log(`审计锚点写入失败: ${(error as Error).message}`);
    }
  }

  /**
   * Retention and clean-up after start-up and then daily, in small batches between checks:
   * expired ledger rows, expired audit records (the chain stays verifiable), and the rows of
   * retired rule libraries. Neither a long-off PC's start nor a check waits for a big delete.
   */
  startMaintenance(): void {
    const run = () => {
      if (this.maintaining || this.closed) return;
      this.maintaining = true;
      const totals = { ledger: 0, audit: 0, rules: 0 };
      const step = () => {
        if (this.closed || !this.store.isOpen()) return;
        try {
          const ledger = this.store.purgeExpiredLedgerBatch(PURGE_BATCH);
          const rules = ledger === 0 ? this.store.purgeRetiredLibrariesBatch(PURGE_BATCH) : 0;
          const audit = ledger === 0 && rules === 0 ? this.flushThen(() => this.store.purgeExpiredAuditBatch(PURGE_BATCH)) : 0;
          totals.ledger += ledger;
          totals.rules += rules;
          totals.audit += audit;
          if (ledger + rules + audit > 0) {
            setTimeout(step, 10).unref();
            return;
          }
          if (totals.ledger > 0) this.audit({ type: 'ledger.purged', data: { rows: totals.ledger } });
        } catch (error) {
          this.log(`数据清理失败: ${(error as Error).message}`);
        }
        this.maintaining = false;
      };
      setTimeout(step, 1000).unref();
    };
    run();
    this.maintenanceTimer = setInterval(run, DAY_MS);
    this.maintenanceTimer.unref();
  }

  private flushThen<T>(write: () => T): T {
    this.flush();
    return write();
  }

  /** Writes everything still queued and the anchor; later writes are refused. */
  drain(): void {
    this.flush();
    this.closed = true;
    if (this.anchorTimer) clearTimeout(this.anchorTimer);
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    this.anchorDue = true;
    this.writeAnchor();
  }
}
