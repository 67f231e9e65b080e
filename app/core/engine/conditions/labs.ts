/**
 * `labs`: each lab condition holds on the newest matching result within `withinDays`. A lab
 * the check does not carry (or only older results) is not a failure: the doctor attests the
 * same condition in words ("白蛋白 < 30 g/L").
 */
import type { LabRequirement } from '../../../../rules-cache/model';
import { dayNumber } from '../dates';
import { labComparisons, shortDate, type Condition } from './outcome';

const DEFAULT_WITHIN_DAYS = 30;

/** The condition in words: `白蛋白 < 30 g/L`. */
export function labText(lab: LabRequirement): string {
  return `${lab.name} ${lab.op} ${lab.value}${lab.unit ? ` ${lab.unit}` : ''}`;
}

export const labsCondition: Condition = ({ fields }, _view, context, result) => {
  if (!fields.labs) return;
  const results = context.check.labs ?? [];
  for (const lab of fields.labs) {
    const withinDays = lab.withinDays ?? DEFAULT_WITHIN_DAYS;
    let newest: { value: number; unit?: string; date: string; day: number } | undefined;
    for (const candidate of results) {
      if (!lab.codes.includes(candidate.code)) continue;
      const date = candidate.date ?? context.visitDate;
      const day = dayNumber(date);
      const daysAgo = context.visitDay - day;
      if (daysAgo < 0 || daysAgo > withinDays) continue;
      // Same day: the later entry in the list is taken as the newer result.
      if (!newest || day >= newest.day) newest = { value: candidate.value, unit: candidate.unit, date, day };
    }
    if (!newest) {
      result.confirm.push(labText(lab));
      continue;
    }
    if (labComparisons[lab.op](newest.value, lab.value)) continue;
    result.failed.push({
      requirement: 'labs',
      expected: { codes: lab.codes, name: lab.name, op: lab.op, value: lab.value, unit: lab.unit, withinDays },
      actual: { value: newest.value, unit: newest.unit, date: newest.date },
      text: `${lab.name} ${newest.value}${newest.unit ? ` ${newest.unit}` : ''}(${shortDate(newest.date)})，不符合 ${labText(lab)}`,
    });
  }
};
