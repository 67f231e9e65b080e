/**
 * Watches the audit trail's integrity: at start-up the part written since the last anchor is
 * verified before the agent answers (fast: the anchor is at most a second behind the head),
 * then the whole trail is verified in the background in small pages between checks. A trail
 * that fails — a record edited, re-hashed without the key, removed, or cut short behind the
 * anchor — makes the status loud and is written into the trail itself.
 */
import { performance } from 'node:perf_hooks';
import type { AuditCursor, LedgerCursor, SqliteStore } from '../../rules-cache/store';
import type { AuditVerification } from '../../rules-cache/store-contract';
import { TypedEvents } from './events';
import type { IntegrityStatus } from './protocol/ui';
import type { Writer } from './writer';

/** Records verified per background page: a couple of milliseconds each. */
const PAGE = 250;
/**
 * The share of the main thread the background walk may take. A year of checks is 100,000+
 * records of a few kilobytes, each parsed and re-hashed: walked flat out it took whole seconds
 * of the loop and filled the young generation every few checks, so the checks answered
 * meanwhile paid in collector pauses and the heap grew by hundreds of megabytes. Paced, each
 * page is followed by a rest four times as long.
 */
const BACKGROUND_SHARE = 0.2;

/**
 * Runs `page` until it says it is done, each run followed by a rest in proportion to how long
 * it took (see {@link BACKGROUND_SHARE}); stops early when `stopped` says so.
 */
function paced(page: () => boolean, stopped: () => boolean): void {
  const run = () => {
    if (stopped()) return;
    const started = performance.now();
    if (page()) return;
    const rest = ((performance.now() - started) * (1 - BACKGROUND_SHARE)) / BACKGROUND_SHARE;
    setTimeout(run, Math.max(1, Math.round(rest))).unref();
  };
  setImmediate(run);
}

export class AuditIntegrity {
  readonly events = new TypedEvents<{ changed: [] }>();
  private atStart: AuditVerification | null = null;
  private full: AuditVerification | null = null;
  private ledgerProblem: string | null = null;
  private fullVerifiedAt: string | undefined;
  private stopped = false;

  constructor(
    private readonly store: SqliteStore,
    private readonly writer: Writer,
    private readonly log: (line: string) => void,
  ) {}

  /** Verifies from the anchor to the head (or the whole trail when there is no anchor yet). */
  verifyAtStart(): AuditVerification {
    const start = this.store.startAuditVerification(true);
    let result: AuditVerification;
    if ('ok' in start) result = start;
    else {
      let cursor: AuditCursor = start;
      for (;;) {
        const step = this.store.continueAuditVerification(cursor, 50_000);
        if (step.done) {
          result = step.result;
          break;
        }
        cursor = step.cursor;
      }
    }
    this.atStart = result;
    if (!result.ok) this.report(result);
    return result;
  }

  /** Verifies the whole trail in pages, yielding to checks between them. */
  verifyAllInBackground(): void {
    const start = this.store.startAuditVerification(false);
    if ('ok' in start) {
      this.finish(start);
      return;
    }
    let cursor = start;
    paced(() => {
      const step = this.store.continueAuditVerification(cursor, PAGE);
      if (step.done) this.finish(step.result);
      else cursor = step.cursor;
      return step.done;
    }, () => this.stopped || !this.store.isOpen());
  }

  /** The trail is walked; the status says `verified` (or `broken`) once the ledger is compared too. */
  private finish(result: AuditVerification): void {
    if (!result.ok && (this.atStart?.ok ?? true)) this.report(result);
    this.checkLedger(() => {
      this.full = result;
      this.fullVerifiedAt = new Date().toISOString();
      this.events.emit('changed');
    });
  }

  /** Every committed order still within retention must still be in the ledger; compared in pages between checks. */
  private checkLedger(done: () => void): void {
    let cursor: LedgerCursor = { after: 0, latest: new Map(), toCount: null, checked: 0, missing: 0 };
    paced(() => {
      const step = this.store.continueLedgerVerification(cursor, PAGE);
      if (!step.done) {
        cursor = step.cursor;
        return false;
      }
      const ledger = step.result;
      if (ledger.missing > 0) {
        this.ledgerProblem = `处方台账少了 ${ledger.missing} 张已提交处方的记录 (共核对 ${ledger.checked} 张; 最早一张见审计记录第 ${ledger.first!.seq} 条): 台账在 RxGate 之外被删改过`;
        this.log(this.ledgerProblem);
        try {
          this.writer.audit({ type: 'ledger.broken', data: { missing: ledger.missing, checked: ledger.checked, firstSeq: ledger.first!.seq } });
        } catch (error) {
          this.log(`无法记录台账核对结果: ${(error as Error).message}`);
        }
      }
      done();
      return true;
    }, () => this.stopped || !this.store.isOpen());
  }

  private report(result: Extract<AuditVerification, { ok: false }>): void {
    this.log(`审计记录校验失败: ${result.reason}`);
    try {
      // The trail records that it was found broken; the verification after it starts anew.
      this.writer.audit({ type: 'audit.broken', data: { brokenAt: result.brokenAt, reason: result.reason } });
    } catch (error) {
      this.log(`无法记录审计校验失败: ${(error as Error).message}`);
    }
  }

  /** For the status window, `rxgate status` and the hub: problems in words, and the chain head. */
  status(ruleProblems: readonly string[]): IntegrityStatus {
    const problems = [...ruleProblems];
    // The start-up check's finding is the first; the full walk would repeat it in other words.
    const audit = this.atStart && !this.atStart.ok ? this.atStart : this.full;
    if (audit && !audit.ok) problems.push(`审计记录: ${audit.reason}`);
    if (this.ledgerProblem) problems.push(this.ledgerProblem);
    const head = this.store.isOpen() ? this.store.auditHead() : null;
    return {
      ok: problems.length === 0,
      problems,
      audit: {
        state: this.full ? (this.full.ok ? 'verified' : 'broken') : this.atStart && !this.atStart.ok ? 'broken' : 'verifying',
        head: head ?? undefined,
        verifiedAt: this.fullVerifiedAt,
      },
    };
  }

  stop(): void {
    this.stopped = true;
  }
}
