/**
 * Conditions on the patient: gender, age in years and in days, pregnancy or lactation.
 * A missing birth date or gender fails as in rules v1; a pregnancy status the check does not
 * carry is for the doctor to attest (rules.md v2).
 */
import { dayNumber } from '../dates';
import { genderName } from '../findings';
import type { Condition } from './outcome';

function ageRange(min: number | undefined, max: number | undefined, unit: string): string {
  if (min !== undefined && max !== undefined) return `${min}–${max} ${unit}`;
  if (max !== undefined) return `${max} ${unit}及以下`;
  return `${min ?? 0} ${unit}及以上`;
}

export const genderCondition: Condition = ({ fields }, _view, { check }, result) => {
  if (fields.gender === undefined) return;
  const gender = check.patient.gender;
  if (gender === fields.gender) return;
  result.failed.push({
    requirement: 'gender',
    expected: fields.gender,
    actual: gender ?? null,
    text: gender ? `限${genderName(fields.gender)}患者，本患者为${genderName(gender)}` : `限${genderName(fields.gender)}患者，未提供患者性别`,
  });
};

export const ageCondition: Condition = ({ fields }, _view, context, result) => {
  if (fields.ageMin === undefined && fields.ageMax === undefined) return;
  const age = context.age;
  const tooYoung = age !== undefined && fields.ageMin !== undefined && age < fields.ageMin;
  const tooOld = age !== undefined && fields.ageMax !== undefined && age > fields.ageMax;
  if (age !== undefined && !tooYoung && !tooOld) return;
  const range = ageRange(fields.ageMin, fields.ageMax, '岁');
  result.failed.push({
    requirement: 'age',
    expected: { min: fields.ageMin, max: fields.ageMax },
    actual: age ?? null,
    text: age === undefined ? `限 ${range}，未提供出生日期，无法核对年龄` : `限 ${range}，患者 ${age} 岁`,
  });
};

/** Age in days counts the day of birth as day 0, so `ageDaysMax: 28` holds on day 28. */
export const ageDaysCondition: Condition = ({ fields }, _view, context, result) => {
  if (fields.ageDaysMin === undefined && fields.ageDaysMax === undefined) return;
  const birthDate = context.check.patient.birthDate;
  const days = birthDate === undefined ? undefined : context.visitDay - dayNumber(birthDate);
  const tooYoung = days !== undefined && fields.ageDaysMin !== undefined && days < fields.ageDaysMin;
  const tooOld = days !== undefined && fields.ageDaysMax !== undefined && days > fields.ageDaysMax;
  if (days !== undefined && !tooYoung && !tooOld) return;
  const range = ageRange(fields.ageDaysMin, fields.ageDaysMax, '天');
  result.failed.push({
    requirement: 'ageDays',
    expected: { min: fields.ageDaysMin, max: fields.ageDaysMax },
    actual: days ?? null,
    text: days === undefined ? `限出生 ${range}，未提供出生日期，无法核对日龄` : `限出生 ${range}，患者出生第 ${days} 天`,
  });
};

const pregnancyNames = { pregnant: '孕妇', lactating: '哺乳期妇女', none: '非孕期、非哺乳期患者' } as const;

export const pregnancyCondition: Condition = ({ fields }, _view, { check }, result) => {
  if (fields.pregnancy === undefined) return;
  const wanted = fields.pregnancy.map((status) => pregnancyNames[status]).join('或');
  const status = check.patient.pregnancy;
  if (status === undefined) {
    result.confirm.push(`患者为${wanted}`);
    return;
  }
  if (fields.pregnancy.includes(status)) return;
  result.failed.push({
    requirement: 'pregnancy',
    expected: fields.pregnancy,
    actual: status,
    text: `限${wanted}，本患者为${pregnancyNames[status]}`,
  });
};
