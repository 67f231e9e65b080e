/**
 * `indication` rules (限定支付范围): a restricted drug is reimbursed only when every
 * requirement of its rule is met by this visit.
 */
import type { CompiledIndicationRule } from '../../../rules-cache/compile';
import { applies, type EvaluationContext, type ItemView } from './context';
import {
  describeItem,
  draft,
  genderName,
  hospitalLevelNames,
  insuranceName,
  renderMessage,
  visitTypeNames,
  type DraftFinding,
} from './findings';

/** One requirement the visit did not meet, as the popup and the audit trail show it. */
export interface FailedRequirement {
  requirement: 'diagnoses' | 'gender' | 'age' | 'visitType' | 'insurance' | 'hospitalLevel';
  expected: unknown;
  /** What the visit has; null when the check did not say. */
  actual: unknown;
  /** The failure in one plain sentence. */
  text: string;
}

function ageRange(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `${min}–${max} 岁`;
  if (max !== undefined) return `${max} 岁及以下`;
  return `${min ?? 0} 岁及以上`;
}

/** Every requirement of the rule that this visit does not meet. */
export function failedRequirements(compiled: CompiledIndicationRule, context: EvaluationContext): FailedRequirement[] {
  const require = compiled.rule.require;
  const { check } = context;
  const failed: FailedRequirement[] = [];

  if (compiled.diagnoses && require.diagnoses) {
    if (compiled.diagnoses.firstMatch(context.diagnoses) < 0) {
      const actual = check.diagnoses.map((diagnosis) => ({ code: diagnosis.code, name: diagnosis.name }));
      const shown = check.diagnoses.map((diagnosis) => (diagnosis.name ? `${diagnosis.name}(${diagnosis.code})` : diagnosis.code)).join('、');
      failed.push({
        requirement: 'diagnoses',
        expected: require.diagnoses,
        actual,
        text: shown
          ? `本次诊断 ${shown} 不在限定诊断范围(${require.diagnoses.join('、')})内`
          : `本次未录入诊断，限定诊断为 ${require.diagnoses.join('、')}`,
      });
    }
  }

  if (require.gender !== undefined) {
    const gender = check.patient.gender;
    if (gender !== require.gender) {
      failed.push({
        requirement: 'gender',
        expected: require.gender,
        actual: gender ?? null,
        text: gender
          ? `限${genderName(require.gender)}患者，本患者为${genderName(gender)}`
          : `限${genderName(require.gender)}患者，未提供患者性别`,
      });
    }
  }

  if (require.ageMin !== undefined || require.ageMax !== undefined) {
    const age = context.age;
    const tooYoung = age !== undefined && require.ageMin !== undefined && age < require.ageMin;
    const tooOld = age !== undefined && require.ageMax !== undefined && age > require.ageMax;
    if (age === undefined || tooYoung || tooOld) {
      const range = ageRange(require.ageMin, require.ageMax);
      failed.push({
        requirement: 'age',
        expected: { min: require.ageMin, max: require.ageMax },
        actual: age ?? null,
        text: age === undefined ? `限 ${range}，未提供出生日期，无法核对年龄` : `限 ${range}，患者 ${age} 岁`,
      });
    }
  }

  if (require.visitTypes && !require.visitTypes.includes(check.visit.type)) {
    failed.push({
      requirement: 'visitType',
      expected: require.visitTypes,
      actual: check.visit.type,
      text: `限${require.visitTypes.map((type) => visitTypeNames[type] ?? type).join('或')}使用，本次为${visitTypeNames[check.visit.type] ?? check.visit.type}`,
    });
  }

  if (require.insurance) {
    const insurance = check.patient.insurance;
    if (insurance === undefined || !require.insurance.includes(insurance)) {
      const expected = require.insurance.map(insuranceName).join('或');
      failed.push({
        requirement: 'insurance',
        expected: require.insurance,
        actual: insurance ?? null,
        text: insurance === undefined ? `限险种 ${expected}，未提供患者险种` : `限险种 ${expected}，本患者险种为 ${insuranceName(insurance)}`,
      });
    }
  }

  if (require.hospitalLevelMin !== undefined) {
    const level = check.visit.hospitalLevel;
    if (level === undefined || level < require.hospitalLevelMin) {
      const expected = `${hospitalLevelNames[require.hospitalLevelMin] ?? require.hospitalLevelMin}及以上医疗机构`;
      failed.push({
        requirement: 'hospitalLevel',
        expected: require.hospitalLevelMin,
        actual: level ?? null,
        text: level === undefined ? `限${expected}，未提供本院等级` : `限${expected}，本院为${hospitalLevelNames[level] ?? level}医疗机构`,
      });
    }
  }

  return failed;
}

/**
 * One finding for each insured item of a restricted drug whose requirements are not all met.
 * Self-pay items are exempt: the restriction is on what insurance pays for.
 *
 * Message placeholders: `{drug}`, `{line}`, `{code}`, `{failed}` (the failed requirements in
 * words), `{diagnoses}` (the visit's diagnoses), `{age}`.
 */
export function checkIndications(context: EvaluationContext): DraftFinding[] {
  const findings: DraftFinding[] = [];
  for (const view of context.items) {
    if (!view.insured) continue;
    for (const compiled of view.rules.indication) {
      if (!applies(compiled, context)) continue;
      const failed = failedRequirements(compiled, context);
      if (failed.length === 0) continue;
      findings.push(indicationFinding(compiled, view, failed, context));
    }
  }
  return findings;
}

function indicationFinding(
  compiled: CompiledIndicationRule,
  view: ItemView,
  failed: FailedRequirement[],
  context: EvaluationContext,
): DraftFinding {
  const rule = compiled.rule;
  const failedText = failed.map((failure) => failure.text).join('；');
  const fallback = `${view.item.name}属医保限定支付药品，本次不符合：${failedText}。`;
  const message = renderMessage(rule.message, fallback, {
    drug: view.item.name,
    line: view.item.line,
    code: view.code ?? view.hospCode,
    failed: failedText,
    diagnoses: context.check.diagnoses.map((diagnosis) => diagnosis.name ?? diagnosis.code).join('、'),
    age: context.age,
  });
  return draft(compiled, rule.level, [view], message, { drug: describeItem(view), failed });
}
