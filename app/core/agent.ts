/**
 * The agent core: one object that owns the rule index, the store, the pending decisions and
 * the localhost server. Transports call into it; the popup subscribes to its events. Pure
 * Node, so the same core runs inside Electron and headless.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileRules, compileRulesSliced, type CompiledRules } from '../../rules-cache/compile';
import { parseRuleLibraryDocument, type RuleLibrary } from '../../rules-cache/model';
import { openStore, versionToBeat, type SqliteStore } from '../../rules-cache/store';
import type { AuditEvent, LedgerItem, LedgerOrder, LibraryInfo } from '../../rules-cache/store-contract';
import { writeLibraryInWorker } from '../../rules-cache/library-writer';
import { ChoiceError, resolveChoice, type ResolvedChoice } from './decisions';
import { evaluate, mergeHistory } from './engine';
import {
  Cancel,
  Check,
  Commit,
  DoctorChoice,
  type Decision,
  type Result,
  type Verdict,
} from './protocol/messages';
import type { AgentBridge, PendingView, RecentCheck, RulesStatus, StatusView, SyncStatus } from './protocol/ui';
import { ProtocolError } from './protocol/errors';
import { NhsaService, type FeedbackDecision, type NhsaCore } from './nhsa-service';
import { appRoot } from './paths';
import { LocalServer } from './transport/server';
import { AGENT_VERSION } from './version';

export interface AgentOptions {
  dataDir: string;
  /** 0 picks a free port (tests). */
  port?: number;
  token: string;
  allowOrigins?: string[];
  /** A JSON rule library to run on instead of the cached one. */
  rulesFile?: string;
  /** Folder of the built UI served at /ui/. */
  uiDir?: string;
  retentionDays?: number;
  maxFrameBytes?: number;
  nhsaPopup?: boolean;
  /** `/nhsa…` authentication (protocol.md "Drop-in national interface"); default `token`. */
  nhsaAuth?: 'token' | 'loopback';
  /** Headers besides `Authorization: Bearer` that may carry the token on `/nhsa…` (e.g. `apikey`). */
  nhsaTokenHeaders?: string[];
  /** Add RxGate's own top-level fields to national replies. */
  nhsaExtraFields?: boolean;
  decisionTimeoutSeconds?: number;
  /** Days past its expiry after which a library no longer checks (default 30). */
  expiredHardLimitDays?: number;
  /** WebSocket ping interval (default 30 s). */
  heartbeatMs?: number;
  /** Clock, for tests of retention and expiry. */
  now?: () => Date;
  log?: (line: string) => void;
}

interface HeldCheck {
  check: Check;
  verdict: Verdict;
  receivedAt: string;
  source: 'native' | 'nhsa';
  pending: boolean;
  decision?: Decision;
  resolved?: ResolvedChoice;
  cancelled?: boolean;
  timedOut?: boolean;
  committed?: boolean;
  timer?: NodeJS.Timeout;
}

/** How many recent checks stay in memory so `commit`, long-polls and 3103 can find them. */
const RECENT_LIMIT = 500;
const RECENT_SHOWN = 50;

/** The embedded demo library: the floor the agent starts on when nothing else is loaded. */
const DEMO_RULES_FILE = demoRulesFile();

/**
 * Beside the code (`dist/rules-cache/demo` in a build or a packaged app, where the packaging
 * copies it) or in the source tree when run from a checkout.
 */
function demoRulesFile(): string {
  const candidates = [
    join(__dirname, '..', '..', 'rules-cache', 'demo', 'demo-rules.json'),
    join(appRoot(), 'rules-cache', 'demo', 'demo-rules.json'),
  ];
  return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0]!;
}

export class Agent extends EventEmitter {
  readonly startedAt = new Date();
  private rules: CompiledRules | null = null;
  private readonly held = new Map<string, HeldCheck>();
  private readonly waiters = new Map<string, Set<(decision: Decision | null) => void>>();
  private readonly stats: { total: number; byResult: Record<Result, number>; recent: RecentCheck[] } = {
    total: 0,
    byResult: { pass: 0, warn: 0, block: 0, unchecked: 0 },
    recent: [],
  };
  private server!: LocalServer;
  private syncStatus: SyncStatus = { configured: false, servers: [], state: 'disabled', lastResult: '未配置规则服务器' };
  /** Set by the sync wiring; without it `syncNow` explains that no server is configured. */
  syncHandler: (() => Promise<string>) | null = null;
  readonly uiToken: string;

  private constructor(
    readonly options: AgentOptions,
    readonly store: SqliteStore,
  ) {
    super();
    this.uiToken = randomToken();
    this.nhsa = new NhsaService(this.nhsaCore(), { popup: options.nhsaPopup, extraFields: options.nhsaExtraFields });
  }

  /** Opens the store, loads rules, and starts listening. */
  static async start(options: AgentOptions): Promise<Agent> {
    mkdirSync(options.dataDir, { recursive: true });
    const store = openStore(join(options.dataDir, 'rxgate.db'), {
      now: options.now,
      retentionDays: options.retentionDays,
      purgeOnOpen: false,
    });
    const agent = new Agent(options, store);
    try {
      agent.loadInitialRules();
      agent.server = new LocalServer(agent, {
        port: options.port ?? 17380,
        token: options.token,
        uiToken: agent.uiToken,
        allowOrigins: options.allowOrigins ?? [],
        uiDir: options.uiDir,
        maxFrameBytes: options.maxFrameBytes ?? 1024 * 1024,
        heartbeatMs: options.heartbeatMs,
        nhsa: { auth: options.nhsaAuth ?? 'token', tokenHeaders: options.nhsaTokenHeaders ?? [] },
        log: (line) => agent.log(line),
      });
      await agent.server.listen();
      // Expired ledger rows go after start-up and then daily, in small batches between
      // checks, so neither a long-off PC's start nor a check waits for a big delete.
      agent.purgeLedger();
      agent.purgeTimer = setInterval(() => agent.purgeLedger(), 24 * 3600_000);
      agent.purgeTimer.unref();
    } catch (error) {
      store.close();
      throw error;
    }
    return agent;
  }

  get port(): number {
    return this.server.port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/v1`;
  }

  get uiUrl(): string {
    return `http://127.0.0.1:${this.port}/ui/#token=${this.uiToken}`;
  }

  now(): Date {
    return this.options.now?.() ?? new Date();
  }

  log(line: string): void {
    this.options.log?.(line);
  }

  // ---- rules -------------------------------------------------------------------------------

  private loadInitialRules(): void {
    if (this.options.rulesFile) {
      const library = readLibraryFile(this.options.rulesFile, `file`);
      this.applyLibrary(library, { file: this.options.rulesFile });
      this.log(`规则库: ${this.options.rulesFile} (版本 ${library.version}, ${library.rules.length} 条)`);
      return;
    }
    const active = this.readCachedLibrary();
    if (active) {
      this.rules = compileRules(active.library);
      this.log(`规则库: 本地缓存 (来源 ${active.info.source}, 版本 ${active.info.version}, ${active.info.ruleCount} 条)`);
      return;
    }
    const demo = readLibraryFile(DEMO_RULES_FILE, 'demo');
    this.applyLibrary(demo, { file: 'demo-rules.json' });
    this.log(`规则库: 内置演示规则库 (版本 ${demo.version}, ${demo.rules.length} 条) — 尚未导入或同步正式规则`);
  }

  /**
   * The cached library, or the previous one when the active one no longer validates (a
   * damaged or hand-edited database): the last good rules stay in force, and the audit says why.
   */
  private readCachedLibrary(): ReturnType<SqliteStore['activeLibrary']> {
    try {
      return this.store.activeLibrary();
    } catch (error) {
      this.log(`本地规则库损坏: ${(error as Error).message}`);
      this.audit({ type: 'rules.damaged', data: { message: (error as Error).message } }, true);
      if (!this.store.libraryInfo().previous) return null;
      try {
        this.store.rollbackLibrary();
        const previous = this.store.activeLibrary();
        this.log('已退回上一版规则库');
        return previous;
      } catch (again) {
        this.log(`上一版规则库也无法使用: ${(again as Error).message}`);
        return null;
      }
    }
  }

  /**
   * Writes a validated library to SQLite in one transaction, then swaps the compiled index in
   * one assignment: checks in flight keep the old index, later checks see the new one.
   */
  applyLibrary(library: RuleLibrary, meta?: Record<string, unknown>): LibraryInfo {
    const compiled = compileRules(library);
    const info = this.store.applyLibrary(library, meta);
    this.rules = compiled;
    this.audit({ type: 'rules', data: { version: info.version, source: info.source, ruleCount: info.ruleCount, meta: meta ?? {} } }, true);
    this.emitStatus();
    return info;
  }

  private purgeTimer: NodeJS.Timeout | null = null;

  private purging = false;

  private purgeLedger(): void {
    if (this.purging) return;
    this.purging = true;
    let total = 0;
    const step = () => {
      if (!this.store.isOpen()) return;
      try {
        // A pack being written holds the write lock: wait for it rather than block on it.
        const purged = this.applying ? -1 : this.store.purgeExpiredLedgerBatch(500);
        if (purged !== 0) {
          total += Math.max(purged, 0);
          setTimeout(step, this.applying ? 1000 : 10).unref();
          return;
        }
        if (total > 0) this.audit({ type: 'ledger.purged', data: { rows: total } }, true);
      } catch (error) {
        this.log(`处方台账清理失败: ${(error as Error).message}`);
      }
      this.purging = false;
    };
    setTimeout(step, 1000).unref();
  }

  private applying = false;
  private deferredOrders: LedgerOrder[] = [];

  /**
   * Applies a verified library without stopping checks: a worker thread writes it to SQLite in
   * one transaction while this thread compiles the new index; the index is swapped in one
   * assignment once the write has committed. While the worker holds the write lock, this
   * thread's own writes (audit, ledger) wait in memory instead of blocking on the lock, and
   * are written right after.
   */
  async applyVerifiedLibrary(library: RuleLibrary, meta: Record<string, unknown>): Promise<LibraryInfo> {
    if (this.applying) throw new Error('另一个规则库正在应用, 请稍后再试');
    if (this.store.file === ':memory:') return this.applyLibrary(library, meta);
    this.applying = true;
    let info: LibraryInfo;
    try {
      const writing = writeLibraryInWorker(this.store.file, library, meta).catch((error: Error) => {
        // A worker that cannot start (a packaging that hides its file, say) must not cost the
        // update: write here instead, with checks waiting for that one transaction.
        this.log(`规则写入线程失败, 改在主线程写入: ${error.message}`);
        return this.store.applyLibrary(library, meta);
      });
      const compiled = await compileRulesSliced(library);
      info = await writing;
      this.rules = compiled;
    } finally {
      this.applying = false;
      const orders = this.deferredOrders;
      this.deferredOrders = [];
      for (const order of orders) this.writeOrder(order);
      this.flushAudit();
    }
    this.audit({ type: 'rules', data: { version: info.version, source: info.source, ruleCount: info.ruleCount, meta } }, true);
    this.emitStatus();
    return info;
  }

  private writeOrder(order: LedgerOrder): void {
    try {
      this.store.recordOrder(order);
    } catch (error) {
      this.log(`处方台账写入失败 (${order.items.length} 项): ${(error as Error).message}`);
    }
  }

  /**
   * A library past its expiry keeps checking (status says so loudly), until it is expired
   * longer than the hard limit: then checks answer `unchecked` rather than apply rules the
   * insurance office may long have changed. Returns the reason, or null while still usable.
   */
  private expiredTooLong(): string | null {
    const expiresAt = this.rules?.expiresAt;
    if (!expiresAt) return null;
    const limitDays = this.options.expiredHardLimitDays ?? 30;
    const overdue = this.now().getTime() - Date.parse(expiresAt);
    if (overdue <= limitDays * 86_400_000) return null;
    return `规则库已于 ${expiresAt.slice(0, 10)} 过期, 超过 ${limitDays} 天仍未更新, 本次未做检查 (请同步或导入新规则包)`;
  }

  /** Picks up a library that another process (`rxgate rules import`) wrote to the store. */
  reloadFromStore(): RulesStatus | null {
    const active = this.store.activeLibrary();
    if (active) this.rules = compileRules(active.library);
    this.emitStatus();
    return this.rulesStatus();
  }

  /**
   * The version a new pack must exceed. The demo library is the floor: any verified pack
   * replaces it, whatever its number.
   */
  activeVersion(): number {
    return versionToBeat(this.store.libraryInfo().active);
  }

  rulesStatus(): RulesStatus | null {
    const info = this.store.libraryInfo().active;
    if (!info) return null;
    const now = this.now();
    const expired = info.expiresAt ? Date.parse(info.expiresAt) < now.getTime() : false;
    const since = info.publishedAt ?? info.appliedAt;
    return {
      version: info.version,
      source: info.source,
      ruleCount: info.ruleCount,
      counts: info.counts,
      appliedAt: info.appliedAt,
      publishedAt: info.publishedAt,
      expiresAt: info.expiresAt,
      expired,
      ageDays: since ? Math.max(0, Math.floor((now.getTime() - Date.parse(since)) / 86_400_000)) : undefined,
    };
  }

  // ---- checks ------------------------------------------------------------------------------

  /** Validates and checks a native `check`; holds it for the popup when something fires. */
  check(raw: unknown, connectionId?: string): Verdict {
    const parsed = Check.safeParse(raw);
    if (!parsed.success) throw ProtocolError.fromZod(parsed.error, idOf(raw));
    return this.runCheck(parsed.data, 'native', connectionId);
  }

  private runCheck(check: Check, source: 'native' | 'nhsa', connectionId?: string): Verdict {
    const started = performance.now();
    const existing = this.held.get(check.id);
    if (existing?.pending) {
      // A re-sent check replaces the one still waiting (the doctor edited and re-checked);
      // the popup drops the old one now, whatever the new verdict.
      this.dropPending(existing, true);
    }
    let verdict: Verdict;
    try {
      const ledger = this.store.priorItems(check.patient.id, historySince(check.visit.date));
      const prior = mergeHistory(check.history, ledger);
      const expired = this.expiredTooLong();
      const outcome = expired ? null : evaluate(this.rules, check, prior);
      verdict = outcome
        ? { ...outcome, elapsedMs: round3(performance.now() - started) }
        : {
            type: 'verdict',
            id: check.id,
            result: 'unchecked',
            reason: expired!,
            findings: [],
            rules: this.rules ? { version: this.rules.version, source: this.rules.source } : undefined,
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
    const popup = check.ui === 'popup' && verdict.findings.length > 0;
    if (popup) verdict.pending = true;
    // Held for commit, the popup and long-polls, which never need the history again: without
    // it, 2,000 remembered checks cost megabytes, not hundreds of them.
    const held: HeldCheck = { check: { ...check, history: [] }, verdict, receivedAt: this.now().toISOString(), source, pending: popup };
    this.remember(check.id, held);
    if (connectionId) this.server.bindCheck(connectionId, check.id);
    this.countCheck(verdict, source);
    if (popup) {
      const timeout = (this.options.decisionTimeoutSeconds ?? 30 * 60) * 1000;
      held.timer = setTimeout(() => this.expirePending(check.id), timeout);
      held.timer.unref();
      this.emitPending();
    }
    this.auditCheck(held);
    return verdict;
  }

  private auditCheck(held: HeldCheck): void {
    // Built when the batch is written, from the check already held, so that a burst of checks
    // does not keep a second copy of every verdict alive until then.
    this.audit(() => ({
      type: 'check',
      checkId: held.check.id,
      patientId: held.check.patient.id,
      data: {
        source: held.source,
        visitId: held.check.visit.id,
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
    }));
  }

  private auditQueue: Array<AuditEvent | (() => AuditEvent)> = [];
  private auditTimer: NodeJS.Timeout | null = null;

  /**
   * Queues an audit record. Checks are written in batches shortly after their verdict has
   * gone out, so the write is never on a check's clock and a burst costs one commit;
   * `urgent` records (decisions, commits, rule changes) are written at once, in order.
   */
  private audit(event: AuditEvent | (() => AuditEvent), urgent = false): void {
    this.auditQueue.push(event);
    // Small, frequent batches: each flush is a short pause between checks, not a long one.
    if (urgent || this.auditQueue.length >= 20) {
      this.flushAudit();
      return;
    }
    if (!this.auditTimer) {
      this.auditTimer = setTimeout(() => this.flushAudit(), 10);
      this.auditTimer.unref();
    }
  }

  private flushAudit(): void {
    if (this.auditTimer) clearTimeout(this.auditTimer);
    this.auditTimer = null;
    if (this.applying) return;
    const events = this.auditQueue;
    if (events.length === 0) return;
    this.auditQueue = [];
    try {
      this.store.appendAuditBatch(events.map((event) => (typeof event === 'function' ? event() : event)));
    } catch (error) {
      // An audit failure must not take checks down with it; it is logged (no patient data).
      this.log(`审计记录写入失败 (${events.length} 条): ${(error as Error).message}`);
    }
  }

  /** The national interface (9001/9002, 3101/3102, 3103) over this core. */
  readonly nhsa: NhsaService;

  private nhsaCore(): NhsaCore {
    return {
      now: () => this.now(),
      runCheck: (check, connectionId) => this.runCheck(check, 'nhsa', connectionId),
      findCheck: (checkId) => this.held.get(checkId),
      recordDecision: (checkId, decision, source) => this.storeDecision(this.held.get(checkId)!, decision, source, decision.audit),
      audit: (event) => this.audit(event, true),
      log: (line) => this.log(line),
    };
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
    return this.recordDecision(held, parsed.data, 'popup');
  }

  private recordDecision(held: HeldCheck, choice: DoctorChoice, source: string): Decision {
    if (held.decision) {
      throw new ProtocolError('already_decided', `该检查已处理: ${held.check.id}`, '$.id');
    }
    let resolved: ResolvedChoice;
    try {
      resolved = resolveChoice(held.verdict.findings, choice);
    } catch (error) {
      if (error instanceof ChoiceError) throw new ProtocolError(error.code, error.message, error.path ? `$.${error.path}` : undefined);
      throw error;
    }
    return this.storeDecision(held, resolved, source);
  }

  /** Keeps a resolved choice as the check's decision and tells everyone waiting for it. */
  private storeDecision(held: HeldCheck, resolved: ResolvedChoice | FeedbackDecision, source: string, auditData: Record<string, unknown> = {}): Decision {
    if (held.decision) {
      throw new ProtocolError('already_decided', `该检查已处理: ${held.check.id}`, '$.id');
    }
    const decision: Decision = {
      type: 'decision',
      id: held.check.id,
      outcome: resolved.outcome,
      lines: resolved.lines,
      reasons: resolved.reasons,
      at: isoWithOffset(this.now()),
      source,
    };
    held.decision = decision;
    held.resolved = resolved;
    if (held.pending) this.dropPending(held, true);
    this.audit({
      type: 'decision',
      checkId: held.check.id,
      patientId: held.check.patient.id,
      data: { outcome: decision.outcome, lines: decision.lines, reasons: decision.reasons, source, ...auditData },
    }, true);
    this.server.sendDecision(held.check.id, decision);
    this.resolveWaiters(held.check.id, decision);
    this.emit('decision', decision);
    return decision;
  }

  /** Long-poll support: resolves with the decision, or null when `waitMs` passes first. */
  waitForDecision(id: string, waitMs: number): Promise<Decision | null> {
    const held = this.held.get(id);
    if (!held) return Promise.reject(new ProtocolError('unknown_check', `没有这个检查: ${id}`, undefined, 404));
    if (held.decision) return Promise.resolve(held.decision);
    if (held.cancelled) return Promise.reject(new ProtocolError('cancelled', `检查已取消: ${id}`, undefined, 410));
    if (held.timedOut) return Promise.reject(new ProtocolError('decision_timeout', '医生未在规定时间内处理提醒', undefined, 408));
    if (held.committed) return Promise.reject(committedWithoutDecision(id));
    if (!held.pending) return Promise.reject(new ProtocolError('no_decision', `该检查不需要医生处理 (结果 ${held.verdict.result})`, undefined, 409));
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
        else if (current.cancelled) reject(new ProtocolError('cancelled', `检查已取消: ${id}`, undefined, 410));
        else if (current.timedOut) reject(new ProtocolError('decision_timeout', '医生未在规定时间内处理提醒', undefined, 408));
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
    if (!held) throw new ProtocolError('unknown_check', `没有这个检查: ${parsed.data.id}`, '$.id', 404);
    const closed = held.pending;
    held.cancelled = true;
    if (held.pending) this.dropPending(held, true);
    this.resolveWaiters(held.check.id, null);
    this.audit({ type: 'cancel', checkId: held.check.id, patientId: held.check.patient.id, data: { wasPending: closed } }, true);
    return { id: held.check.id, closed };
  }

  /**
   * The HIS saved the order: record what was actually prescribed (after the doctor's actions)
   * in the ledger, so later checks on this PC see it even if the HIS sends no history.
   */
  commit(raw: unknown): { id: string; recorded: number } {
    const parsed = Commit.safeParse(raw);
    if (!parsed.success) throw ProtocolError.fromZod(parsed.error, idOf(raw));
    const held = this.held.get(parsed.data.id);
    if (!held) throw new ProtocolError('unknown_check', `没有这个检查 (可能已超过保留时间或代理已重启): ${parsed.data.id}`, '$.id', 404);
    if (held.decision?.outcome === 'revise') {
      throw new ProtocolError('revised', `医生已选择返回修改, 请重新检查后再提交: ${parsed.data.id}`, '$.id', 409);
    }
    const wasPending = held.pending;
    if (held.pending) this.dropPending(held, true);
    const actions = new Map((held.resolved?.lines ?? []).map((entry) => [entry.line, entry.action]));
    const items = parsed.data.items ?? held.check.items;
    const { visit } = held.check;
    const ledgerItems: LedgerItem[] = items
      .filter((item) => parsed.data.items !== undefined || actions.get(item.line) !== 'remove')
      .map((item) => ({
        // Check ids are the HIS's and may repeat across visits; the visit makes the line unique.
        rxId: `${visit.id}/${held.check.id}#${item.line}`,
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
    const order: LedgerOrder = { checkId: held.check.id, patientId: held.check.patient.id, visitId: visit.id, items: ledgerItems };
    let recorded = ledgerItems.length;
    if (this.applying) this.deferredOrders.push(order);
    else recorded = this.store.recordOrder(order);
    held.committed = true;
    if (wasPending) this.resolveWaiters(held.check.id, null);
    this.audit({
      type: 'commit',
      checkId: held.check.id,
      patientId: held.check.patient.id,
      data: { recorded, replacedItems: parsed.data.items !== undefined },
    }, true);
    return { id: held.check.id, recorded };
  }

  private expirePending(id: string): void {
    const held = this.held.get(id);
    if (!held?.pending) return;
    held.timedOut = true;
    this.dropPending(held, true);
    this.audit({ type: 'timeout', checkId: id, patientId: held.check.patient.id, data: {} }, true);
    this.server.sendError(id, new ProtocolError('decision_timeout', '医生未在规定时间内处理提醒', undefined));
    this.resolveWaiters(id, null);
  }

  private dropPending(held: HeldCheck, notify: boolean): void {
    held.pending = false;
    if (held.timer) clearTimeout(held.timer);
    if (notify) this.emitPending();
  }

  private remember(id: string, held: HeldCheck): void {
    this.held.delete(id);
    this.held.set(id, held);
    while (this.held.size > RECENT_LIMIT) {
      const oldest = this.held.keys().next().value as string;
      const entry = this.held.get(oldest)!;
      if (entry.pending) this.dropPending(entry, true);
      this.held.delete(oldest);
    }
  }

  private countCheck(verdict: Verdict, source: 'native' | 'nhsa'): void {
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
    this.scheduleStatus();
  }

  // ---- what the UI sees --------------------------------------------------------------------

  pending(): PendingView[] {
    const views: PendingView[] = [];
    for (const held of this.held.values()) {
      if (held.pending) views.push(pendingView(held));
    }
    return views;
  }

  status(): StatusView {
    return {
      agentVersion: AGENT_VERSION,
      startedAt: this.startedAt.toISOString(),
      port: this.port,
      rules: this.rulesStatus(),
      sync: this.syncStatus,
      clients: this.server.clients(),
      checks: { total: this.stats.total, byResult: { ...this.stats.byResult }, recent: this.stats.recent.slice(0, 20) },
      pendingCount: this.pending().length,
    };
  }

  setSyncStatus(status: SyncStatus): void {
    this.syncStatus = status;
    this.emitStatus();
  }

  async syncNow(): Promise<string> {
    if (!this.syncHandler) return '未配置规则服务器, 无法同步';
    return this.syncHandler();
  }

  clientsChanged(): void {
    this.scheduleStatus();
  }

  private statusTimer: NodeJS.Timeout | null = null;

  /** Status pushes are coalesced: a burst of checks makes one update, not hundreds. */
  private scheduleStatus(): void {
    if (this.statusTimer || this.listenerCount('status') === 0) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      this.emitStatus();
    }, 250);
    this.statusTimer.unref();
  }

  private emitStatus(): void {
    if (this.server && this.listenerCount('status') > 0) this.emit('status', this.status());
  }

  private emitPending(): void {
    this.emit('pending', this.pending());
  }

  /** The in-process bridge the Electron main process hands to its IPC handlers. */
  readonly bridge: AgentBridge = {
    getPending: async () => this.pending(),
    getStatus: async () => this.status(),
    decide: async (choice) => {
      try {
        this.decide(choice);
        return { ok: true, value: null };
      } catch (error) {
        return { ok: false, error: (error as Error).message };
      }
    },
    syncNow: async () => {
      try {
        return { ok: true, value: await this.syncNow() };
      } catch (error) {
        return { ok: false, error: (error as Error).message };
      }
    },
    onPending: (listener) => {
      this.on('pending', listener);
      return () => this.off('pending', listener);
    },
    onStatus: (listener) => {
      this.on('status', listener);
      return () => this.off('status', listener);
    },
  };

  async stop(): Promise<void> {
    for (const held of this.held.values()) if (held.timer) clearTimeout(held.timer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    for (const id of [...this.waiters.keys()]) this.resolveWaiters(id, null);
    await this.server?.close();
    this.flushAudit();
    this.store.close();
  }
}

/** Starts an agent (see `Agent.start`). */
export function startAgent(options: AgentOptions): Promise<Agent> {
  return Agent.start(options);
}

/** Reads and validates a JSON rule library file; errors name the rule and field. */
export function readLibraryFile(path: string, source: string): RuleLibrary {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, 'utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new Error(`无法读取规则库 ${path}: ${(error as Error).message}`);
  }
  return parseRuleLibraryDocument(document, source);
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

function committedWithoutDecision(id: string): ProtocolError {
  return new ProtocolError('committed', `医嘱已提交, 该检查没有医生的处理结果: ${id}`, undefined, 409);
}

function idOf(raw: unknown): string | undefined {
  if (raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string') return (raw as { id: string }).id;
  return undefined;
}

function randomToken(): string {
  return randomBytes(24).toString('base64url');
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
