/**
 * What the agent tells the hub, built from what the agent already has: a committed order, the
 * doctor's resolved choice on a check, its status, its audit-chain head. Pure functions: the
 * outbox stores the event body in the same transaction as the local write, and adds the id
 * and seq it assigns; the delivery loop sends them as they are (docs/hub.md, section 10).
 */
import type { LedgerItem, LedgerOrder } from '../../rules-cache/store-contract';
import type { ResolvedChoice } from './decisions';
import type { AuditHeadPayload, DecisionAction, DecisionPayload, HubEvent, HubHistoryRow, StatusPayload } from './protocol/hub';
import type { Check, Finding } from './protocol/messages';

/** A hub event without the outbox's `id` and `seq`. */
export type HubEventBody =
  | { type: 'order'; at: string; order: LedgerOrder }
  | { type: 'decision'; at: string; decision: DecisionPayload }
  | { type: 'status'; at: string; status: StatusPayload }
  | { type: 'audit-head'; at: string; head: AuditHeadPayload };

/** Adds the outbox's identity to a stored body. `id` must stay the same on every retry. */
export function hubEvent(body: HubEventBody, outbox: { id: string; seq: number }): HubEvent {
  return { ...body, id: outbox.id, seq: outbox.seq } as HubEvent;
}

/** The committed order as the ledger recorded it (its items are already LedgerItems). */
export function orderEventBody(order: LedgerOrder, at = new Date().toISOString()): HubEventBody {
  return { type: 'order', at, order: { checkId: order.checkId, patientId: order.patientId, visitId: order.visitId, items: order.items } };
}

/**
 * The doctor's choice on a check, one action per (line, finding): continuing past a finding
 * is an override and carries the reason given for that finding; a finding resolved by self-pay
 * or removal is recorded as such. Every finding of the check is listed for rule activity.
 */
export function decisionEventBody(
  check: Check,
  findings: readonly Finding[],
  choice: ResolvedChoice,
  options: { source?: string; at?: string } = {},
): HubEventBody {
  const reasons = new Map(choice.reasons.map((entry) => [entry.findingId, entry.reason]));
  const items = new Map(check.items.map((item) => [item.line, item]));
  const actions: DecisionAction[] = [];
  for (const { line, action } of choice.lines) {
    for (const finding of findings) {
      if (!finding.lines.includes(line)) continue;
      // An action this finding does not offer leaves it to be continued past, as resolveChoice decides.
      const taken = action !== 'continue' && finding.actions.includes(action) ? action : 'continue';
      const item = items.get(line);
      actions.push({
        findingId: finding.findingId,
        ruleId: finding.ruleId,
        level: finding.level,
        line,
        itemCode: item?.code ?? item?.hospCode,
        itemName: item?.name,
        action: hubAction(taken),
        reason: taken === 'continue' ? reasons.get(finding.findingId) : undefined,
      });
    }
  }
  return {
    type: 'decision',
    at: options.at ?? new Date().toISOString(),
    decision: {
      checkId: check.id,
      patientId: check.patient.id,
      outcome: choice.outcome,
      source: options.source,
      dept: check.visit.dept,
      doctor: check.visit.doctor,
      findings: findings.map((finding) => ({ findingId: finding.findingId, ruleId: finding.ruleId, kind: finding.kind, level: finding.level })),
      actions,
    },
  };
}

function hubAction(action: string): DecisionAction['action'] {
  switch (action) {
    case 'selfpay':
      return 'selfpay';
    case 'remove':
      return 'remove';
    case 'attest':
      return 'attest';
    default:
      return 'continue';
  }
}

export function statusEventBody(status: StatusPayload, at = new Date().toISOString()): HubEventBody {
  return { type: 'status', at, status };
}

export function auditHeadEventBody(head: AuditHeadPayload, at = new Date().toISOString()): HubEventBody {
  return { type: 'audit-head', at, head };
}

/**
 * The hub's rows for a patient as extra ledger rows for `mergeHistory`, leaving out the ones
 * this PC's own ledger already holds (the agent's own orders come back from the hub too).
 */
export function hubRowsAsLedger(local: readonly LedgerItem[], hub: readonly HubHistoryRow[]): LedgerItem[] {
  const known = new Set(local.map((item) => `${item.rxId}\u0000${item.date}\u0000${item.code ?? item.hospCode ?? ''}`));
  const extra: LedgerItem[] = [];
  for (const row of hub) {
    if (known.has(`${row.rxId}\u0000${row.date}\u0000${row.code ?? row.hospCode ?? ''}`)) continue;
    const { pcName: _pcName, checkId: _checkId, recordedAt: _recordedAt, ...item } = row;
    extra.push(item);
  }
  return extra;
}
