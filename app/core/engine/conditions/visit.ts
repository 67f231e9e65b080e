/** Conditions on the visit: its type, the patient's insurance, the hospital's level (rules v1). */
import { hospitalLevelNames, insuranceName, visitTypeNames } from '../findings';
import type { Condition } from './outcome';

export const visitTypeCondition: Condition = ({ fields }, _view, { check }, result) => {
  if (!fields.visitTypes || fields.visitTypes.includes(check.visit.type)) return;
  result.failed.push({
    requirement: 'visitType',
    expected: fields.visitTypes,
    actual: check.visit.type,
    text: `限${fields.visitTypes.map((type) => visitTypeNames[type] ?? type).join('或')}使用，本次为${visitTypeNames[check.visit.type] ?? check.visit.type}`,
  });
};

export const insuranceCondition: Condition = ({ fields }, _view, { check }, result) => {
  if (!fields.insurance) return;
  const insurance = check.patient.insurance;
  if (insurance !== undefined && fields.insurance.includes(insurance)) return;
  const expected = fields.insurance.map(insuranceName).join('或');
  result.failed.push({
    requirement: 'insurance',
    expected: fields.insurance,
    actual: insurance ?? null,
    text: insurance === undefined ? `限险种 ${expected}，未提供患者险种` : `限险种 ${expected}，本患者险种为 ${insuranceName(insurance)}`,
  });
};

export const hospitalLevelCondition: Condition = ({ fields }, _view, { check }, result) => {
  if (fields.hospitalLevelMin === undefined) return;
  const level = check.visit.hospitalLevel;
  if (level !== undefined && level >= fields.hospitalLevelMin) return;
  const expected = `${hospitalLevelNames[fields.hospitalLevelMin] ?? fields.hospitalLevelMin}及以上医疗机构`;
  result.failed.push({
    requirement: 'hospitalLevel',
    expected: fields.hospitalLevelMin,
    actual: level ?? null,
    text: level === undefined ? `限${expected}，未提供本院等级` : `限${expected}，本院为${hospitalLevelNames[level] ?? level}医疗机构`,
  });
};
