/**
 * The agent's side of the hospital hub: the outbox the writer fills in the same transactions as
 * the local writes (committed orders, decisions), delivered in order by `HubDelivery` with retry
 * and backoff; a status report and the audit-chain head every few minutes, so IT's fleet view
 * sees this PC and the hub can anchor its trail. Patient ids in the outbox are encrypted at rest
 * (rules-cache/store.ts) and leave the PC only over the authenticated channel.
 */
import { hostname } from 'node:os';
import type { SqliteStore } from '../../rules-cache/store';
import { HubClient } from './hub-client';
import { HubDelivery, type HubDeliveryState } from './hub-delivery';
import { auditHeadEventBody, hubEvent, statusEventBody, type HubEventBody } from './hub-events';
import type { HubHistoryRow } from './protocol/hub';
import { AGENT_VERSION } from './version';
import type { Writer } from './writer';

export interface HubSettings {
  /** The hub's base URL (`https://hub.hospital.local:8720/`). */
  url: string;
  /** `<agentId>.<secret>` from enrolment (DATA/hub-credential). */
  credential: string;
  /** How long a check waits for the patient's history from the hub (default 25 ms). */
  budgetMs?: number;
}

/** Well inside the 50 ms design budget of a check. */
export const DEFAULT_HUB_BUDGET_MS = 25;

/** How often the status report and the audit head go to the hub. */
const REPORT_INTERVAL_MS = 5 * 60_000;

export class HubService {
  private readonly delivery: HubDelivery;
  private readonly client: HubClient;
  private readonly budgetMs: number;
  private timer: NodeJS.Timeout | null = null;
  /** A chain head is to be reported once the hub has said what it anchored (see `reportHead`). */
  private headDue = false;

  constructor(
    settings: HubSettings,
    private readonly store: SqliteStore,
    private readonly writer: Writer,
    private readonly report: () => { rulesVersion: number | null; lastSync?: { result: string; message?: string; at: string } },
    options: { log: (line: string) => void; onState: () => void },
  ) {
    const client = new HubClient({ url: settings.url, credential: settings.credential });
    this.client = client;
    this.budgetMs = settings.budgetMs ?? DEFAULT_HUB_BUDGET_MS;
    this.delivery = new HubDelivery({
      client,
      outbox: {
        pending: (limit) => store.outboxPending(limit).map((row) => hubEvent(row.body as HubEventBody, { id: row.id, seq: row.seq })),
        delivered: (seq) => writer.outboxDelivered(seq),
      },
      onState: () => {
        this.reportHead();
        options.onState();
      },
      log: options.log,
    });
    // Every write that queued an event for the hub wakes the delivery.
    writer.onOutbox = () => this.delivery.kick();
  }

  start(): void {
    this.reportNow();
    this.delivery.start();
    this.timer = setInterval(() => this.reportNow(), REPORT_INTERVAL_MS);
    this.timer.unref();
  }

  /** The patient's recent orders from every PC, or null when the hub did not answer within the budget. */
  lookup(patientId: string, since: string): Promise<HubHistoryRow[] | null> {
    return this.client.lookupHistory(patientId, since, { budgetMs: this.budgetMs });
  }

  /** Queues this PC's status for the hub, and its audit-chain head as soon as `reportHead` can. */
  reportNow(): void {
    try {
      const { rulesVersion, lastSync } = this.report();
      this.writer.queueHubEvent(
        statusEventBody({ pcName: hostname().slice(0, 128) || 'unknown', agentVersion: AGENT_VERSION, rulesVersion, lastSync, outboxBacklog: this.store.outboxBacklog() }),
      );
    } catch (error) {
      // A report that cannot be queued now is queued at the next interval.
      this.writer.log(`院端中心状态未能排队: ${(error as Error).message}`);
    }
    this.headDue = true;
    this.reportHead();
  }

  /**
   * Queues the chain head with `previous`: this trail's record at the seq the hub anchored last,
   * so that the hub can tell whether the trail still extends what it anchored. A head alone
   * shows a trail cut short (its seq went back) but not one rewritten and grown past the
   * anchor. Which seq the hub anchored comes with every delivery reply; after a start the head
   * therefore waits for the first one (the status report's), and goes when the hub answers.
   */
  private reportHead(): void {
    const anchor = this.delivery.state().anchor;
    if (!this.headDue || !anchor) return;
    this.headDue = false;
    try {
      const head = this.store.auditHead();
      if (!head) return;
      // No record there (purged by retention) leaves the hub nothing to compare, so nothing is claimed.
      const hash = anchor.seq !== undefined && anchor.seq < head.seq ? this.store.auditHashAt(anchor.seq) : null;
      this.writer.queueHubEvent(auditHeadEventBody({ seq: head.seq, hash: head.hash, ...(hash ? { previous: { seq: anchor.seq!, hash } } : {}) }));
    } catch (error) {
      this.writer.log(`审计链头未能排队: ${(error as Error).message}`);
    }
  }

  state(): HubDeliveryState & { backlog: number } {
    return { ...this.delivery.state(), backlog: this.store.isOpen() ? this.store.outboxBacklog() : 0 };
  }

  /** Resolves once nothing is being sent (tests, `stop`). */
  settled(): Promise<void> {
    return this.delivery.settled();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // The writer keeps queueing events until the store closes; they go at the next start.
    await this.delivery.stop();
    this.client.close();
  }
}
