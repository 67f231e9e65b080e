/**
 * The agent ↔ hub wire format (shared/spec/hub.md, docs/hub.md). The hub validates every
 * request with these schemas and the agent's hub client validates every reply with them, so
 * both sides read one definition. Patient ids travel in plain only inside these authenticated
 * requests; the hub keeps nothing but their keyed hash.
 */
import { z } from 'zod';

const Id = z.string().min(1).max(128);
const IsoDate = z.iso.date('expected a real calendar date as YYYY-MM-DD');
const IsoTime = z.iso.datetime({ offset: true });
const Named = z.object({ code: z.string().min(1).max(64), name: z.string().max(100).optional() });
const Text = (max: number) => z.string().max(max);

/** Most events one delivery may carry; the agent's outbox sends at most this many per batch. */
export const MAX_BATCH_EVENTS = 500;

/** One committed prescription line, as the agent's ledger keeps it (store-contract LedgerItem). */
export const HubLedgerItem = z.object({
  rxId: Id,
  code: Text(64).optional(),
  hospCode: Text(64).optional(),
  name: Text(200).optional(),
  category: Text(16),
  date: IsoDate,
  days: z.number().int().min(0).max(3650).optional(),
  qty: z.number().finite().min(0).max(1e6).optional(),
  amount: z.number().finite().min(0).max(1e9).optional(),
  deptCode: Text(64).optional(),
  deptName: Text(100).optional(),
  doctorCode: Text(64).optional(),
  doctorName: Text(100).optional(),
  channel: z.enum(['insured', 'selfpay']),
});
export type HubLedgerItem = z.infer<typeof HubLedgerItem>;

/** A committed order: what the agent wrote to its ledger in the same transaction. */
export const OrderPayload = z.object({
  checkId: Id,
  patientId: Id,
  visitId: Id,
  items: z.array(HubLedgerItem).min(1).max(500),
});

/** A finding that fired on the check the decision answers (for rule activity). */
export const DecisionFinding = z.object({
  findingId: Text(64).min(1),
  ruleId: Text(128).min(1),
  kind: Text(32),
  level: z.enum(['warn', 'block']),
});

/**
 * What the doctor did about one finding on one line. `continue` past a finding is an override,
 * `attest` an attestation (符合限定条件), `selfpay` a switch to self-pay; each may carry the
 * doctor's reason.
 */
export const DecisionAction = z.object({
  findingId: Text(64).min(1),
  ruleId: Text(128).min(1),
  level: z.enum(['warn', 'block']),
  line: Text(64).min(1),
  itemCode: Text(64).optional(),
  itemName: Text(200).optional(),
  action: z.enum(['continue', 'attest', 'selfpay', 'remove']),
  reason: Text(500).optional(),
});
export type DecisionAction = z.infer<typeof DecisionAction>;

export const DecisionPayload = z.object({
  checkId: Id,
  patientId: Id.optional(),
  outcome: z.enum(['proceed', 'revise']),
  /** `popup` or `nhsa-3103`, as in the decision frame. */
  source: Text(32).optional(),
  dept: Named.optional(),
  doctor: Named.optional(),
  findings: z.array(DecisionFinding).max(500),
  actions: z.array(DecisionAction).max(2000),
});
export type DecisionPayload = z.infer<typeof DecisionPayload>;

/** The agent's state for IT's fleet view; `ruleIds` only when the rule library changed. */
export const StatusPayload = z.object({
  pcName: Text(128).min(1),
  agentVersion: Text(32).min(1),
  rulesVersion: z.number().int().nullable(),
  lastSync: z
    .object({ result: Text(32).min(1), code: Text(64).optional(), message: Text(500).optional(), at: IsoTime })
    .optional(),
  outboxBacklog: z.number().int().min(0),
  ruleIds: z.array(Text(128).min(1)).max(20000).optional(),
});
export type StatusPayload = z.infer<typeof StatusPayload>;

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256');

/**
 * The head of the agent's local audit chain. `previous`, when given, is the agent's record at
 * the seq the hub last anchored (from the hub's reply), recomputed from its current chain: it
 * lets the hub see a rewrite even when the chain has grown since.
 */
export const AuditHeadPayload = z.object({
  seq: z.number().int().min(0),
  hash: Sha256Hex,
  previous: z.object({ seq: z.number().int().min(0), hash: Sha256Hex }).optional(),
});
export type AuditHeadPayload = z.infer<typeof AuditHeadPayload>;

const EventBase = {
  /** Unique per agent and stable across retries: the hub keeps each id once. */
  id: Id,
  /** The agent's outbox sequence: strictly increasing within a batch and across batches. */
  seq: z.number().int().min(1),
  /** When the agent wrote the event. */
  at: IsoTime,
};

export const HubEvent = z.discriminatedUnion('type', [
  z.object({ ...EventBase, type: z.literal('order'), order: OrderPayload }),
  z.object({ ...EventBase, type: z.literal('decision'), decision: DecisionPayload }),
  z.object({ ...EventBase, type: z.literal('status'), status: StatusPayload }),
  z.object({ ...EventBase, type: z.literal('audit-head'), head: AuditHeadPayload }),
]);
export type HubEvent = z.infer<typeof HubEvent>;

export const EventBatch = z
  .object({ events: z.array(HubEvent).min(1).max(MAX_BATCH_EVENTS) })
  .superRefine((batch, context) => {
    for (let index = 1; index < batch.events.length; index++) {
      if (batch.events[index]!.seq <= batch.events[index - 1]!.seq) {
        context.addIssue({ code: 'custom', message: 'events must be in increasing seq order', path: ['events', index, 'seq'] });
      }
    }
  });
export type EventBatch = z.infer<typeof EventBatch>;

/** The hub's view of this agent's audit anchor. */
export const AnchorState = z.enum(['none', 'ok', 'truncated', 'rewritten']);
export type AnchorState = z.infer<typeof AnchorState>;

export const DeliveryReply = z.object({
  /** Events stored by this request. */
  accepted: z.number().int().min(0),
  /** Events the hub already had (a retried batch): acknowledged, not stored again. */
  duplicates: z.number().int().min(0),
  /** The highest seq the hub has from this agent. */
  lastSeq: z.number().int().min(0),
  anchor: z.object({
    state: AnchorState,
    /** The newest anchored head, for the next head's `previous`. */
    seq: z.number().int().min(0).optional(),
    detail: z.string().optional(),
  }),
});
export type DeliveryReply = z.infer<typeof DeliveryReply>;

export const HistoryRequest = z.object({
  patientId: Id,
  /** Oldest visit date wanted (YYYY-MM-DD). */
  since: IsoDate,
  limit: z.number().int().min(1).max(2000).default(500),
});
export type HistoryRequest = z.input<typeof HistoryRequest>;

/** One row of the patient's history from any PC, shaped like the agent's ledger rows. */
export const HubHistoryRow = HubLedgerItem.extend({
  /** The PC that committed it (its enrolled name). */
  pcName: z.string(),
  checkId: z.string(),
  recordedAt: IsoTime,
});
export type HubHistoryRow = z.infer<typeof HubHistoryRow>;

export const HistoryReply = z.object({ rows: z.array(HubHistoryRow) });
export type HistoryReply = z.infer<typeof HistoryReply>;

export const EnrolRequest = z.object({
  code: z.string().trim().min(8).max(64),
  pcName: Text(128).min(1),
  agentVersion: Text(32).min(1),
});
export type EnrolRequest = z.infer<typeof EnrolRequest>;

export const EnrolReply = z.object({
  agentId: z.string(),
  /** `<agentId>.<secret>`, sent as `Authorization: Bearer …`; shown once, stored hashed. */
  credential: z.string(),
});
export type EnrolReply = z.infer<typeof EnrolReply>;

export const HubErrorReply = z.object({ error: z.string(), message: z.string() });
