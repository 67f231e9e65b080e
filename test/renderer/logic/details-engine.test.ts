/**
 * The popup must know every detail the engine writes: this runs the real engine over orders
 * that fire each rule kind and checks that `describeDetails` labels every key it shows (an
 * unknown key would appear under its raw English name) and finds the earlier prescriptions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRules } from '../../../rules-cache/compile';
import { parseRuleLibraryDocument } from '../../../rules-cache/model';
import { evaluate, mergeHistory } from '../../../app/core/engine';
import { Check, type CheckInput, type Finding } from '../../../app/core/protocol/messages';
import { describeDetails } from '../../../renderer/logic/details';

const library = parseRuleLibraryDocument(
  {
    version: 1,
    rules: [
      { id: 'IND-1', kind: 'indication', level: 'block', title: '紫龙金片限肺癌', drugs: ['ZA12AAZ017'], require: { diagnoses: ['C34'] } },
      { id: 'IND-2', kind: 'indication', level: 'warn', title: '限儿童', drugs: ['XR05'], require: { ageMax: 17 } },
      {
        id: 'CHR-1',
        kind: 'chronic',
        level: 'block',
        title: '高血压门慢用药范围',
        disease: { code: 'M03900', name: '高血压', diagnoses: ['I10-I15'] },
        allow: ['XC08'],
        caps: { yearAmount: 100, yearQuantity: 3, warnRatio: 0.8 },
      },
      { id: 'REP-1', kind: 'repeat', level: 'warn', title: '重复开药', match: 'generic' },
      { id: 'REP-2', kind: 'repeat', level: 'warn', title: '同类药重复', match: 'class', sameOrder: true },
      { id: 'DAY-1', kind: 'days', level: 'warn', title: '门诊超7日', maxDays: 7, scope: { medTypes: ['11'] } },
      { id: 'DAY-2', kind: 'days', level: 'warn', title: '疗程', maxDays: 20, drugs: ['XJ01'], cumulative: true, lookbackDays: 30 },
      { id: 'HRB-1', kind: 'herbal', level: 'warn', title: '超20味', maxItems: 2, except: { diagnoses: ['C00-C97'], maxItems: 3 } },
      {
        id: 'IND-3',
        kind: 'indication',
        level: 'block',
        title: '限1型或难控2型糖尿病',
        drugs: ['XA10AB'],
        require: { anyOf: [{ diagnoses: ['E10'] }, { labs: [{ codes: ['HBA1C'], name: '糖化血红蛋白', op: '>=', value: 7, unit: '%' }], confirm: '口服药难以控制' }] },
      },
      { id: 'DAY-3', kind: 'days', level: 'block', title: '限支付14天', maxDays: 14, drugs: ['XB01AC'], window: 'fromFirstUse' },
      { id: 'DAY-4', kind: 'days', level: 'block', title: '单次住院限3天', maxDays: 3, drugs: ['XB01AD'], window: 'admission' },
      { id: 'LIM-1', kind: 'limit', level: 'warn', title: '每日限1次', codes: ['311000001'], maxCount: 1, per: 'day' },
      { id: 'HRB-2', kind: 'herbal', level: 'block', title: '单味不予支付', notAlone: ['T0001'] },
    ],
  },
  'test',
);
const rules = compileRules(library);

const base: Pick<CheckInput, 'type' | 'patient' | 'diagnoses'> = {
  type: 'check',
  patient: { id: 'P1', name: '张三', gender: 'M', birthDate: '1951-08-27', chronicDiseases: [{ code: 'M03900', name: '高血压' }] },
  diagnoses: [{ code: 'I10.x00', name: '原发性高血压' }],
};

const earlier = (code: string, name: string, date: string, days: number) => ({
  rxId: `R-${code}`,
  code,
  name,
  date,
  days,
  qty: 2,
  amount: 60,
  dept: { code: '0402', name: '心内科' },
  doctor: { code: 'D019', name: '王医生' },
});

const checks: CheckInput[] = [
  {
    ...base,
    id: 'outpatient',
    visit: { id: 'V1', type: 'outpatient', medType: '11', date: '2026-11-24' },
    items: [
      { line: '1', code: 'ZA12AAZ017A001010100006', name: '紫龙金片', qty: 2, price: 68.5, days: 14 },
      { line: '2', code: 'XC08CAA053A001010100001', name: '氨氯地平片', qty: 1, price: 30, days: 7 },
      { line: '3', code: 'XC08CAB001A001010100001', name: '硝苯地平片', qty: 1, price: 20, days: 7 },
      { line: '4', code: 'XR05XAA001A001010100001', name: '小儿止咳糖浆', qty: 1, price: 20, days: 3 },
      { line: '5', code: 'XJ01CAA001A001010100001', name: '阿莫西林胶囊', qty: 1, price: 10, days: 7 },
      { line: '6', hospCode: 'H1', name: '黄芪', category: 'herbal', qty: 10 },
      { line: '7', hospCode: 'H2', name: '党参', category: 'herbal', qty: 10 },
      { line: '8', hospCode: 'H3', name: '当归', category: 'herbal', qty: 10 },
    ],
    history: [earlier('XC08CAA053A001010100001', '氨氯地平片', '2026-11-20', 30), earlier('XJ01CAA001A001010100001', '阿莫西林胶囊', '2026-11-10', 14)],
  },
  {
    ...base,
    id: 'chronic',
    visit: { id: 'V2', type: 'outpatient', medType: '14', date: '2026-11-24' },
    items: [
      { line: '1', code: 'XC08CAA053A001010100001', name: '氨氯地平片', qty: 2, price: 30.2, days: 28 },
      { line: '2', code: 'XA10BAE012A001010100003', name: '二甲双胍片', qty: 1, price: 12, days: 28 },
    ],
    history: [earlier('XC08CAA053A001010100001', '氨氯地平片', '2026-03-01', 28)],
  },
  {
    ...base,
    id: 'v2',
    visit: { id: 'ZY3', type: 'inpatient', medType: '21', date: '2026-11-24' },
    items: [
      { line: '1', code: 'XA10ABM012A001010100001', name: '门冬胰岛素', qty: 1, price: 60 },
      { line: '2', code: 'XB01ACA045A001010100001', name: '奥扎格雷钠', qty: 1, price: 20, days: 3 },
      { line: '3', code: 'XB01ADU001A001010100001', name: '尿激酶', qty: 1, price: 20, days: 2 },
      { line: '4', code: '311000001', name: '血液透析', category: 'service', qty: 1 },
    ],
    history: [
      earlier('XB01ACA045A001010100001', '奥扎格雷钠', '2026-11-12', 10),
      { ...earlier('XB01ADU001A001010100001', '尿激酶', '2026-11-23', 2), visitId: 'ZY3' },
      earlier('311000001', '血液透析', '2026-11-24', 1),
    ],
  },
  {
    ...base,
    id: 'v2-herbal',
    visit: { id: 'V4', type: 'outpatient', medType: '11', date: '2026-11-24' },
    items: [{ line: '1', code: 'T000100045', name: '阿胶', category: 'granule', qty: 1 }],
  },
];

test('every detail the engine writes has a Chinese label, and repeats name the earlier prescription', () => {
  const findings: Finding[] = [];
  for (const input of checks) {
    const check = Check.parse(input);
    findings.push(...evaluate(rules, check, mergeHistory(check.history, [])).findings);
  }
  const kinds = new Set(findings.map((finding) => finding.kind));
  for (const kind of ['indication', 'chronic', 'repeat', 'days', 'herbal', 'limit']) assert.ok(kinds.has(kind as Finding['kind']), `no ${kind} finding fired`);
  for (const finding of findings) {
    const described = describeDetails(finding);
    if (Array.isArray(finding.details.confirm)) assert.deepEqual(described.confirm, finding.details.confirm);
    const raw = described.facts.filter((fact) => fact.label === fact.key);
    assert.deepEqual(raw, [], `${finding.ruleId}: keys without a label: ${raw.map((fact) => fact.key).join(', ')}`);
    if (finding.kind === 'repeat' && !finding.details.sameOrder) {
      const first = described.earlier[0];
      assert.ok(first, `${finding.ruleId}: no earlier prescription`);
      assert.equal(first.dept, '心内科');
      assert.equal(first.doctor, '王医生');
      assert.equal(typeof first.daysLeft, 'number');
    }
  }
});
