/** Conditions on the visit's diagnoses: one must match (`diagnoses`), none may (`excludeDiagnoses`). */
import type { Condition } from './outcome';

export const diagnosesCondition: Condition = (requirement, _view, context, result) => {
  const patterns = requirement.fields.diagnoses;
  if (!requirement.diagnoses || !patterns) return;
  if (requirement.diagnoses.firstMatch(context.diagnoses) >= 0) return;
  const { check } = context;
  const shown = check.diagnoses.map((diagnosis) => (diagnosis.name ? `${diagnosis.name}(${diagnosis.code})` : diagnosis.code)).join('、');
  result.failed.push({
    requirement: 'diagnoses',
    expected: patterns,
    actual: check.diagnoses.map((diagnosis) => ({ code: diagnosis.code, name: diagnosis.name })),
    text: shown ? `本次诊断 ${shown} 不在限定诊断范围(${patterns.join('、')})内` : `本次未录入诊断，限定诊断为 ${patterns.join('、')}`,
  });
};

export const excludeDiagnosesCondition: Condition = (requirement, _view, context, result) => {
  const matcher = requirement.excludeDiagnoses;
  if (!matcher) return;
  const excluded = context.check.diagnoses.filter((_diagnosis, index) => matcher.matchesNormalized(context.diagnoses[index]!));
  if (excluded.length === 0) return;
  const shown = excluded.map((diagnosis) => (diagnosis.name ? `${diagnosis.name}(${diagnosis.code})` : diagnosis.code)).join('、');
  result.failed.push({
    requirement: 'excludeDiagnoses',
    expected: requirement.fields.excludeDiagnoses,
    actual: excluded.map((diagnosis) => ({ code: diagnosis.code, name: diagnosis.name })),
    text: `本次诊断 ${shown} 属于不予支付的诊断`,
  });
};
