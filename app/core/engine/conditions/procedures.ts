/**
 * `procedures` (限术后, 限…手术患者): a procedure of this visit, or one dated within
 * `withinDays` before it. A check without a `procedures` field does not say: the doctor
 * attests; an empty list says there was none: failed.
 */
import { normalizeProcedureCode } from '../../../../rules-cache/codes';
import { dayNumber } from '../dates';
import type { Condition } from './outcome';

const DEFAULT_WITHIN_DAYS = 30;

export const proceduresCondition: Condition = (requirement, _view, context, result) => {
  const procedures = requirement.fields.procedures;
  const prefixes = requirement.procedureCodes;
  if (!procedures || !prefixes) return;
  const withinDays = procedures.withinDays ?? DEFAULT_WITHIN_DAYS;
  const name = procedures.name ?? `手术操作 ${procedures.codes.join('、')}`;
  const done = context.check.procedures;
  if (done === undefined) {
    result.confirm.push(`已行${name}(本次或近${withinDays}天内)`);
    return;
  }
  const matched = done.some((procedure) => {
    if (procedure.date !== undefined) {
      const daysAgo = context.visitDay - dayNumber(procedure.date);
      if (daysAgo < 0 || daysAgo > withinDays) return false;
    }
    const code = normalizeProcedureCode(procedure.code);
    return prefixes.some((prefix) => code.startsWith(prefix));
  });
  if (matched) return;
  result.failed.push({
    requirement: 'procedures',
    expected: { codes: procedures.codes, withinDays },
    actual: done.map((procedure) => ({ code: procedure.code, name: procedure.name, date: procedure.date })),
    text: `未见${name}记录(本次或近${withinDays}天内)`,
  });
};
