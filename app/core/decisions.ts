/**
 * The doctor's choice on a checked order, validated against what the findings allow. Pure:
 * the popup, 3103 feedback and tests all go through `resolveChoice`, so the two-level rule
 * (warn may continue with a reason, block may not continue) holds whichever way a choice
 * arrives.
 */
import type { Action, DoctorChoice, Finding } from './protocol/messages';
import type { ErrorCode } from './protocol/error-codes';

export class ChoiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'ChoiceError';
  }
}

export interface ResolvedChoice {
  outcome: 'proceed' | 'revise';
  /** `attested`: with action `attest`, the condition texts the doctor declared. */
  lines: Array<{ line: string; action: Action; attested?: string[] }>;
  reasons: Array<{ findingId: string; reason: string }>;
}

/**
 * Checks a choice against the findings it answers and fills in what is implied: a flagged
 * line the doctor did nothing about is continued, which only a warning allows, and only with
 * a reason. Throws `ChoiceError` naming what is wrong.
 */
export function resolveChoice(findings: Finding[], choice: DoctorChoice): ResolvedChoice {
  if (choice.outcome === 'revise') {
    // Going back to edit needs no justification; whatever actions were picked are dropped.
    return { outcome: 'revise', lines: [], reasons: [] };
  }
  const findingsByLine = new Map<string, Finding[]>();
  for (const finding of findings) {
    for (const line of finding.lines) {
      const list = findingsByLine.get(line) ?? [];
      list.push(finding);
      findingsByLine.set(line, list);
    }
  }
  const findingIds = new Set(findings.map((finding) => finding.findingId));
  const actionByLine = new Map<string, Action>();
  const attestedByLine = new Map<string, string[]>();
  choice.lines.forEach((entry, index) => {
    const flagged = findingsByLine.get(entry.line);
    if (!flagged) {
      throw new ChoiceError('unknown_line', `第 ${entry.line} 行没有提示, 不需要处理`, `lines.${index}.line`);
    }
    if (actionByLine.has(entry.line)) {
      throw new ChoiceError('duplicate_line', `第 ${entry.line} 行给出了两个处理方式`, `lines.${index}.line`);
    }
    if (entry.action === 'revise') {
      throw new ChoiceError('bad_action', '返回修改针对整张处方, 请用 outcome "revise"', `lines.${index}.action`);
    }
    if (!flagged.some((finding) => finding.actions.includes(entry.action))) {
      throw new ChoiceError('action_not_offered', `第 ${entry.line} 行不能选择“${actionLabel(entry.action)}”`, `lines.${index}.action`);
    }
    if (entry.attested !== undefined && entry.action !== 'attest') {
      throw new ChoiceError('bad_attested', `第 ${entry.line} 行只有“符合限定条件”才能带确认内容`, `lines.${index}.attested`);
    }
    if (entry.action === 'attest') {
      attestedByLine.set(entry.line, attestedTexts(flagged, entry.attested, entry.line, index));
    }
    actionByLine.set(entry.line, entry.action);
  });
  const reasons = new Map<string, string>();
  choice.reasons.forEach((entry, index) => {
    if (!findingIds.has(entry.findingId)) {
      throw new ChoiceError('unknown_finding', `没有编号为 ${entry.findingId} 的提示`, `reasons.${index}.findingId`);
    }
    reasons.set(entry.findingId, entry.reason.trim());
  });

  const lines: ResolvedChoice['lines'] = [];
  for (const [line, flagged] of findingsByLine) {
    const action = actionByLine.get(line) ?? 'continue';
    const attested = attestedByLine.get(line);
    lines.push(attested === undefined ? { line, action } : { line, action, attested });
    for (const finding of flagged) {
      // An action that this finding offers (other than continuing) resolves it.
      if (action !== 'continue' && finding.actions.includes(action)) continue;
      if (finding.level === 'block') {
        throw new ChoiceError(
          'block_not_resolved',
          `“${finding.title}”是拦截项, 第 ${line} 行须${finding.actions.filter((a) => a !== 'revise').map(actionLabel).join('或')}, 或返回修改`,
          'lines',
        );
      }
      if (!reasons.get(finding.findingId)) {
        throw new ChoiceError('reason_required', `继续使用须填写理由: ${finding.title}`, 'reasons');
      }
    }
  }
  const usedReasons = [...reasons].map(([findingId, reason]) => ({ findingId, reason }));
  return { outcome: 'proceed', lines, reasons: usedReasons };
}

/** The texts to confirm of each alternative a finding may be attested by (`details.unmet`, else `details.confirm`). */
function attestableAlternatives(finding: Finding): string[][] {
  const unmet = finding.details.unmet;
  if (Array.isArray(unmet)) {
    const alternatives = unmet
      .filter((entry): entry is { status: string; confirm: string[] } => typeof entry === 'object' && entry !== null && (entry as { status?: unknown }).status === 'attest')
      .map((entry) => entry.confirm);
    if (alternatives.length > 0) return alternatives;
  }
  const confirm = finding.details.confirm;
  return Array.isArray(confirm) ? [confirm.filter((text): text is string => typeof text === 'string')] : [];
}

/**
 * What an `attest` declares: the texts given, which must be ones the findings ask to confirm
 * and cover one whole alternative of each finding that offers `attest`; without texts, every
 * text of those findings (what the popup's one key declares).
 */
function attestedTexts(flagged: readonly Finding[], given: readonly string[] | undefined, line: string, index: number): string[] {
  const offering = flagged.filter((finding) => finding.actions.includes('attest'));
  const alternatives = offering.map(attestableAlternatives);
  if (given === undefined) return [...new Set(alternatives.flat(2))];
  const known = new Set(alternatives.flat(2));
  const unknown = given.filter((text) => !known.has(text));
  if (unknown.length > 0) {
    throw new ChoiceError('unknown_attested', `第 ${line} 行没有需要确认的“${unknown.join('、')}”`, `lines.${index}.attested`);
  }
  const declared = new Set(given);
  offering.forEach((finding, position) => {
    if (!alternatives[position]!.some((texts) => texts.every((text) => declared.has(text)))) {
      throw new ChoiceError('attest_incomplete', `“${finding.title}”还有条件未确认`, `lines.${index}.attested`);
    }
  });
  return [...declared];
}

export function actionLabel(action: Action): string {
  switch (action) {
    case 'continue':
      return '继续';
    case 'selfpay':
      return '转自费';
    case 'remove':
      return '删除';
    case 'revise':
      return '返回修改';
    case 'attest':
      return '符合限定条件';
  }
}
