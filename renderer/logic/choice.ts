/**
 * The doctor's choice on one pending check: which actions each flagged line offers, what is
 * still missing before 确认 may be pressed, and the `DoctorChoice` that goes to the core.
 *
 * The rules mirror the core's `resolveChoice` (app/core/decisions.ts), which has the final say:
 * a line the doctor leaves alone is continued; continuing is allowed only past warnings and only
 * with a reason for each; an action resolves a finding only when that finding offers it. The
 * popup applies them first so that 确认 is never pressed into an error.
 */
import type { DoctorChoice, Finding } from '../../app/core/protocol/messages';
import type { PendingView } from '../../app/core/protocol/ui';
import { actionLabel, type Level, type LineAction } from './labels';

export type PendingItem = PendingView['items'][number];

/** What the doctor has picked so far for one check. */
export interface Draft {
  /** Per line: the chosen action; absent means "as the default" (see `effectiveAction`). */
  actions: Readonly<Record<string, LineAction>>;
  /** Per finding id: the reason for continuing past it, as typed or picked. */
  reasons: Readonly<Record<string, string>>;
}

export const emptyDraft: Draft = { actions: {}, reasons: {} };

/** The order the actions are shown in, which is also their number key (1, 2, 3, 4). */
export const lineActionOrder: readonly LineAction[] = ['selfpay', 'remove', 'continue', 'attest'];

/** An order line with at least one finding, as the popup lists it. */
export interface FlaggedItem {
  line: string;
  /** The item's name, or "第 N 行" when a finding names a line the view does not carry. */
  name: string;
  item?: PendingItem;
  findings: Finding[];
  /** The worst level among its findings. */
  level: Level;
  /** Actions the doctor may pick here, in `lineActionOrder`. */
  actions: LineAction[];
}

/** Longest reason the core accepts (messages.ts `FindingReason`). */
export const reasonMaxLength = 500;

/** Flagged lines in the order the HIS sent the items; lines only a finding knows come last. */
export function flaggedItems(view: Pick<PendingView, 'items' | 'findings'>): FlaggedItem[] {
  const findingsByLine = new Map<string, Finding[]>();
  for (const finding of view.findings) {
    for (const line of finding.lines) {
      const list = findingsByLine.get(line) ?? [];
      if (!list.includes(finding)) list.push(finding);
      findingsByLine.set(line, list);
    }
  }
  const itemsByLine = new Map(view.items.map((item) => [item.line, item]));
  const lines = [
    ...view.items.map((item) => item.line).filter((line) => findingsByLine.has(line)),
    ...[...findingsByLine.keys()].filter((line) => !itemsByLine.has(line)),
  ];
  return lines.map((line) => {
    const findings = findingsByLine.get(line)!;
    const item = itemsByLine.get(line);
    const level: Level = findings.some((finding) => finding.level === 'block') ? 'block' : 'warn';
    return { line, name: item?.name ?? `第 ${line} 行`, item, findings, level, actions: offeredActions(findings, level) };
  });
}

/**
 * The actions a line offers: whatever any of its findings offers, except that continuing is
 * never offered past a block, and always offered past warnings alone (continuing is what a
 * warning means; the core treats a line left alone as continued).
 */
function offeredActions(findings: Finding[], level: Level): LineAction[] {
  const offered = new Set(findings.flatMap((finding) => finding.actions));
  return lineActionOrder.filter((action) => (action === 'continue' ? level === 'warn' : offered.has(action)));
}

/** Findings about the whole order rather than particular lines (e.g. too many herbs). */
export function orderFindings(view: Pick<PendingView, 'findings'>): Finding[] {
  return view.findings.filter((finding) => finding.lines.length === 0);
}

/** Items that raised nothing, listed so the doctor sees the whole order. */
export function unflaggedItems(view: Pick<PendingView, 'items' | 'findings'>): PendingItem[] {
  const flagged = new Set(view.findings.flatMap((finding) => finding.lines));
  return view.items.filter((item) => !flagged.has(item.line));
}

/** The action in force on a line: the doctor's pick, else continue where only warnings fired. */
export function effectiveAction(item: FlaggedItem, draft: Draft): LineAction | undefined {
  const picked = draft.actions[item.line];
  if (picked && item.actions.includes(picked)) return picked;
  return item.level === 'warn' ? 'continue' : undefined;
}

/**
 * Where one finding stands:
 * - `resolved`: every line it is on has an action it offers (other than continuing);
 * - `needs-action`: a block with a line still unresolved;
 * - `needs-reason` / `reasoned`: a warning being continued, without or with a reason;
 * - `needs-revise`: a block on the whole order, which only going back to edit can fix.
 */
export type FindingState = 'resolved' | 'needs-action' | 'needs-reason' | 'reasoned' | 'needs-revise';

export function findingState(finding: Finding, itemsByLine: ReadonlyMap<string, FlaggedItem>, draft: Draft): FindingState {
  let continued = finding.lines.length === 0;
  for (const line of finding.lines) {
    const item = itemsByLine.get(line);
    const action = item ? effectiveAction(item, draft) : undefined;
    if (action && action !== 'continue' && finding.actions.includes(action)) continue;
    if (finding.level === 'block') return 'needs-action';
    continued = true;
  }
  if (!continued) return 'resolved';
  if (finding.level === 'block') return 'needs-revise';
  return (draft.reasons[finding.findingId] ?? '').trim() ? 'reasoned' : 'needs-reason';
}

/** Something that keeps 确认 disabled, said the way the doctor reads it. */
export interface ChoiceProblem {
  kind: 'needs-action' | 'needs-reason' | 'needs-revise';
  findingId: string;
  line?: string;
  message: string;
}

export interface ChoiceEvaluation {
  items: FlaggedItem[];
  states: ReadonlyMap<string, FindingState>;
  /**
   * For each finding asking for a reason, the line whose card shows the picker: the first line
   * continuing past it, so a finding spanning lines asks once. Absent line: a whole-order finding.
   */
  reasonLines: ReadonlyMap<string, string | undefined>;
  problems: ChoiceProblem[];
  canProceed: boolean;
}

/** Everything the popup needs to know about a draft, computed once per change. */
export function evaluateChoice(view: Pick<PendingView, 'items' | 'findings'>, draft: Draft): ChoiceEvaluation {
  const items = flaggedItems(view);
  const itemsByLine = new Map(items.map((item) => [item.line, item]));
  const states = new Map<string, FindingState>();
  const reasonLines = new Map<string, string | undefined>();
  const problems: ChoiceProblem[] = [];
  for (const finding of view.findings) {
    const state = findingState(finding, itemsByLine, draft);
    states.set(finding.findingId, state);
    if (wantsReason(state)) {
      reasonLines.set(
        finding.findingId,
        finding.lines.find((line) => {
          const item = itemsByLine.get(line);
          const action = item ? effectiveAction(item, draft) : undefined;
          return !(action && action !== 'continue' && finding.actions.includes(action));
        }),
      );
    }
    if (state === 'needs-action') {
      const line = finding.lines.find((candidate) => {
        const item = itemsByLine.get(candidate);
        const action = item ? effectiveAction(item, draft) : undefined;
        return !(action && action !== 'continue' && finding.actions.includes(action));
      });
      const fixes = finding.actions.filter((action) => action !== 'revise' && action !== 'continue').map((action) => actionLabel[action]);
      const name = (line && itemsByLine.get(line)?.name) ?? '';
      problems.push({
        kind: 'needs-action',
        findingId: finding.findingId,
        line,
        message: fixes.length > 0 ? `${name}: 拦截, 须选择${fixes.join('或')}` : `${name}: 拦截, 须返回修改`,
      });
    } else if (state === 'needs-reason') {
      const name = finding.lines.length > 0 ? itemsByLine.get(finding.lines[0]!)?.name ?? '' : '整张处方';
      problems.push({
        kind: 'needs-reason',
        findingId: finding.findingId,
        line: finding.lines[0],
        message: `${name}: 继续使用须填写理由 (${finding.title})`,
      });
    } else if (state === 'needs-revise') {
      problems.push({ kind: 'needs-revise', findingId: finding.findingId, message: `${finding.title}: 整张处方被拦截, 须返回修改` });
    }
  }
  return { items, states, reasonLines, problems, canProceed: problems.length === 0 };
}

/** Whether a finding asks the doctor for a reason right now (its picker is shown). */
export function wantsReason(state: FindingState | undefined): boolean {
  return state === 'needs-reason' || state === 'reasoned';
}

/**
 * The choice the core receives. For `proceed`, every flagged line's action in force and a
 * reason for every warning being continued; reasons typed for findings that were resolved
 * another way are left out, so the audit trail says only what was true.
 */
export function buildChoice(view: PendingView, draft: Draft, outcome: 'proceed' | 'revise'): DoctorChoice {
  if (outcome === 'revise') return { id: view.id, outcome, lines: [], reasons: [] };
  const { items, states } = evaluateChoice(view, draft);
  const lines: DoctorChoice['lines'] = [];
  for (const item of items) {
    const action = effectiveAction(item, draft);
    if (!action) continue;
    // Continuing is implied for a line left alone; name it only where a finding offers it,
    // since the core refuses an action that no finding on the line offers.
    if (action === 'continue' && !item.findings.some((finding) => finding.actions.includes('continue'))) continue;
    lines.push({ line: item.line, action });
  }
  const reasons: DoctorChoice['reasons'] = [];
  for (const finding of view.findings) {
    if (states.get(finding.findingId) !== 'reasoned') continue;
    reasons.push({ findingId: finding.findingId, reason: draft.reasons[finding.findingId]!.trim().slice(0, reasonMaxLength) });
  }
  return { id: view.id, outcome, lines, reasons };
}
