/** `coPrescribed` (须与…联合使用): another line of the same order is one of the named drugs. */
import { matchesAnyPrefix } from '../../../../rules-cache/codes';
import type { Condition } from './outcome';

export const coPrescribedCondition: Condition = ({ fields }, view, context, result) => {
  const wanted = fields.coPrescribed;
  if (!wanted) return;
  const found = context.items.some(
    (other) => other !== view && other.code !== undefined && matchesAnyPrefix(other.code, wanted.drugs),
  );
  if (found) return;
  const name = wanted.name ?? wanted.drugs.join('、');
  result.failed.push({
    requirement: 'coPrescribed',
    expected: wanted.drugs,
    actual: null,
    text: `须与${name}联合使用，本处方中没有`,
  });
};
