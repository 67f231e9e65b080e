/**
 * Checks and the doctor's decisions: validate a check, gather the patient's history, run the
 * engine, answer the verdict; hold checks that need the doctor (the popup), with their
 * timeouts and long-poll waiters; record decisions, cancels and commits through the writer,
 * durable before they are acknowledged. Transports call these functions and subscribe to the
 * typed events; nothing here knows a transport.
 */
import { performance } from 'node:perf_hooks';
import type { SqliteStore } from '../../rules-cache/store';
import type { AuditEvent, LedgerItem, LedgerOrder } from '../../rules-cache/store-contract';
import { ChoiceError, resolveChoice, type ResolvedChoice } from './decisions';
import { evaluate, mergeHistory } from './engine';
import { reversedLevelAsCode } from './engine/titles';
import { decisionEventBody, hubRowsAsLedger, orderEventBody } from './hub-events';
import type { HubHistoryRow } from './protocol/hub';
import { TypedEvents } from './events';
import { Cancel, DoctorChoice, parseCheck, parseCommit, type Check, type Decision, type DecisionSource, type HistorySource, type Result, type Verdict } from './protocol/messages';
import type { PendingChange, PendingView, RecentCheck } from './protocol/ui';
import { ProtocolError } from './protocol/errors';
import type { RulesService } from './rules-service';
import { TextSlabs } from './text-slabs';
import type { Writer } from './writer';

export interface CheckServiceOptions {
  /** How long a held check waits for the doctor before the HIS is told it timed out. */
  decisionTimeoutSeconds: number;
  /** Whether 3101 checks also get RxGate's popup. */
  nhsaPopup: boolean;
  /** `reversed`: the HIS numbers doctors' titles 1–5 from 士级 up (rules.md v2, `titleCodes`). */
  titleCodes: 'standard' | 'reversed';
  /**
   * Popups held at once. A new one beyond it closes the oldest, whose HIS is told
   * `decision_timeout` as if the doctor had not answered; that check stays committable.
   */
  maxPending: number;
  /**
   * Where `checkWithHub` asks the hospital hub for the patient's history (a hub is configured):
   * the rows, or null when the hub did not answer within its budget.
   */
  hubHistory: ((patientId: string, since: string) => Promise<HubHistoryRow[] | null>) | null;
  now: () => Date;
  log: (line: string) => void;
}

/** What the check service tells its subscribers. */
export interface CheckEvents {
  /** The checks waiting for the doctor changed: what was added (in order) and what left. */
  pending: [PendingChange];
  /** The doctor decided (popup or 3103): the HIS connection that sent the check gets it. */
  decision: [Decision];
  /** A held check waited too long for the doctor; the HIS gets this error. */
  timeout: [string, ProtocolError];
  /** A check was answered (for the status window's counters). */
  checked: [{ id: string; origin?: string }];
  [key: string]: unknown[];
}

/**
 * A check the agent remembers after answering it, for `commit`, the popup, long-polls and 3103.
 * Once nothing is about to read it (answered, audited, not waiting for the doctor) it keeps the
 * check and its verdict as UTF-8 JSON outside the JavaScript heap, and reads them back from it
 * when asked. Held as object trees, the 500 remembered checks were copied by every
 * young-generation collection until they reached the old generation, which made each of those
 * collections about half as long again (docs/benchmarks.md, "Held checks").
 */
class HeldCheck {
  readonly id: string;
  readonly patientId: string;
  decision?: Decision;
  resolved?: ResolvedChoice;
  cancelled?: boolean;
  timedOut?: boolean;
  committed?: boolean;
  timer?: NodeJS.Timeout;
  private objects: { check: Check; verdict: Verdict } | undefined;
  /**
   * The verdict's and the check's JSON as UTF-8 bytes outside the JavaScript heap
   * (text-slabs.ts), each made once: the check and verdict never change after they are held.
   * The reply sent a copy of the verdict's bytes; these go back to the slabs when the check is
   * forgotten.
   */
  private verdictBytes: Buffer | undefined;
  private checkBytes: Buffer | undefined;

  constructor(
    check: Check,
    verdict: Verdict,
    readonly receivedAt: string,
    readonly source: 'native' | 'nhsa',
    public pending: boolean,
  ) {
    this.id = check.id;
    this.patientId = check.patient.id;
    this.objects = { check, verdict };
  }

  get check(): Check {
    return this.open().check;
  }

  get verdict(): Verdict {
    return this.open().verdict;
  }

  private open(): { check: Check; verdict: Verdict } {
    this.objects ??= {
      check: JSON.parse(this.checkBytes!.toString('utf8')) as Check,
      verdict: JSON.parse(this.verdictBytes!.toString('utf8')) as Verdict,
    };
    return this.objects;
  }

  /** Whether `verdict` is the one this check holds (not one of an earlier check under the same id). */
  holds(verdict: Verdict): boolean {
    return this.objects?.verdict === verdict;
  }

  /**
   * The verdict's JSON as UTF-8 for a reply, encoded once for the reply and the held bytes
   * alike. The transport gets a copy of the held bytes: their slab is written again once this
   * check is forgotten, and a slow socket may still be holding what it was given.
   */
  replyUtf8(texts: TextSlabs): Buffer {
    // Not kept beside a popup, which may wait long with hundreds of findings: made again when it settles.
    if (this.pending) return Buffer.from(JSON.stringify(this.verdict), 'utf8');
    return Buffer.from(this.heldVerdictBytes(texts));
  }

  /** Lets go of the objects unless the popup still shows them; `check` and `verdict` read the bytes again. */
  settle(texts: TextSlabs): void {
    if (this.pending || !this.objects) return;
    this.heldVerdictBytes(texts);
    this.checkBytes ??= texts.copy(JSON.stringify(this.objects.check));
    this.objects = undefined;
  }

  /** The verdict's held bytes, encoded into the slabs the first time they are asked for. */
  private heldVerdictBytes(texts: TextSlabs): Buffer {
    this.verdictBytes ??= texts.copy(JSON.stringify(this.verdict));
    return this.verdictBytes;
  }

  /**
   * Gives the held text back to the slabs when the agent stops holding this check. Only a
   * settled check is given back: one that is not has a reader still to come (its audit record,
   * a popup), and its text is left to the garbage collector instead.
   */
  forget(texts: TextSlabs): void {
    if (this.pending || this.objects) return;
    for (const bytes of [this.verdictBytes, this.checkBytes]) if (bytes) texts.release(bytes);
    this.verdictBytes = undefined;
    this.checkBytes = undefined;
  }
}

/** The patient's lines in this PC's ledger, and how long reading them took. */
interface LocalHistory {
  items: LedgerItem[];
  readMs: number;
}

/**
 * How many recent answered checks stay in memory so `commit`, long-polls and 3103 can find
 * them. Checks still waiting for the doctor are held besides these (at most `maxPending`):
 * a popup never disappears because newer checks arrived.
 */
const RECENT_LIMIT = 500;
const RECENT_SHOWN = 50;

export class CheckService {
  readonly events = new TypedEvents<CheckEvents>();
  private readonly held = new Map<string, HeldCheck>();
  /** Ids of the checks waiting for the doctor, oldest first. */
  private readonly pendingIds = new Set<string>();
  private readonly waiters = new Map<string, Set<(decision: Decision | null) => void>>();
  /** Where held checks keep their text. */
  private readonly texts = new TextSlabs();
  readonly stats: { total: number; byResult: Record<Result, number>; recent: RecentCheck[] } = {
    total: 0,
    byResult: { pass: 0, warn: 0, block: 0, unchecked: 0 },
    recent: [],
  };

  constructor(
    private readonly store: SqliteStore,
    private readonly writer: Writer,
    private readonly rules: RulesService,
    private readonly options: CheckServiceOptions,
  ) {}

  private now(): Date {
    return this.options.now();
  }

  private log(line: string): void {
    this.options.log(line);
  }

  /**
   * Validates and checks a native `check`; holds it for the popup when something fires.
   * `origin` is the transport's own tag for who asked (a connection), handed back in the
   * `checked` event so that the transport can route the decision; this service never reads it.
   */
  check(raw: unknown, origin?: string): Verdict {
    return this.run(this.validate(raw), 'native', origin);
  }

  /**
   * A native check with the patient's history from the hospital hub, when one is configured:
   * asked for within its time budget, and whatever does not come back in time is checked
   * without (the verdict's `historySources` says which sources answered).
   */
  async checkWithHub(raw: unknown, origin?: string): Promise<Verdict> {
    return this.runWithHub(this.validate(raw), 'native', origin);
  }

  /**
   * `run` with the hub's history for an already validated check: the one budgeted lookup and
   * merge for native checks and for the national interface's 3101/3102 alike.
   */
  async runWithHub(check: Check, source: 'native' | 'nhsa', origin?: string): Promise<Verdict> {
    const { hubHistory } = this.options;
    if (!hubHistory) return this.run(check, source, origin);
    assertWithinWork(check.items.length, check.history.length);
    const lookup = hubHistory(check.patient.id, historySince(check.visit.date)).catch(() => null);
    // This PC's ledger is read while the hub answers, so that the lookup's round trip, not the
    // sum of both, is what the check waits for. Node's HTTP client writes a request on a kept-
    // alive connection in a next tick: yield one first, or the read would run before the request
    // leaves. A commit that arrives meanwhile came after this check, so the check need not see it.
    await new Promise<void>((resolve) => process.nextTick(resolve));
    let local: LocalHistory | undefined;
    try {
      local = this.localHistory(check);
    } catch {
      // `run` reads again, and reports the failure the way it reports any.
    }
    const rows = await lookup;
    return this.run(check, source, origin, rows, local);
  }

  /** This PC's committed lines for the patient, as the engine reads history. */
  private localHistory(check: Check): LocalHistory {
    const started = performance.now();
    const items = this.store.priorItems(check.patient.id, historySince(check.visit.date));
    // The ledger names visits by their keyed reference; this check's own visit is the one it
    // names in the clear, so rows of the current visit count as this visit (per-admission
    // courses and limits), and no raw visit id was ever stored.
    const currentRef = `${this.visitRef(check.visit.id)}/`;
    for (const item of items) if (item.rxId.startsWith(currentRef)) item.rxId = `${check.visit.id}/${item.rxId.slice(currentRef.length)}`;
    return { items, readMs: performance.now() - started };
  }

  private validate(raw: unknown): Check {
    // Counted on the raw frame, before validation, which itself costs in proportion.
    const shape = raw as { items?: unknown; history?: unknown } | null;
    assertWithinWork(arrayLength(shape?.items), arrayLength(shape?.history));
    const parsed = parseCheck(raw);
    if (!parsed.success) throw ProtocolError.fromZod(parsed.error, idOf(raw));
    return parsed.data;
  }

  /** Checks an already validated check (the national interface maps its own onto these). */
  run(check: Check, source: 'native' | 'nhsa', origin?: string, hubRows?: HubHistoryRow[] | null, local?: LocalHistory): Verdict {
    assertWithinWork(check.items.length, check.history.length);
    // The ledger read counts as time inside the agent wherever it happened; the wait for the hub does not.
    const started = performance.now() - (local?.readMs ?? 0);
    const doctor = check.visit.doctor;
    if (this.options.titleCodes === 'reversed' && doctor?.title !== undefined) doctor.title = reversedLevelAsCode(doctor.title);
    const existing = this.held.get(check.id);
    if (existing?.pending) {
      // A re-sent check replaces the one still waiting (the doctor edited and re-checked);
      // the popup drops the old one now, whatever the new verdict.
      this.dropPending(existing, true);
    }
    let verdict: Verdict;
    let historySources: HistorySource[] | undefined;
    try {
      const ledger = (local ?? this.localHistory(check)).items;
      // The hub's rows that this PC's ledger does not have (other PCs' prescriptions).
      const fromHub = hubRows ? hubRowsAsLedger(ledger, hubRows) : [];
      const prior = mergeHistory(check.history, [...ledger, ...fromHub]);
      historySources = [...(check.history.length > 0 ? ['his' as const] : []), 'ledger' as const, ...(hubRows ? ['hub' as const] : [])];
      const expired = this.rules.expiredTooLong();
      const compiled = this.rules.compiled;
      const outcome = expired ? null : evaluate(compiled, check, prior);
      // The engine's fresh object gains its time in place: spread into a new literal, every
      // verdict got a hidden class of its own (V8 11 did not reuse the clone's transition), one
      // more map per check for the old generation to hold and collect.
      verdict = outcome
        ? Object.assign(outcome, { elapsedMs: round3(performance.now() - started) })
        : {
            type: 'verdict',
            id: check.id,
            result: 'unchecked',
            reason: expired!,
            findings: [],
            rules: compiled ? { version: compiled.version, source: compiled.source } : undefined,
            elapsedMs: round3(performance.now() - started),
          };
    } catch (error) {
      // Never a silent pass and never a hang: the HIS decides what `unchecked` means for it.
      this.log(`检查出错 ${check.id}: ${(error as Error).stack ?? String(error)}`);
      verdict = {
        type: 'verdict',
        id: check.id,
        result: 'unchecked',
        reason: '内部错误, 未能完成检查',
        findings: [],
        elapsedMs: round3(performance.now() - started),
      };
    }
    // Said only where a hub is configured: an agent on its own answers as it always has.
    if (hubRows !== undefined && historySources) verdict.historySources = historySources;
    const popup = check.ui === 'popup' && verdict.findings.length > 0;
    if (popup) verdict.pending = true;
    // Held for commit, the popup and long-polls, which never need the history again: without
    // it, 2,000 remembered checks cost megabytes, not hundreds of them.
    const held = new HeldCheck({ ...check, history: [] }, verdict, this.now().toISOString(), source, popup);
    this.remember(check.id, held);
    this.countCheck(verdict, source, origin);
    if (popup) {
      const timeout = this.options.decisionTimeoutSeconds * 1000;
      held.timer = setTimeout(() => this.expirePending(check.id, 'timeout'), timeout);
      held.timer.unref();
      this.pendingIds.add(check.id);
      this.events.emit('pending', { added: [pendingView(held)], removed: [] });
      while (this.pendingIds.size > this.options.maxPending) {
        this.expirePending(this.pendingIds.values().next().value as string, 'limit');
      }
    }
    this.auditCheck(held);
    return verdict;
  }

  private auditCheck(held: HeldCheck): void {
    // Built by the writer once this check's reply has gone (the turn after it, or sooner when an
    // urgent write comes), from the check already held: a burst of checks read in one turn keeps
    // no second copy of every verdict alive meanwhile.
    this.writer.auditLater(() => {
      const record: AuditEvent = {
        type: 'check',
        checkId: held.id,
        patientId: held.patientId,
        data: {
          source: held.source,
          // Keyed like the ledger's: the raw visit id leads straight back to the patient.
          visitKey: this.store.visitKey(held.check.visit.id),
          dept: held.check.visit.dept?.code,
          doctor: held.check.visit.doctor?.code,
          result: held.verdict.result,
          reason: held.verdict.reason,
          rulesVersion: held.verdict.rules?.version,
          items: held.check.items.map((item) => ({ line: item.line, code: item.code, hospCode: item.hospCode, channel: item.channel })),
          findings: held.verdict.findings.map((finding) => ({
            findingId: finding.findingId,
            ruleId: finding.ruleId,
            level: finding.level,
            lines: finding.lines,
          })),
          elapsedMs: held.verdict.elapsedMs,
        },
      };
      // The last reader of a plain answered check: from here on it is held as text.
      held.settle(this.texts);
      return record;
    });
  }

  // ---- decisions ---------------------------------------------------------------------------

  /** The doctor's choice from the popup (through whichever bridge). */
  decide(rawChoice: unknown): Decision {
    const parsed = DoctorChoice.safeParse(rawChoice);
    if (!parsed.success) throw ProtocolError.fromZod(parsed.error, idOf(rawChoice));
    const held = this.held.get(parsed.data.id);
    if (!held || !held.pending) {
      throw new ProtocolError('not_pending', `没有等待处理的检查: ${parsed.data.id}`, '$.id');
    }
    if (held.decision) throw new ProtocolError('already_decided', `该检查已处理: ${held.id}`, '$.id');
    let resolved: ResolvedChoice;
    try {
      resolved = resolveChoice(held.verdict.findings, parsed.data);
    } catch (error) {
      if (error instanceof ChoiceError) throw new ProtocolError(error.code, error.message, error.path ? `$.${error.path}` : undefined);
      throw error;
    }
    return this.storeDecision(held, resolved, 'popup');
  }

  /**
   * The verdict as the UTF-8 JSON a transport sends: made once, and kept by the held check,
   * which would otherwise encode the same text again when it settles.
   */
  replyUtf8(verdict: Verdict): Buffer {
    const held = this.held.get(verdict.id);
    return held?.holds(verdict) ? held.replyUtf8(this.texts) : Buffer.from(JSON.stringify(verdict), 'utf8');
  }

  /** A held check as the national interface sees it, or undefined when this agent does not hold it. */
  view(id: string): { check: Check; verdict: Verdict; decision?: Decision } | undefined {
    return this.held.get(id);
  }

  /**
   * Records what the HIS reported the doctor chose (3103), exactly as reported: it was already
   * checked against the findings by the national interface, including continuing past a block,
   * which the audit marks for the insurance office's review. `auditData` joins the record.
   */
  recordReported(id: string, resolved: ResolvedChoice, source: DecisionSource, auditData: Record<string, unknown>): Decision {
    const held = this.held.get(id);
    if (!held) throw new ProtocolError('unknown_check', `没有这个检查: ${id}`, '$.id');
    if (held.decision) throw new ProtocolError('already_decided', `该检查已处理: ${held.id}`, '$.id');
    return this.storeDecision(held, resolved, source, auditData);
  }

  /** Writes an audit record now (the national interface's feedback beside an earlier decision). */
  audit(event: AuditEvent): void {
    this.writer.audit(event);
  }

  private storeDecision(held: HeldCheck, resolved: ResolvedChoice, source: DecisionSource, auditData: Record<string, unknown> = {}): Decision {
    const decision: Decision = {
      type: 'decision',
      id: held.id,
      outcome: resolved.outcome,
      lines: resolved.lines,
      reasons: resolved.reasons,
      at: isoWithOffset(this.now()),
      source,
    };
    // Durable before anyone is told: a decision the HIS receives is in the audit trail.
    this.writer.audit({
      type: 'decision',
      checkId: held.id,
      patientId: held.patientId,
      data: { outcome: decision.outcome, lines: decision.lines, reasons: decision.reasons, source, ...auditData },
    }, () => decisionEventBody(held.check, held.verdict.findings, resolved, { source, at: this.now().toISOString() }));
    held.decision = decision;
    held.resolved = resolved;
    if (held.pending) this.dropPending(held, true);
    this.events.emit('decision', decision);
    this.resolveWaiters(held.id, decision);
    held.settle(this.texts);
    return decision;
  }

  /** Long-poll support: resolves with the decision, or null when `waitMs` passes first. */
  waitForDecision(id: string, waitMs: number): Promise<Decision | null> {
    const held = this.held.get(id);
    if (!held) return Promise.reject(new ProtocolError('unknown_check', `没有这个检查: ${id}`, undefined));
    if (held.decision) return Promise.resolve(held.decision);
    if (held.cancelled) return Promise.reject(new ProtocolError('cancelled', `检查已取消: ${id}`, undefined));
    if (held.timedOut) return Promise.reject(new ProtocolError('decision_timeout', '医生未在规定时间内处理提醒', undefined));
    if (held.committed) return Promise.reject(committedWithoutDecision(id));
    if (!held.pending) return Promise.reject(new ProtocolError('no_decision', `该检查不需要医生处理 (结果 ${held.verdict.result})`, undefined));
    return new Promise((resolve, reject) => {
      const set = this.waiters.get(id) ?? new Set();
      const timer = setTimeout(() => {
        set.delete(done);
        resolve(null);
      }, waitMs);
      // Woken without a decision: the HIS cancelled or committed, or the doctor never
      // answered. The check is looked up again: a re-check under the same id replaces it.
      const done = (decision: Decision | null) => {
        clearTimeout(timer);
        const current = this.held.get(id) ?? held;
        if (decision) resolve(decision);
        else if (current.cancelled) reject(new ProtocolError('cancelled', `检查已取消: ${id}`, undefined));
        else if (current.timedOut) reject(new ProtocolError('decision_timeout', '医生未在规定时间内处理提醒', undefined));
        else if (current.committed) reject(committedWithoutDecision(id));
        else resolve(null);
      };
      set.add(done);
      this.waiters.set(id, set);
    });
  }

  private resolveWaiters(id: string, decision: Decision | null): void {
    const set = this.waiters.get(id);
    if (!set) return;
    this.waiters.delete(id);
    for (const done of set) done(decision);
  }

  cancel(raw: unknown): { id: string; closed: boolean } {
    const parsed = Cancel.safeParse(raw);
    if (!parsed.success) throw ProtocolError.fromZod(parsed.error, idOf(raw));
    const held = this.held.get(parsed.data.id);
    if (!held) throw new ProtocolError('unknown_check', `没有这个检查: ${parsed.data.id}`, '$.id');
    const closed = held.pending;
    this.writer.audit({ type: 'cancel', checkId: held.id, patientId: held.patientId, data: { wasPending: closed } });
    held.cancelled = true;
    if (held.pending) this.dropPending(held, true);
    this.resolveWaiters(held.id, null);
    held.settle(this.texts);
    return { id: held.id, closed };
  }

  /**
   * The HIS that sent these checks is gone (its connection closed): whatever of them still
   * waits for the doctor can no longer reach anyone, so the popups close instead of standing
   * in front of the orders that can. Recorded like a cancel, with the reason.
   */
  abandon(ids: readonly string[], reason: string): number {
    const removed: string[] = [];
    for (const id of ids) {
      const held = this.held.get(id);
      if (!held?.pending) continue;
      try {
        this.writer.audit({ type: 'cancel', checkId: id, patientId: held.patientId, data: { wasPending: true, reason } });
      } catch (error) {
        this.log(`审计记录写入失败 (cancel): ${(error as Error).message}`);
      }
      held.cancelled = true;
      this.dropPending(held, false);
      this.resolveWaiters(id, null);
      held.settle(this.texts);
      removed.push(id);
    }
    if (removed.length > 0) this.events.emit('pending', { added: [], removed });
    return removed.length;
  }

  /**
   * The HIS saved the order: record what was actually prescribed (after the doctor's actions)
   * in the ledger, so later checks on this PC see it even if the HIS sends no history.
   */
  commit(raw: unknown): { id: string; recorded: number } {
    const parsed = parseCommit(raw);
    if (!parsed.success) throw ProtocolError.fromZod(parsed.error, idOf(raw));
    const held = this.held.get(parsed.data.id);
    if (!held) throw new ProtocolError('unknown_check', `没有这个检查 (可能已超过保留时间或代理已重启): ${parsed.data.id}`, '$.id');
    if (held.decision?.outcome === 'revise') {
      throw new ProtocolError('revised', `医生已选择返回修改, 请重新检查后再提交: ${parsed.data.id}`, '$.id');
    }
    const wasPending = held.pending;
    const actions = new Map((held.resolved?.lines ?? []).map((entry) => [entry.line, entry.action]));
    const items = parsed.data.items ?? held.check.items;
    const { visit } = held.check;
    const visitRef = this.visitRef(visit.id);
    const ledgerItems: LedgerItem[] = items
      .filter((item) => parsed.data.items !== undefined || actions.get(item.line) !== 'remove')
      .map((item) => ({
        // Check ids are the HIS's and may repeat across visits; the visit makes the line unique.
        // The visit is named by its keyed hash: the ledger never holds a raw visit id.
        rxId: `${visitRef}/${held.id}#${item.line}`,
        code: item.code,
        hospCode: item.hospCode,
        name: item.name,
        category: item.category,
        date: visit.date,
        days: item.days,
        qty: item.qty,
        amount: item.amount ?? (item.price !== undefined && item.qty !== undefined ? round2(item.price * item.qty) : undefined),
        deptCode: visit.dept?.code,
        deptName: visit.dept?.name,
        doctorCode: visit.doctor?.code,
        doctorName: visit.doctor?.name,
        channel: parsed.data.items === undefined && actions.get(item.line) === 'selfpay' ? 'selfpay' : item.channel,
      }));
    const order: LedgerOrder = { checkId: held.id, patientId: held.patientId, visitId: visit.id, items: ledgerItems };
    // The order and its audit record in one transaction, committed before the HIS hears `ack`.
    const recorded = this.writer.recordOrder(order, {
      type: 'commit',
      checkId: held.id,
      patientId: held.patientId,
      // The visit date says until when retention keeps these rows: the ledger check compares them.
      data: { recorded: ledgerItems.length, replacedItems: parsed.data.items !== undefined, visitDate: visit.date },
    }, () => orderEventBody(order, this.now().toISOString()));
    held.committed = true;
    if (held.pending) this.dropPending(held, true);
    if (wasPending) this.resolveWaiters(held.id, null);
    held.settle(this.texts);
    return { id: held.id, recorded };
  }

  /**
   * Closes a popup the doctor did not answer: its time ran out, or `limit`, more popups than
   * `maxPending` wait and this is the oldest. Either way the HIS hears `decision_timeout` and
   * may still commit the check.
   */
  private expirePending(id: string, why: 'timeout' | 'limit'): void {
    const held = this.held.get(id);
    if (!held?.pending) return;
    held.timedOut = true;
    this.dropPending(held, true);
    try {
      this.writer.audit({ type: 'timeout', checkId: id, patientId: held.patientId, data: why === 'limit' ? { reason: 'pending_limit' } : {} });
    } catch (error) {
      this.log(`审计记录写入失败 (timeout): ${(error as Error).message}`);
    }
    const message =
      why === 'limit'
        ? `等待医生处理的提醒超过 ${this.options.maxPending} 个, 最早的已关闭 (仍可提交)`
        : '医生未在规定时间内处理提醒';
    if (why === 'limit') this.log(`提醒 ${id} 因等待处理的提醒过多而关闭, 已通知 HIS`);
    this.events.emit('timeout', id, new ProtocolError('decision_timeout', message, undefined));
    this.resolveWaiters(id, null);
    held.settle(this.texts);
  }

  private dropPending(held: HeldCheck, notify: boolean): void {
    held.pending = false;
    if (held.timer) clearTimeout(held.timer);
    this.pendingIds.delete(held.id);
    if (notify) this.events.emit('pending', { added: [], removed: [held.id] });
  }

  /** Forgets the oldest answered checks beyond the recent window; held popups do not count. */
  private remember(id: string, held: HeldCheck): void {
    const replaced = this.held.get(id);
    if (replaced) this.forget(replaced);
    this.held.set(id, held);
    const limit = () => RECENT_LIMIT + this.pendingIds.size;
    if (this.held.size <= limit()) return;
    for (const entry of this.held.values()) {
      if (this.held.size <= limit()) break;
      if (!entry.pending) this.forget(entry);
    }
  }

  private forget(held: HeldCheck): void {
    this.held.delete(held.id);
    held.forget(this.texts);
  }

  private countCheck(verdict: Verdict, source: 'native' | 'nhsa', origin: string | undefined): void {
    this.stats.total += 1;
    this.stats.byResult[verdict.result] += 1;
    this.stats.recent.unshift({
      at: this.now().toISOString(),
      result: verdict.result,
      findingCount: verdict.findings.length,
      elapsedMs: verdict.elapsedMs,
      source,
    });
    if (this.stats.recent.length > RECENT_SHOWN) this.stats.recent.length = RECENT_SHOWN;
    this.events.emit('checked', { id: verdict.id, origin });
  }

  /** How the ledger names a visit: a prefix of its keyed hash, never the raw visit id. */
  private visitRef(visitId: string): string {
    return this.store.visitKey(visitId).slice(0, 16);
  }

  /** The checks waiting for the doctor, oldest first. */
  pending(): PendingView[] {
    return [...this.pendingIds].map((id) => pendingView(this.held.get(id)!));
  }

  /** How many checks wait for the doctor. */
  pendingCount(): number {
    return this.pendingIds.size;
  }

  /** Ends every timer and wakes every waiter (the agent is stopping). */
  stop(): void {
    for (const held of this.held.values()) if (held.timer) clearTimeout(held.timer);
    for (const id of [...this.waiters.keys()]) this.resolveWaiters(id, null);
  }
}

function pendingView(held: HeldCheck): PendingView {
  const { check, verdict } = held;
  return {
    id: check.id,
    receivedAt: held.receivedAt,
    patient: {
      name: check.patient.name,
      gender: check.patient.gender,
      age: check.patient.birthDate ? ageAt(check.patient.birthDate, check.visit.date) : undefined,
    },
    visit: {
      type: check.visit.type,
      medType: check.visit.medType,
      dept: check.visit.dept?.name ?? check.visit.dept?.code,
      doctor: check.visit.doctor?.name ?? check.visit.doctor?.code,
      date: check.visit.date,
    },
    items: check.items.map((item) => ({
      line: item.line,
      name: item.name,
      code: item.code,
      hospCode: item.hospCode,
      category: item.category,
      qty: item.qty,
      unit: item.unit,
      amount: item.amount ?? (item.price !== undefined && item.qty !== undefined ? round2(item.price * item.qty) : undefined),
      days: item.days,
      channel: item.channel,
    })),
    result: verdict.result,
    findings: verdict.findings,
    chronic: verdict.chronic,
  };
}

function ageAt(birthDate: string, on: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const [y, m, d] = on.split('-').map(Number) as [number, number, number];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/**
 * How far back the ledger is read for a check: the start of the visit's calendar year (chronic
 * year-to-date) or a year back (repeat and course look-backs), whichever is earlier.
 */
export function historySince(visitDate: string): string {
  const yearStart = `${visitDate.slice(0, 4)}-01-01`;
  const yearBack = new Date(Date.parse(`${visitDate}T00:00:00Z`) - 366 * 86_400_000).toISOString().slice(0, 10);
  return yearBack < yearStart ? yearBack : yearStart;
}

/**
 * The most work one check may ask for, as order lines × (history entries + 1): the engine
 * compares every line with the history, so this bounds how long one check holds the event
 * loop (everyone else's checks wait meanwhile). An ordinary order is 20 × 201; the cap allows
 * 500 lines with 200 history entries, or 50 lines with 2,000.
 */
export const MAX_CHECK_WORK = 100_000;

/** Throws `too_complex` when a check of this shape would exceed `MAX_CHECK_WORK`. */
export function assertWithinWork(items: number, history: number): void {
  const work = items * (history + 1);
  if (work > MAX_CHECK_WORK) {
    throw new ProtocolError(
      'too_complex',
      `检查工作量过大: ${items} 行处方 × ${history} 条历史, 上限为 行数 × (历史条数 + 1) ≤ ${MAX_CHECK_WORK}; 请只发送近一年的历史`,
      '$.history',
    );
  }
}

function arrayLength(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}

function committedWithoutDecision(id: string): ProtocolError {
  return new ProtocolError('committed', `医嘱已提交, 该检查没有医生的处理结果: ${id}`, undefined);
}

function idOf(raw: unknown): string | undefined {
  if (raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string') return (raw as { id: string }).id;
  return undefined;
}



function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** ISO 8601 with the PC's local offset, as the HIS expects local time (`…+08:00`). */
function isoWithOffset(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const pad = (value: number) => String(Math.floor(Math.abs(value))).padStart(2, '0');
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 19);
  return `${local}${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}
