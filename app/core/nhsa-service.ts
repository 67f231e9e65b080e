/**
 * The national interface as a service over the agent core: 9001/9002 answered here, 3101/3102
 * mapped onto native checks and answered in one envelope, 3103 recorded as exactly what the
 * doctor chose. The core is reached only through `NhsaCore`, so any core that can run a
 * check, find a held one, record a decision and write the audit trail can carry it.
 */
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { AuditEvent } from '../../rules-cache/store-contract';
import { Check, type Decision, type DecisionSource, type Finding, type Verdict } from './protocol/messages';
import {
  Nhsa3101,
  Nhsa3103,
  NhsaEnvelope,
  NhsaInputError,
  checksFromNhsa,
  nationalMessageId,
  nhsaAccepted,
  nhsaError,
  nhsaResponse,
  nhsaSignIn,
  nhsaSignOut,
  parseJudgementId,
  type CheckedEntry,
  type ReplyContext,
} from './protocol/nhsa';
import { ProtocolError, issuePath } from './protocol/errors';
import { assertWithinWork } from './check-service';

/** A check the core still holds, as the service needs to see it. */
export interface HeldCheckView {
  check: Check;
  verdict: Verdict;
  /** Set once the doctor's choice is recorded (popup or an earlier 3103). */
  decision?: Decision;
}

/** What 3103 recorded for one check, in the core's decision terms plus what the review needs. */
export interface FeedbackDecision {
  outcome: 'proceed' | 'revise';
  lines: Array<{ line: string; action: 'continue' }>;
  reasons: Array<{ findingId: string; reason: string }>;
  /** Extra audit fields: each warning as answered, blocks continued past, findings unanswered. */
  audit: Record<string, unknown>;
}

/** The narrow core the national interface needs. */
export interface NhsaCore {
  now(): Date;
  /**
   * Runs an already validated native check (source `nhsa`), with the patient's history from
   * the hospital hub when one is configured (within its budget, as native checks ask it);
   * rejects only on internal failure.
   */
  runCheck(check: Check, connectionId?: string): Promise<Verdict>;
  findCheck(checkId: string): HeldCheckView | undefined;
  /** Records the decision as the doctor's (audit `decision`, decision frame, long-poll waiters). */
  recordDecision(checkId: string, decision: FeedbackDecision, source: DecisionSource): Decision;
  /** Writes an audit record at once. */
  audit(event: AuditEvent): void;
  /** The agent's log (no patient data is written to it from here). */
  log(line: string): void;
}

export interface NhsaServiceOptions {
  /** Whether 3101 checks also get RxGate's popup (a national-interface HIS usually shows its own). */
  popup?: boolean;
  /** Add RxGate's own top-level reply fields (`rxgate_result`, `rxgate_pending`). */
  extraFields?: boolean;
}

const FEEDBACK_SOURCE = 'nhsa-3103';

export class NhsaService {
  private sequence = 0;

  constructor(
    private readonly core: NhsaCore,
    private readonly options: NhsaServiceOptions = {},
  ) {}

  /** A reply context with a fresh platform message id for the request's area. */
  context(raw: unknown, notes?: string[]): ReplyContext {
    const envelope = NhsaEnvelope.safeParse(raw);
    const area = envelope.success ? (envelope.data.mdtrtarea_admvs ?? envelope.data.insuplc_admdvs) : undefined;
    const now = this.core.now();
    this.sequence += 1;
    return { refmsgid: nationalMessageId(area, now, this.sequence), now, notes, extras: this.options.extraFields === true };
  }

  /** A refusal in the national envelope (the transport adds the HTTP status). */
  refusal(message: string, raw?: unknown, path?: string): Record<string, unknown> {
    return nhsaError(message, this.context(raw), path);
  }

  /**
   * Answers one national message. Never rejects: whatever goes wrong is an `infcode` -1
   * envelope, because national clients read `infcode` from every reply.
   */
  async handle(raw: unknown, connectionId?: string): Promise<Record<string, unknown>> {
    try {
      const envelope = NhsaEnvelope.safeParse(raw);
      if (!envelope.success) throw fromZod(envelope.error);
      switch (envelope.data.infno) {
        case '9001':
          return nhsaSignIn(this.context(raw), nationalMessageId(undefined, this.core.now(), randomBytes(4).readUInt32BE()));
        case '9002':
          return nhsaSignOut(this.context(raw));
        case '3101':
        case '3102':
          return await this.check(raw, connectionId);
        case '3103':
          return this.feedback(raw);
        default:
          throw new ProtocolError('unknown_type', `不支持的交易编号 infno: ${envelope.data.infno} (支持 9001、9002、3101、3102、3103)`, '$.infno');
      }
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof NhsaInputError) return nhsaError(error.message, this.context(raw), error.path);
      this.core.log(`国家接口内部错误: ${(error as Error).stack ?? String(error)}`);
      return nhsaError('内部错误, 请查看代理日志', this.context(raw));
    }
  }

  /** 3101/3102: every current encounter checked, every result in one reply. */
  private async check(raw: unknown, connectionId?: string): Promise<Record<string, unknown>> {
    const request = Nhsa3101.safeParse(raw);
    if (!request.success) throw fromZod(request.error);
    const mapped = checksFromNhsa(request.data, `nhsa-${randomBytes(9).toString('base64url')}`, this.options.popup ? 'popup' : 'none');
    // Every check is validated before any runs: one message, answered whole or refused whole.
    const checks = mapped.checks.map(({ check, patientId, visitId }) => {
      const parsed = Check.safeParse(check);
      if (!parsed.success) {
        const which = mapped.checks.length > 1 ? ` (患者 ${patientId} 就诊 ${visitId})` : '';
        throw new ProtocolError('invalid', `${describeMappingIssue(parsed.error)}${which}`, issuePath(parsed.error.issues[0]!.path));
      }
      return parsed.data;
    });
    // The work cap too, before any runs, so that a late encounter cannot leave earlier ones checked.
    for (const check of checks) assertWithinWork(check.items.length, check.history.length);
    // The hub is asked for every encounter's patient at once, each within the same budget.
    const verdicts = await Promise.all(checks.map((check) => this.core.runCheck(check, connectionId)));
    const entries: CheckedEntry[] = checks.map((check, index) => ({ check, verdict: verdicts[index]! }));
    return nhsaResponse(request.data.input.data.task_id, entries, this.context(raw, mapped.notes));
  }

  /**
   * 3103: what the doctor chose, recorded as it was chosen. Feedback on some of a check's
   * results records those; continuing past a block is recorded as an override for the
   * insurance office to review, never refused, as the platform accepts it.
   */
  private feedback(raw: unknown): Record<string, unknown> {
    const message = Nhsa3103.safeParse(raw);
    if (!message.success) throw fromZod(message.error);
    const byCheck = new Map<string, { held: HeldCheckView; warns: Array<{ finding: Finding; way: '1' | '2'; reason?: string }> }>();
    message.data.input.data.warns.forEach((warn, index) => {
      const path = `$.input.data.warns[${index}].warn_rslt_id`;
      const parsed = parseJudgementId(warn.warn_rslt_id);
      const held = parsed ? this.core.findCheck(parsed.checkId) : undefined;
      if (!parsed || !held) throw new ProtocolError('unknown_check', `找不到对应的检查结果: ${warn.warn_rslt_id}`, path);
      const finding = held.verdict.findings.find((candidate) => candidate.findingId === parsed.findingId);
      if (!finding) throw new ProtocolError('unknown_finding', `该检查没有这条结果: ${warn.warn_rslt_id}`, path);
      const entry = byCheck.get(parsed.checkId) ?? { held, warns: [] };
      entry.warns.push({ finding, way: warn.dspo_way as '1' | '2', reason: warn.dspo_way_rea });
      byCheck.set(parsed.checkId, entry);
    });
    for (const [checkId, { held, warns }] of byCheck) {
      const decision = feedbackDecision(held, warns, message.data.input.data.warn_type, message.data.msgid);
      if (held.decision) {
        // Already decided (in RxGate's popup, or an earlier 3103): this report is kept beside it.
        this.core.audit({ type: 'feedback', checkId, patientId: held.check.patient.id, data: { outcome: decision.outcome, source: FEEDBACK_SOURCE, ...decision.audit } });
      } else this.core.recordDecision(checkId, decision, FEEDBACK_SOURCE);
    }
    return nhsaAccepted(this.context(raw));
  }
}

/**
 * One check's 3103 warnings as a decision: any 返回修改 sends the order back; otherwise the
 * lines answered are continued with the reasons given. The audit keeps every warning as
 * answered, the blocks continued past, and the findings the HIS gave no feedback on.
 */
export function feedbackDecision(
  held: HeldCheckView,
  warns: Array<{ finding: Finding; way: '1' | '2'; reason?: string }>,
  warnType: string | undefined,
  msgid: string | undefined,
): FeedbackDecision {
  const answered = new Set(warns.map((warn) => warn.finding.findingId));
  const audit = {
    warnType,
    msgid,
    warns: warns.map((warn) => ({
      findingId: warn.finding.findingId,
      ruleId: warn.finding.ruleId,
      level: warn.finding.level,
      dspoWay: warn.way,
      reason: warn.reason,
    })),
    overrides: warns.filter((warn) => warn.way === '1' && warn.finding.level === 'block').map((warn) => ({ findingId: warn.finding.findingId, ruleId: warn.finding.ruleId, reason: warn.reason })),
    unanswered: held.verdict.findings.filter((finding) => !answered.has(finding.findingId)).map((finding) => finding.findingId),
  };
  const review = audit.overrides.length > 0;
  if (warns.some((warn) => warn.way === '2')) return { outcome: 'revise', lines: [], reasons: [], audit: { ...audit, review } };
  const lines = [...new Set(warns.flatMap((warn) => warn.finding.lines))].map((line) => ({ line, action: 'continue' as const }));
  const reasons = warns.filter((warn) => warn.reason).map((warn) => ({ findingId: warn.finding.findingId, reason: warn.reason! }));
  return { outcome: 'proceed', lines, reasons, audit: { ...audit, review } };
}

function fromZod(error: z.ZodError): ProtocolError {
  return ProtocolError.fromZod(error, undefined);
}

function describeMappingIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `3101 映射后的检查无效: ${issue.path.join('.')}: ${issue.message}`;
}
