/**
 * The contract between the agent core and its own UI (popup and status window). The
 * renderer sees only these shapes, through one bridge interface with two implementations:
 * Electron's preload (IPC) and, in headless mode, a WebSocket at `/v1/ui` that is separate
 * from the HIS channel and needs its own token. Nothing here carries more patient data than
 * the doctor needs to be sure the popup is about the right patient.
 */
import { z } from 'zod';
import { DoctorChoice, Result as ResultSchema, type ChronicSummary, type Finding, type Result, type Verdict } from './messages';

/** A check held for the doctor's decision, as the popup shows it. */
export interface PendingView {
  id: string;
  receivedAt: string;
  patient: { name?: string; gender?: 'M' | 'F'; age?: number };
  visit: { type: string; medType?: string; dept?: string; doctor?: string; date: string };
  items: Array<{
    line: string;
    name: string;
    code?: string;
    hospCode?: string;
    category: string;
    qty?: number;
    unit?: string;
    amount?: number;
    days?: number;
    channel: 'insured' | 'selfpay';
  }>;
  result: Result;
  findings: Finding[];
  chronic?: ChronicSummary[];
}

/**
 * How the checks waiting for the doctor changed. Pushed as deltas so that one new popup costs
 * one view on the wire, not the whole queue again: `removed` leave the queue, then `added`
 * join its end in order (replacing any with the same id). `reset` means the queue is exactly
 * `added` (the first push after connecting).
 */
export interface PendingChange {
  added: PendingView[];
  removed: string[];
  reset?: boolean;
}

/** The rule library in force, as the status shows it. */
export const RulesStatusSchema = z.object({
  version: z.number().int(),
  source: z.string(),
  ruleCount: z.number().int(),
  counts: z.record(z.string(), z.number().int()),
  appliedAt: z.string().optional(),
  publishedAt: z.string().optional(),
  expiresAt: z.string().optional(),
  expired: z.boolean(),
  ageDays: z.number().int().optional(),
});
export type RulesStatus = z.infer<typeof RulesStatusSchema>;

/** Rule-pack sync, as the status shows it. */
export const SyncStatusSchema = z.object({
  configured: z.boolean(),
  servers: z.array(z.string()),
  state: z.enum(['idle', 'syncing', 'ok', 'failed', 'disabled']),
  lastAttemptAt: z.string().optional(),
  lastSuccessAt: z.string().optional(),
  lastResult: z.string().optional(),
  lastErrorCode: z.string().optional(),
  nextAttemptAt: z.string().optional(),
});
export type SyncStatus = z.infer<typeof SyncStatusSchema>;

export const ClientViewSchema = z.object({
  id: z.string(),
  transport: z.enum(['ws', 'http']),
  kind: z.enum(['his', 'ui']),
  origin: z.string().optional(),
  connectedAt: z.string(),
});
export type ClientView = z.infer<typeof ClientViewSchema>;

/** One recent check, without patient details. */
export const RecentCheckSchema = z.object({
  at: z.string(),
  result: ResultSchema,
  findingCount: z.number().int(),
  elapsedMs: z.number(),
  source: z.enum(['native', 'nhsa']),
});
export type RecentCheck = z.infer<typeof RecentCheckSchema>;

/**
 * Whether the local data can be trusted: the audit trail's verification and the chain head
 * (what the hub anchors), and anything wrong with the cached rules (a library changed outside
 * the agent is not used). `problems` in words for IT; empty when all is well.
 */
export const IntegrityStatusSchema = z.object({
  ok: z.boolean(),
  problems: z.array(z.string()),
  audit: z.object({
    state: z.enum(['verifying', 'verified', 'broken']),
    head: z.object({ seq: z.number().int(), hash: z.string() }).optional(),
    verifiedAt: z.string().optional(),
  }),
});
export type IntegrityStatus = z.infer<typeof IntegrityStatusSchema>;

/** What `status` answers and the status window shows. */
export const StatusViewSchema = z.object({
  agentVersion: z.string(),
  startedAt: z.string(),
  port: z.number().int(),
  rules: RulesStatusSchema.nullable(),
  sync: SyncStatusSchema,
  clients: z.array(ClientViewSchema),
  checks: z.object({
    total: z.number().int(),
    byResult: z.record(ResultSchema, z.number().int()),
    recent: z.array(RecentCheckSchema),
  }),
  pendingCount: z.number().int(),
  integrity: IntegrityStatusSchema,
  /** Delivery to the hospital hub, when one is configured: its state and the outbox backlog. */
  hub: z
    .object({
      state: z.enum(['idle', 'delivering', 'retrying', 'refused']),
      backlog: z.number().int(),
      lastDeliveredAt: z.string().optional(),
      lastError: z.object({ code: z.string(), message: z.string(), at: z.string() }).optional(),
      nextAttemptAt: z.string().optional(),
      anchor: z.object({ state: z.string(), seq: z.number().int().optional(), detail: z.string().optional() }).optional(),
    })
    .optional(),
});
export type StatusView = z.infer<typeof StatusViewSchema>;

/** The `status` reply to a HIS: the view with the message type and the request's id. */
export const StatusReply = StatusViewSchema.extend({
  type: z.literal('status'),
  id: z.string().optional(),
});

export type BridgeReply<T> = { ok: true; value: T } | { ok: false; error: string };

/** One method per message: what the renderer may ask of the agent, whichever side it runs on. */
export interface AgentBridge {
  getPending(): Promise<PendingView[]>;
  getStatus(): Promise<StatusView>;
  decide(choice: DoctorChoice): Promise<BridgeReply<null>>;
  syncNow(): Promise<BridgeReply<string>>;
  onPending(listener: (change: PendingChange) => void): () => void;
  onStatus(listener: (status: StatusView) => void): () => void;
}

/** Frames the UI channel accepts (browser side of the bridge); each carries a request id. */
export const UiRequest = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ui.getPending'), requestId: z.string().min(1).max(64) }),
  z.object({ type: z.literal('ui.getStatus'), requestId: z.string().min(1).max(64) }),
  z.object({ type: z.literal('ui.decide'), requestId: z.string().min(1).max(64), choice: DoctorChoice }),
  z.object({ type: z.literal('ui.syncNow'), requestId: z.string().min(1).max(64) }),
]);
export type UiRequest = z.infer<typeof UiRequest>;

/**
 * The one dispatcher from a UI request frame to the bridge: the /v1/ui WebSocket uses it, and
 * Electron's IPC handlers call the same bridge methods one to one, so both channels reach the
 * agent through one implementation. Bridge replies that carry `ok: false` become errors here.
 */
export async function dispatchUiRequest(bridge: AgentBridge, request: UiRequest): Promise<unknown> {
  const unwrap = <T>(reply: BridgeReply<T>): T => {
    if (!reply.ok) throw new Error(reply.error);
    return reply.value;
  };
  switch (request.type) {
    case 'ui.getPending':
      return bridge.getPending();
    case 'ui.getStatus':
      return bridge.getStatus();
    case 'ui.decide':
      return unwrap(await bridge.decide(request.choice));
    case 'ui.syncNow':
      return unwrap(await bridge.syncNow());
  }
}

/** Frames the agent pushes on the UI channel. */
export type UiEvent =
  | ({ type: 'ui.pending' } & PendingChange)
  | { type: 'ui.status'; status: StatusView }
  | { type: 'ui.reply'; requestId: string; ok: true; value: unknown }
  | { type: 'ui.reply'; requestId: string; ok: false; error: string };

export type { Verdict };
