/**
 * `priorDrugs` (限二线用药): the patient took one of the named drugs within `withinDays`
 * before the visit, for at least `minDays` in all when given. History is the check's, the
 * ledger's and (later) the hub's, already merged; only this patient's rows are looked at.
 * Earlier prescriptions of the item's own generic never count: a class prefix for the
 * first-line drugs (`XL01EA`) often holds the second-line drug too, and its own history
 * proves nothing about the first line.
 */
import { matchesAnyPrefix } from '../../../../rules-cache/codes';
import { identityOf } from '../context';
import { dayNumber } from '../dates';
import type { Condition } from './outcome';

/** rules.md v2: `withinDays` defaults to a year. */
const DEFAULT_WITHIN_DAYS = 365;

export const priorDrugsCondition: Condition = ({ fields }, view, context, result) => {
  const prior = fields.priorDrugs;
  if (!prior) return;
  const withinDays = prior.withinDays ?? DEFAULT_WITHIN_DAYS;
  let found = 0;
  let days = 0;
  for (const earlier of context.history) {
    const code = earlier.code;
    if (code === undefined || !matchesAnyPrefix(code, prior.drugs)) continue;
    const daysAgo = context.visitDay - dayNumber(earlier.date);
    if (daysAgo < 0 || daysAgo > withinDays || identityOf(code, earlier.hospCode) === view.identity) continue;
    found += 1;
    // A line without days still shows the drug was given: one day.
    days += earlier.days ?? 1;
  }
  const name = prior.name ?? prior.drugs.join('、');
  if (found > 0 && (prior.minDays === undefined || days >= prior.minDays)) return;
  result.failed.push({
    requirement: 'priorDrugs',
    expected: { drugs: prior.drugs, withinDays, minDays: prior.minDays },
    actual: { lines: found, days },
    text:
      found === 0
        ? `未见${name}使用记录(近${withinDays}天)`
        : `${name}近${withinDays}天共用 ${days} 天，不足 ${prior.minDays ?? 0} 天`,
  });
};
