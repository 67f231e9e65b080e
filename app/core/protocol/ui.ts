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

export interface RulesStatus {
  version: number;
  source: string;
  ruleCount: number;
  counts: Record<string, number>;
  appliedAt?: string;
  publishedAt?: string;
  expiresAt?: string;
  expired: boolean;
  /** Whole days since the library was published (or applied, where no publish date). */
  ageDays?: number;
}

export interface SyncStatus {
  configured: boolean;
  servers: string[];
  state: 'idle' | 'syncing' | 'ok' | 'failed' | 'disabled';
  lastAttemptAt?: string;
  lastSuccessAt?: string;
  /** The last attempt's result in words, for people. */
  lastResult?: string;
  lastErrorCode?: string;
  nextAttemptAt?: string;
}

export interface ClientView {
  id: string;
  transport: 'ws' | 'http';
  kind: 'his' | 'ui';
  origin?: string;
  connectedAt: string;
}

export interface RecentCheck {
  at: string;
  result: Result;
  findingCount: number;
  elapsedMs: number;
  source: 'native' | 'nhsa';
}

export interface StatusView {
  agentVersion: string;
  startedAt: string;
  port: number;
  rules: RulesStatus | null;
  sync: SyncStatus;
  clients: ClientView[];
  checks: { total: number; byResult: Record<Result, number>; recent: RecentCheck[] };
  pendingCount: number;
}

/**
 * The `status` reply (HIS channel) and the status window's data, as a schema for the published
 * reference; `StatusView` above is checked against it at compile time (status-schema check below).
 */
export const StatusReply = z.object({
  type: z.literal('status'),
  id: z.string().optional(),
  agentVersion: z.string(),
  startedAt: z.string(),
  port: z.number().int(),
  rules: z
    .object({
      version: z.number().int(),
      source: z.string(),
      ruleCount: z.number().int(),
      counts: z.record(z.string(), z.number().int()),
      appliedAt: z.string().optional(),
      publishedAt: z.string().optional(),
      expiresAt: z.string().optional(),
      expired: z.boolean(),
      ageDays: z.number().int().optional(),
    })
    .nullable(),
  sync: z.object({
    configured: z.boolean(),
    servers: z.array(z.string()),
    state: z.enum(['idle', 'syncing', 'ok', 'failed', 'disabled']),
    lastAttemptAt: z.string().optional(),
    lastSuccessAt: z.string().optional(),
    lastResult: z.string().optional(),
    lastErrorCode: z.string().optional(),
    nextAttemptAt: z.string().optional(),
  }),
  clients: z.array(
    z.object({
      id: z.string(),
      transport: z.enum(['ws', 'http']),
      kind: z.enum(['his', 'ui']),
      origin: z.string().optional(),
      connectedAt: z.string(),
    }),
  ),
  checks: z.object({
    total: z.number().int(),
    byResult: z.record(ResultSchema, z.number().int()),
    recent: z.array(
      z.object({ at: z.string(), result: ResultSchema, findingCount: z.number().int(), elapsedMs: z.number(), source: z.enum(['native', 'nhsa']) }),
    ),
  }),
  pendingCount: z.number().int(),
});

/** Compile-time proof that what the agent sends as `status` is what the schema publishes. */
export type StatusViewMatchesSchema = StatusView extends Omit<z.infer<typeof StatusReply>, 'type' | 'id'> ? true : never;
const statusViewMatchesSchema: StatusViewMatchesSchema = true;
void statusViewMatchesSchema;

export type BridgeReply<T> = { ok: true; value: T } | { ok: false; error: string };

/** One method per message: what the renderer may ask of the agent, whichever side it runs on. */
export interface AgentBridge {
  getPending(): Promise<PendingView[]>;
  getStatus(): Promise<StatusView>;
  decide(choice: DoctorChoice): Promise<BridgeReply<null>>;
  syncNow(): Promise<BridgeReply<string>>;
  onPending(listener: (pending: PendingView[]) => void): () => void;
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

/** Frames the agent pushes on the UI channel. */
export type UiEvent =
  | { type: 'ui.pending'; pending: PendingView[] }
  | { type: 'ui.status'; status: StatusView }
  | { type: 'ui.reply'; requestId: string; ok: true; value: unknown }
  | { type: 'ui.reply'; requestId: string; ok: false; error: string };

export type { Verdict };
