/**
 * The agent: the composition root that opens the store and wires the core's services — the
 * writer (the only code that writes SQLite), the rules service, the check service, the audit
 * integrity watch — to the localhost server. Transports subscribe to the services' typed
 * events; nothing below a transport imports one. Pure Node, so the same core runs inside
 * Electron and headless.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openStore, type SqliteStore } from '../../rules-cache/store';
import type { SecretSealer } from '../../rules-cache/key-file';
import type { RuleLibrary } from '../../rules-cache/model';
import type { LibraryInfo } from '../../rules-cache/store-contract';
import { CheckService } from './check-service';
import { SETTING_DEFAULTS, type AgentSettings } from './config';
import { NhsaService } from './nhsa-service';
import { HeapBudget } from './heap-budget';
import { HubService, type HubSettings } from './hub-service';
import { AuditIntegrity } from './integrity';
import { TypedEvents } from './events';
import type { AgentBridge, PendingView, RulesStatus, StatusView, SyncStatus } from './protocol/ui';
import { RulesService } from './rules-service';
import type { AgentSurface } from './surface';
import { LocalServer } from './transport/server';
import { AGENT_VERSION } from './version';
import { Writer } from './writer';

export { readLibraryFile } from './rules-service';
export { historySince } from './check-service';

/** Configuration (one place: `AgentSettings` in config.ts) plus what only a running process supplies. */
export interface AgentOptions extends AgentSettings {
  /** A JSON rule library to run on instead of the cached one. */
  rulesFile?: string;
  /** Folder of the built UI served at /ui/. */
  uiDir?: string;
  /** WebSocket ping interval (default 30 s). */
  heartbeatMs?: number;
  /** The headless UI's token (kept across restarts by the CLI); a fresh one when not given. */
  uiToken?: string;
  /** Seals the install's key file with the OS key store (the desktop app's `safeStorage`). */
  sealer?: SecretSealer;
  /** The hospital hub this PC is enrolled with (docs/hub.md); none: the PC works alone. */
  hub?: HubSettings;
  /** Clock, for tests of retention and expiry. */
  now?: () => Date;
  log?: (line: string) => void;
}

export class Agent implements AgentSurface {
  readonly startedAt = new Date();
  readonly events = new TypedEvents<{ status: [StatusView] }>();
  private server!: LocalServer;
  private syncStatus: SyncStatus = { configured: false, servers: [], state: 'disabled', lastResult: '未配置规则服务器' };
  /** Set by the sync wiring; without it `syncNow` explains that no server is configured. */
  syncHandler: (() => Promise<string>) | null = null;
  readonly uiToken: string;
  readonly writer: Writer;
  readonly rules: RulesService;
  readonly checks: CheckService;
  readonly integrity: AuditIntegrity;
  /** The national interface (9001/9002, 3101/3102, 3103) over the check service. */
  readonly nhsa: NhsaService;
  /** Delivery to the hospital hub, when one is configured. */
  readonly hub: HubService | null;
  private statusTimer: NodeJS.Timeout | null = null;
  private readonly heap = new HeapBudget(undefined, () => this.rules.installing || this.syncInProgress());
  /** Whether a rule sync attempt is under way; set by the sync wiring, which owns the client. */
  syncInProgress: () => boolean = () => false;

  private constructor(
    readonly options: AgentOptions,
    readonly store: SqliteStore,
  ) {
    this.uiToken = options.uiToken ?? randomBytes(24).toString('base64url');
    const now = () => this.now();
    const log = (line: string) => this.log(line);
    this.writer = new Writer(store, log);
    this.rules = new RulesService(store, this.writer, {
      rulesFile: options.rulesFile,
      expiredHardLimitDays: options.expiredHardLimitDays ?? SETTING_DEFAULTS.expiredHardLimitDays,
      now,
      log,
    });
    const hub = options.hub
      ? new HubService(
          options.hub,
          store,
          this.writer,
          () => {
            const sync = this.syncStatus;
            return {
              rulesVersion: this.rules.status()?.version ?? null,
              lastSync: sync.lastAttemptAt ? { result: sync.state, message: sync.lastResult?.slice(0, 500), at: sync.lastAttemptAt } : undefined,
            };
          },
          { log, onState: () => this.scheduleStatus() },
        )
      : null;
    this.hub = hub;
    this.checks = new CheckService(store, this.writer, this.rules, {
      decisionTimeoutSeconds: options.decisionTimeoutSeconds ?? SETTING_DEFAULTS.decisionTimeoutSeconds,
      nhsaPopup: options.nhsaPopup ?? SETTING_DEFAULTS.nhsaPopup,
      titleCodes: options.titleCodes ?? SETTING_DEFAULTS.titleCodes,
      maxPending: options.maxPending ?? SETTING_DEFAULTS.maxPending,
      hubHistory: hub ? (patientId, since) => hub.lookup(patientId, since) : null,
      now,
      log,
    });
    this.integrity = new AuditIntegrity(store, this.writer, log);
    const checks = this.checks;
    this.nhsa = new NhsaService(
      {
        now,
        runCheck: (check, connectionId) => checks.runWithHub(check, 'nhsa', connectionId),
        findCheck: (checkId) => checks.view(checkId),
        recordDecision: (checkId, decision, source) =>
          checks.recordReported(checkId, { outcome: decision.outcome, lines: decision.lines, reasons: decision.reasons }, source, decision.audit),
        audit: (event) => checks.audit(event),
        log,
      },
      { popup: options.nhsaPopup, extraFields: options.nhsaExtraFields },
    );
    this.rules.events.on('changed', () => {
      this.emitStatus();
      this.heap.afterRulesChanged();
    });
    this.checks.events.on('checked', () => {
      this.scheduleStatus();
      this.heap.afterCheck();
    });
    this.integrity.events.on('changed', () => this.emitStatus());
  }

  /** Opens the store, verifies the audit trail's recent part, loads rules, and starts listening. */
  static async start(options: AgentOptions): Promise<Agent> {
    const store = openStore(join(options.dataDir, 'rxgate.db'), {
      now: options.now,
      retentionDays: options.retentionDays,
      purgeOnOpen: false,
      sealer: options.sealer,
      checkpointInWorker: { log: (line) => options.log?.(line) },
    });
    const agent = new Agent(options, store);
    try {
      // A staging a crash left behind is never finished; its rows go with the retired ones.
      store.retireAbandonedStaging();
      agent.integrity.verifyAtStart();
      agent.rules.loadInitial();
      agent.server = new LocalServer(agent, {
        port: options.port ?? SETTING_DEFAULTS.port,
        token: options.token,
        uiToken: agent.uiToken,
        allowOrigins: options.allowOrigins ?? [],
        uiDir: options.uiDir,
        maxFrameBytes: options.maxFrameBytes ?? SETTING_DEFAULTS.maxFrameBytes,
        heartbeatMs: options.heartbeatMs,
        maxBufferedBytes: options.maxBufferedBytes ?? SETTING_DEFAULTS.maxBufferedBytes,
        nhsa: { auth: options.nhsaAuth ?? SETTING_DEFAULTS.nhsaAuth, tokenHeaders: options.nhsaTokenHeaders ?? SETTING_DEFAULTS.nhsaTokenHeaders },
        log: (line) => agent.log(line),
      });
      await agent.server.listen();
      agent.writer.startMaintenance();
      agent.hub?.start();
      agent.integrity.verifyAllInBackground();
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

  /** Installs a verified pack without stopping checks (the sync client calls it). */
  applyVerifiedLibrary(library: RuleLibrary, meta: Record<string, unknown>): Promise<LibraryInfo> {
    return this.rules.installVerified(library, meta);
  }

  activeVersion(): number {
    return this.rules.activeVersion();
  }

  rulesStatus(): RulesStatus | null {
    return this.rules.status();
  }

  reloadRules(): RulesStatus | null {
    return this.rules.reload();
  }

  pending(): PendingView[] {
    return this.checks.pending();
  }

  status(): StatusView {
    const { stats } = this.checks;
    return {
      agentVersion: AGENT_VERSION,
      startedAt: this.startedAt.toISOString(),
      port: this.port,
      rules: this.rulesStatus(),
      sync: this.syncStatus,
      clients: this.server.clients(),
      checks: { total: stats.total, byResult: { ...stats.byResult }, recent: stats.recent.slice(0, 20) },
      pendingCount: this.checks.pendingCount(),
      integrity: this.integrity.status(this.rules.problems),
      ...(this.hub ? { hub: this.hub.state() } : {}),
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

  /** Status pushes are coalesced: a burst of checks makes one update, not hundreds. */
  private scheduleStatus(): void {
    if (this.statusTimer || this.events.listenerCount('status') === 0) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      this.emitStatus();
    }, 250);
    this.statusTimer.unref();
  }

  private emitStatus(): void {
    if (this.server && this.events.listenerCount('status') > 0) this.events.emit('status', this.status());
  }

  /** The bridge both UI channels drive: Electron IPC in the desktop app, the /v1/ui WebSocket headless. */
  readonly bridge: AgentBridge = {
    getPending: async () => this.pending(),
    getStatus: async () => this.status(),
    decide: async (choice) => {
      try {
        this.checks.decide(choice);
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
    onPending: (listener) => this.checks.events.on('pending', listener),
    onStatus: (listener) => this.events.on('status', listener),
  };

  /** Stops listening, then writes everything still queued: nothing acknowledged or checked is left in memory. */
  async stop(): Promise<void> {
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.checks.stop();
    this.integrity.stop();
    await this.server?.close();
    // An install under way finishes (or fails) before the store closes under it.
    await this.rules.settled();
    await this.hub?.stop();
    this.writer.drain();
    this.store.close();
  }
}

/** Starts an agent (see `Agent.start`). */
export function startAgent(options: AgentOptions): Promise<Agent> {
  return Agent.start(options);
}
