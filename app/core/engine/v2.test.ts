/**
 * Rules v2 through the engine: every new condition and field at its edges, the three outcomes
 * of an alternative, and the attest action through `resolveChoice`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRules, type CompiledRules } from '../../../rules-cache/compile';
import { validateRules, type RuleInput } from '../../../rules-cache/model';
import type { LedgerItem } from '../../../rules-cache/store-contract';
import { ChoiceError, resolveChoice } from '../decisions';
import { Check, Verdict, type CheckInput, type Finding } from '../protocol/messages';
import { evaluate, mergeHistory } from './index';
import { parseDoctorTitle } from './titles';

const timeout = { timeout: 10_000 };

function drug(generic: string, serial = 1): string {
  return `${generic}A001010100${String(serial).padStart(3, '0')}`;
}

const ALENDRONATE = 'XM05BAA001';
const INSULIN_ASPART = 'XA10ABM012';
const METFORMIN = 'XA10BAE012';
const ALBUMIN = 'XB05AAR001';
const BORTEZOMIB = 'XL01XXB105';
const ENOXAPARIN = 'XB01ABD001';
const OZAGREL = 'XB01ACA045';
const RANIBIZUMAB = 'XS01LAL026';
const NEWBORN_DRUG = 'XA07AAX001';
const METHOTREXATE = 'XL01BAM001';
const FOLIC_ACID = 'XB03BBF001';
/** A 中成药 code of 20 characters, as the national data gives them. */
const ZPATENT = 'ZA12ABF009A001010001';

function compile(rules: RuleInput[]): CompiledRules {
  const { rules: valid, problems } = validateRules(rules);
  assert.deepEqual(problems, []);
  return compileRules({ version: 9, source: 'test', rules: valid });
}

type ItemInput = CheckInput['items'][number];

interface OrderInput {
  items: Array<Partial<ItemInput>>;
  diagnoses?: string[];
  patient?: Partial<CheckInput['patient']>;
  visit?: Partial<CheckInput['visit']>;
  history?: CheckInput['history'];
  procedures?: CheckInput['procedures'];
  labs?: CheckInput['labs'];
}

function order(input: OrderInput): Check {
  return Check.parse({
    type: 'check',
    id: 'c-v2',
    patient: { id: 'P1', gender: 'F', birthDate: '1960-05-10', insurance: '310', ...input.patient },
    visit: {
      id: 'V1',
      type: 'outpatient',
      medType: '11',
      date: '2026-11-24',
      dept: { code: '0301', name: '呼吸内科' },
      doctor: { code: 'D007', name: '李医生' },
      hospitalLevel: 3,
      ...input.visit,
    },
    diagnoses: (input.diagnoses ?? []).map((code, index) => ({ code, name: `诊断${index + 1}`, main: index === 0 })),
    items: input.items.map((item, index) => ({
      line: String(index + 1),
      name: `药品${index + 1}`,
      category: 'drug',
      qty: 1,
      price: 10,
      days: 7,
      ...item,
    })),
    history: input.history ?? [],
    ...(input.procedures !== undefined ? { procedures: input.procedures } : {}),
    ...(input.labs !== undefined ? { labs: input.labs } : {}),
  } satisfies CheckInput);
}

function run(rules: CompiledRules, check: Check, ledger: LedgerItem[] = []) {
  const verdict = evaluate(rules, check, mergeHistory(check.history, ledger));
  Verdict.parse({ ...verdict, elapsedMs: 0 });
  assert.notEqual(verdict.result, 'unchecked', verdict.reason);
  return verdict;
}

function findingsOf(rules: CompiledRules, check: Check, ledger: LedgerItem[] = []): Finding[] {
  return run(rules, check, ledger).findings;
}

function one(findings: Finding[]): Finding {
  assert.equal(findings.length, 1, JSON.stringify(findings));
  return findings[0]!;
}

function indication(require: Record<string, unknown>, extra: Record<string, unknown> = {}): RuleInput {
  return { id: 'IND-V2', kind: 'indication', level: 'block', title: '限定支付', drugs: [ALENDRONATE], require, ...extra } as RuleInput;
}

const alendronate = { code: drug(ALENDRONATE), name: '阿仑膦酸钠片' };

describe('confirm and the three outcomes', timeout, () => {
  const severe = compile([indication({ diagnoses: ['M81'], confirm: '患者为重度骨质疏松' })]);

  test('a clinical condition no code can show asks the doctor to attest, at the rule level', timeout, () => {
    const finding = one(findingsOf(severe, order({ items: [alendronate], diagnoses: ['M81.000'] })));
    assert.equal(finding.level, 'block');
    assert.deepEqual(finding.details.confirm, ['患者为重度骨质疏松']);
    assert.equal(finding.actions[0], 'attest');
    assert.equal(finding.message, '阿仑膦酸钠片属医保限定支付药品，需医生确认：患者为重度骨质疏松。');
  });

  test('a failed coded condition is a failure: no attest offered', timeout, () => {
    const finding = one(findingsOf(severe, order({ items: [alendronate], diagnoses: ['J18.900'] })));
    assert.equal(finding.details.confirm, undefined);
    assert.ok(!finding.actions.includes('attest'));
    assert.match(finding.message, /不在限定诊断范围/);
  });

  test('items[].attested from the HIS: true attests all, a list attests exactly the texts it names', timeout, () => {
    assert.deepEqual(findingsOf(severe, order({ items: [{ ...alendronate, attested: true }], diagnoses: ['M81.000'] })), []);
    assert.deepEqual(findingsOf(severe, order({ items: [{ ...alendronate, attested: ['患者为重度骨质疏松'] }], diagnoses: ['M81.000'] })), []);
    const other = one(findingsOf(severe, order({ items: [{ ...alendronate, attested: ['患者为重度'] }], diagnoses: ['M81.000'] })));
    assert.deepEqual(other.details.confirm, ['患者为重度骨质疏松']);
  });

  test('anyOf with one failed and one attestable branch: a finding to attest naming both', timeout, () => {
    const rules = compile([
      {
        id: 'IND-INS',
        kind: 'indication',
        level: 'block',
        title: '门冬胰岛素限1型或难控2型糖尿病',
        drugs: [INSULIN_ASPART],
        require: {
          anyOf: [{ diagnoses: ['E10'] }, { diagnoses: ['E11'], confirm: '口服药难以控制' }],
        },
      },
    ]);
    const finding = one(findingsOf(rules, order({ items: [{ code: drug(INSULIN_ASPART), name: '门冬胰岛素' }], diagnoses: ['E11.900'] })));
    assert.deepEqual(finding.details.confirm, ['口服药难以控制']);
    assert.ok(finding.actions.includes('attest'));
    const unmet = finding.details.unmet as Array<{ status: string; failed: string[]; confirm: string[] }>;
    assert.deepEqual(
      unmet.map((entry) => entry.status),
      ['failed', 'attest'],
    );
    assert.match(unmet[0]!.failed[0]!, /E10/);
    // Type 1: the first branch is met, nothing fires.
    assert.deepEqual(findingsOf(rules, order({ items: [{ code: drug(INSULIN_ASPART) }], diagnoses: ['E10.900'] })), []);
    // Neither: every branch failed, said per branch, no attest.
    const failed = one(findingsOf(rules, order({ items: [{ code: drug(INSULIN_ASPART), name: '门冬胰岛素' }], diagnoses: ['I10.x00'] })));
    assert.ok(!failed.actions.includes('attest'));
    assert.match(failed.message, /不符合任一限定条件/);
  });

  test('fields outside anyOf apply to every branch', timeout, () => {
    const rules = compile([indication({ hospitalLevelMin: 2, anyOf: [{ diagnoses: ['M81'] }, { diagnoses: ['M80'] }] })]);
    assert.deepEqual(findingsOf(rules, order({ items: [alendronate], diagnoses: ['M80.000'] })), []);
    const finding = one(findingsOf(rules, order({ items: [alendronate], diagnoses: ['M80.000'], visit: { hospitalLevel: 1 } })));
    assert.match(finding.message, /二级及以上/);
  });
});

describe('attest through the doctor’s choice', timeout, () => {
  const rules = compile([indication({ confirm: ['患者为重度骨质疏松', '无法口服'] })]);
  const verdict = () => run(rules, order({ items: [alendronate] }));

  test('attest resolves a block without a reason and carries the attested texts', timeout, () => {
    const { findings } = verdict();
    const resolved = resolveChoice(findings, { id: 'c-v2', outcome: 'proceed', lines: [{ line: '1', action: 'attest' }], reasons: [] });
    assert.deepEqual(resolved.lines, [{ line: '1', action: 'attest', attested: ['患者为重度骨质疏松', '无法口服'] }]);
    assert.deepEqual(resolved.reasons, []);
  });

  test('attested texts must be ones asked for and cover them all', timeout, () => {
    const { findings } = verdict();
    assert.throws(
      () => resolveChoice(findings, { id: 'c-v2', outcome: 'proceed', lines: [{ line: '1', action: 'attest', attested: ['别的'] }], reasons: [] }),
      (error: unknown) => error instanceof ChoiceError && error.code === 'unknown_attested',
    );
    assert.throws(
      () => resolveChoice(findings, { id: 'c-v2', outcome: 'proceed', lines: [{ line: '1', action: 'attest', attested: ['无法口服'] }], reasons: [] }),
      (error: unknown) => error instanceof ChoiceError && error.code === 'attest_incomplete',
    );
  });

  test('attest is refused where no finding offers it', timeout, () => {
    const failing = compile([indication({ diagnoses: ['M81'] })]);
    const { findings } = run(failing, order({ items: [alendronate], diagnoses: ['J18.900'] }));
    assert.throws(
      () => resolveChoice(findings, { id: 'c-v2', outcome: 'proceed', lines: [{ line: '1', action: 'attest' }], reasons: [] }),
      (error: unknown) => error instanceof ChoiceError && error.code === 'action_not_offered',
    );
  });
});

describe('labs', timeout, () => {
  const rules = compile([
    {
      id: 'IND-ALB',
      kind: 'indication',
      level: 'block',
      title: '人血白蛋白限低蛋白血症',
      drugs: [ALBUMIN],
      require: { labs: [{ codes: ['ALB'], name: '白蛋白', op: '<', value: 30, unit: 'g/L', withinDays: 7 }] },
    },
  ]);
  const albumin = { code: drug(ALBUMIN), name: '人血白蛋白' };

  test('the newest result within the window decides', timeout, () => {
    assert.deepEqual(
      findingsOf(rules, order({ items: [albumin], labs: [{ code: 'ALB', value: 35, date: '2026-11-20' }, { code: 'alb', value: 28, date: '2026-11-23' }] })),
      [],
    );
    const failed = one(
      findingsOf(rules, order({ items: [albumin], labs: [{ code: 'ALB', value: 28, date: '2026-11-20' }, { code: 'ALB', value: 35, unit: 'g/L', date: '2026-11-23' }] })),
    );
    assert.equal(failed.details.confirm, undefined);
    assert.match(failed.message, /白蛋白 35 g\/L\(11月23日\)，不符合 白蛋白 < 30 g\/L/);
  });

  test('window edge: day 7 counts, day 8 is stale and becomes a condition to attest', timeout, () => {
    assert.deepEqual(findingsOf(rules, order({ items: [albumin], labs: [{ code: 'ALB', value: 25, date: '2026-11-17' }] })), []);
    const stale = one(findingsOf(rules, order({ items: [albumin], labs: [{ code: 'ALB', value: 25, date: '2026-11-16' }] })));
    assert.deepEqual(stale.details.confirm, ['白蛋白 < 30 g/L']);
  });

  test('no labs at all, or only other codes: attest the condition in words', timeout, () => {
    assert.deepEqual(one(findingsOf(rules, order({ items: [albumin] }))).details.confirm, ['白蛋白 < 30 g/L']);
    assert.deepEqual(one(findingsOf(rules, order({ items: [albumin], labs: [{ code: 'HB', value: 90 }] }))).details.confirm, ['白蛋白 < 30 g/L']);
  });

  test('a result without a date is of the visit day', timeout, () => {
    assert.deepEqual(findingsOf(rules, order({ items: [albumin], labs: [{ code: 'ALB', value: 29.9 }] })), []);
  });
});

describe('procedures', timeout, () => {
  const rules = compile([
    {
      id: 'IND-OP',
      kind: 'indication',
      level: 'block',
      title: '低分子肝素限关节置换术后',
      drugs: [ENOXAPARIN],
      require: { procedures: { codes: ['81.51', '81.54'], name: '髋/膝关节置换术' } },
    },
  ]);
  const enoxaparin = { code: drug(ENOXAPARIN), name: '依诺肝素' };

  test('absent field: attest; empty list: failed', timeout, () => {
    assert.deepEqual(one(findingsOf(rules, order({ items: [enoxaparin] }))).details.confirm, ['已行髋/膝关节置换术(本次或近30天内)']);
    const failed = one(findingsOf(rules, order({ items: [enoxaparin], procedures: [] })));
    assert.ok(!failed.actions.includes('attest'));
    assert.match(failed.message, /未见髋\/膝关节置换术记录/);
  });

  test('this visit or within 30 days before it; day 31 does not count; dots are ignored', timeout, () => {
    assert.deepEqual(findingsOf(rules, order({ items: [enoxaparin], procedures: [{ code: '81.5101' }] })), []);
    assert.deepEqual(findingsOf(rules, order({ items: [enoxaparin], procedures: [{ code: '8154', date: '2026-10-25' }] })), []);
    one(findingsOf(rules, order({ items: [enoxaparin], procedures: [{ code: '81.54', date: '2026-10-24' }] })));
  });
});

describe('prescriber', timeout, () => {
  const rules = compile([
    {
      id: 'IND-DR',
      kind: 'indication',
      level: 'block',
      title: '硼替佐米限血液专科副主任医师以上',
      drugs: [BORTEZOMIB],
      require: { prescriber: { depts: ['03'], deptNames: '血液科', titleMin: 'associateChief' } },
    },
  ]);
  const bortezomib = { code: drug(BORTEZOMIB), name: '硼替佐米' };

  test('equal titles meet the minimum, whichever dictionary the HIS uses', timeout, () => {
    for (const title of ['232', '副主任医师', 2, 'associateChief', '231', 1]) {
      assert.deepEqual(findingsOf(rules, order({ items: [bortezomib], visit: { doctor: { code: 'D1', title } } })), [], String(title));
    }
  });

  test('a lower title fails; a missing title or department is attested', timeout, () => {
    const lower = one(findingsOf(rules, order({ items: [bortezomib], visit: { doctor: { code: 'D1', name: '王医生', title: '233' } } })));
    assert.match(lower.message, /限副主任医师及以上处方，王医生为主治医师/);
    const missing = one(findingsOf(rules, order({ items: [bortezomib] })));
    assert.deepEqual(missing.details.confirm, ['处方医师为副主任医师及以上']);
    const noDept = one(findingsOf(rules, order({ items: [bortezomib], visit: { dept: undefined, doctor: { code: 'D1', title: 1 } } })));
    assert.deepEqual(noDept.details.confirm, ['处方科室为血液科']);
    const otherDept = one(findingsOf(rules, order({ items: [bortezomib], visit: { dept: { code: '0402', name: '心内科' }, doctor: { code: 'D1', title: 1 } } })));
    assert.match(otherDept.message, /限血液科处方，本次为心内科/);
  });

  test('titles as levels can be read the other way round', timeout, () => {
    assert.equal(parseDoctorTitle(1), 'chief');
    assert.equal(parseDoctorTitle(1, true), 'assistant');
    assert.equal(parseDoctorTitle('主治'), 'attending');
    assert.equal(parseDoctorTitle('护师'), undefined);
  });
});

describe('patient: age in days, pregnancy', timeout, () => {
  test('ageDaysMax 28 holds on day 28, not 29 (the day of birth is day 0)', timeout, () => {
    const rules = compile([
      { id: 'IND-NB', kind: 'indication', level: 'block', title: '限新生儿', drugs: [NEWBORN_DRUG], require: { ageDaysMax: 28 } },
    ]);
    const item = { code: drug(NEWBORN_DRUG), name: '新生儿用药' };
    assert.deepEqual(findingsOf(rules, order({ items: [item], patient: { birthDate: '2026-10-27' } })), []);
    const finding = one(findingsOf(rules, order({ items: [item], patient: { birthDate: '2026-10-26' } })));
    assert.match(finding.message, /患者出生第 29 天/);
    assert.deepEqual(findingsOf(rules, order({ items: [item], patient: { birthDate: '2026-11-24' } })), []);
  });

  test('pregnancy: absent is attested, a known other status fails', timeout, () => {
    const rules = compile([indication({ pregnancy: ['none'] })]);
    assert.deepEqual(one(findingsOf(rules, order({ items: [alendronate] }))).details.confirm, ['患者为非孕期、非哺乳期患者']);
    assert.deepEqual(findingsOf(rules, order({ items: [alendronate], patient: { pregnancy: 'none' } })), []);
    assert.match(one(findingsOf(rules, order({ items: [alendronate], patient: { pregnancy: 'lactating' } }))).message, /本患者为哺乳期妇女/);
  });
});

describe('co-prescription, excluded diagnoses, prior drugs', timeout, () => {
  test('coPrescribed: another line of the same order must be one of the drugs', timeout, () => {
    const rules = compile([
      { id: 'IND-CO', kind: 'indication', level: 'warn', title: '须联用', drugs: [METHOTREXATE], require: { coPrescribed: { drugs: [FOLIC_ACID], name: '叶酸' } } },
    ]);
    const mtx = { code: drug(METHOTREXATE), name: '甲氨蝶呤' };
    assert.match(one(findingsOf(rules, order({ items: [mtx] }))).message, /须与叶酸联合使用/);
    assert.deepEqual(findingsOf(rules, order({ items: [mtx, { code: drug(FOLIC_ACID), name: '叶酸片' }] })), []);
  });

  test('excludeDiagnoses: any matching diagnosis fails', timeout, () => {
    const rules = compile([indication({ excludeDiagnoses: ['N18.5'] })]);
    assert.deepEqual(findingsOf(rules, order({ items: [alendronate], diagnoses: ['M81.000'] })), []);
    assert.match(one(findingsOf(rules, order({ items: [alendronate], diagnoses: ['M81.000', 'N18.500'] }))).message, /属于不予支付的诊断/);
  });

  test('priorDrugs: within 180 days includes day 180; minDays adds the days', timeout, () => {
    const rules = compile([
      {
        id: 'IND-2ND',
        kind: 'indication',
        level: 'block',
        title: '二线降糖药',
        drugs: [INSULIN_ASPART],
        require: { priorDrugs: { drugs: ['XA10BA'], name: '一线降糖药', withinDays: 180 } },
      },
    ]);
    const item = { code: drug(INSULIN_ASPART), name: '门冬胰岛素' };
    const history = (date: string, days = 30) => [{ rxId: 'R1', code: drug(METFORMIN), name: '二甲双胍', date, days }];
    assert.deepEqual(findingsOf(rules, order({ items: [item], history: history('2026-05-28') })), []);
    const finding = one(findingsOf(rules, order({ items: [item], history: history('2026-05-27') })));
    assert.match(finding.message, /未见一线降糖药使用记录\(近180天\)/);
    const ledger: LedgerItem[] = [{ rxId: 'V0/c-0#1', code: drug(METFORMIN), category: 'drug', date: '2026-10-01', days: 14, channel: 'insured' }];
    assert.deepEqual(findingsOf(rules, order({ items: [item] }), ledger), []);
    const atLeast = compile([
      { id: 'IND-2ND', kind: 'indication', level: 'block', title: '二线', drugs: [INSULIN_ASPART], require: { priorDrugs: { drugs: ['XA10BA'], minDays: 60 } } },
    ]);
    assert.match(one(findingsOf(atLeast, order({ items: [item], history: history('2026-10-01') }))).message, /共用 30 天，不足 60 天/);
    assert.deepEqual(findingsOf(atLeast, order({ items: [item], history: [...history('2026-10-01'), { ...history('2026-09-01')[0]!, rxId: 'R2' }] })), []);
  });

  test('priorDrugs never counts the item’s own generic, even inside the named class', timeout, () => {
    const rules = compile([
      { id: 'IND-TKI', kind: 'indication', level: 'block', title: '二线TKI', drugs: ['XL01EAD002'], require: { priorDrugs: { drugs: ['XL01EA'], name: '伊马替尼' } } },
    ]);
    const item = { code: drug('XL01EAD002'), name: '达沙替尼' };
    const own = [{ rxId: 'R1', code: drug('XL01EAD002', 2), date: '2026-10-01', days: 30 }];
    assert.match(one(findingsOf(rules, order({ items: [item], history: own }))).message, /未见伊马替尼使用记录/);
    const first = [{ rxId: 'R2', code: drug('XL01EAY001'), date: '2026-06-01', days: 90 }];
    assert.deepEqual(findingsOf(rules, order({ items: [item], history: first })), []);
  });
});

describe('days windows', timeout, () => {
  const ozagrel = { code: drug(OZAGREL), name: '奥扎格雷钠' };
  const firstUse = compile([
    { id: 'DAY-OZ', kind: 'days', level: 'block', title: '奥扎格雷限支付14天', maxDays: 14, drugs: [OZAGREL], window: 'fromFirstUse' },
  ]);

  test('fromFirstUse: the course starts at the first use; the message names it and the day of the course', timeout, () => {
    const history = [
      { rxId: 'R1', code: drug(OZAGREL), date: '2026-11-09', days: 3 },
      { rxId: 'R2', code: drug(OZAGREL), date: '2026-11-12', days: 5 },
    ];
    const finding = one(findingsOf(firstUse, order({ items: [{ ...ozagrel, days: 1 }], history })));
    assert.equal(finding.message, '奥扎格雷钠限支付14天：11月9日首次使用，本次为第16天，加上本次 1 天共 16 天。');
    // A visit on 11-22 is day 14 of the course: 13 days since the first use plus 1 is 14, at the cap.
    assert.deepEqual(findingsOf(firstUse, order({ items: [{ ...ozagrel, days: 1 }], history, visit: { date: '2026-11-22' } })), []);
  });

  test('fromFirstUse: a gap longer than gapDays starts a new course', timeout, () => {
    const history = [{ rxId: 'R1', code: drug(OZAGREL), date: '2026-09-01', days: 14 }];
    // 09-15 to 11-24 is 70 days: a new course.
    assert.deepEqual(findingsOf(firstUse, order({ items: [ozagrel], history })), []);
    const near = [{ rxId: 'R1', code: drug(OZAGREL), date: '2026-11-01', days: 14 }];
    // 11-15 to 11-24 is 9 days: the same course, day 24.
    assert.match(one(findingsOf(firstUse, order({ items: [ozagrel], history: near }))).message, /11月1日首次使用，本次为第24天/);
  });

  test('admission: days of this stay only, through history visitId and ledger rows of the visit', timeout, () => {
    const rules = compile([
      { id: 'DAY-ADM', kind: 'days', level: 'block', title: '单次住院支付不超过3天', maxDays: 3, drugs: [OZAGREL], window: 'admission' },
    ]);
    const visit = { id: 'ZY1', type: 'inpatient' as const, medType: '21' };
    const history = [
      { rxId: 'R1', code: drug(OZAGREL), date: '2026-11-22', days: 1, visitId: 'ZY1' },
      { rxId: 'R0', code: drug(OZAGREL), date: '2026-10-01', days: 5, visitId: 'ZY0' },
    ];
    assert.deepEqual(findingsOf(rules, order({ items: [{ ...ozagrel, days: 1 }], history, visit })), []);
    const ledger: LedgerItem[] = [{ rxId: 'ZY1/c-9#1', code: drug(OZAGREL), category: 'drug', date: '2026-11-23', days: 1, channel: 'insured' }];
    const finding = one(findingsOf(rules, order({ items: [{ ...ozagrel, days: 2 }], history, visit }), ledger));
    assert.match(finding.message, /本次住院已用 2 天，加上本次 2 天共 4 天/);
  });
});

describe('limit', timeout, () => {
  const dialysis = { code: '311000001', name: '血液透析', category: 'service' as const, days: undefined };

  test('maxCount per day counts this order and today’s earlier lines; codes start with digits', timeout, () => {
    const rules = compile([{ id: 'LIM-D', kind: 'limit', level: 'warn', title: '血液透析每日限1次', codes: ['311000001'], maxCount: 1, per: 'day' }]);
    assert.deepEqual(findingsOf(rules, order({ items: [dialysis] })), []);
    const twice = one(findingsOf(rules, order({ items: [dialysis, { ...dialysis, name: '血液透析(二)' }] })));
    assert.deepEqual(twice.lines, ['1', '2']);
    assert.ok(twice.actions.includes('selfpay'));
    const earlier = [{ rxId: 'R1', code: '311000001', date: '2026-11-24' }];
    assert.match(one(findingsOf(rules, order({ items: [dialysis], history: earlier }))).message, /每日最多支付 1次：此前已用 1次/);
    assert.deepEqual(findingsOf(rules, order({ items: [dialysis], history: [{ ...earlier[0]!, date: '2026-11-23' }] })), []);
  });

  test('maxQty lifetime adds quantities from history and ledger; self-pay lines do not count', timeout, () => {
    const rules = compile([{ id: 'LIM-Q', kind: 'limit', level: 'block', title: '累计最多支付9支', drugs: ['XS01LA'], maxQty: 9, per: 'lifetime' }]);
    const item = { code: drug(RANIBIZUMAB), name: '雷珠单抗', qty: 2, unit: '支' };
    const history = [{ rxId: 'R1', code: drug(RANIBIZUMAB), date: '2025-03-01', qty: 5 }, { rxId: 'R2', code: drug(RANIBIZUMAB), date: '2025-06-01', qty: 3, channel: 'selfpay' as const }];
    assert.deepEqual(findingsOf(rules, order({ items: [item], history })), []);
    const ledger: LedgerItem[] = [{ rxId: 'V9/c-1#1', code: drug(RANIBIZUMAB), category: 'drug', date: '2026-01-10', qty: 3, channel: 'insured' }];
    const finding = one(findingsOf(rules, order({ items: [item], history }), ledger));
    assert.equal(finding.details.total, 10);
  });

  test('per visit and per year', timeout, () => {
    const perVisit = compile([{ id: 'LIM-V', kind: 'limit', level: 'warn', title: '每次住院限2次', codes: ['311000001'], maxCount: 2, per: 'admission' }]);
    const history = [
      { rxId: 'R1', code: '311000001', date: '2026-11-20', visitId: 'ZY1' },
      { rxId: 'R2', code: '311000001', date: '2026-11-21', visitId: 'ZY0' },
    ];
    assert.deepEqual(findingsOf(perVisit, order({ items: [dialysis], history, visit: { id: 'ZY1', type: 'inpatient' } })), []);
    one(findingsOf(perVisit, order({ items: [dialysis], history: [...history, { rxId: 'R3', code: '311000001', date: '2026-11-22', visitId: 'ZY1' }], visit: { id: 'ZY1', type: 'inpatient' } })));
    const perYear = compile([{ id: 'LIM-Y', kind: 'limit', level: 'warn', title: '每年限1次', codes: ['311000001'], maxCount: 1, per: 'year' }]);
    assert.deepEqual(findingsOf(perYear, order({ items: [dialysis], history: [{ rxId: 'R1', code: '311000001', date: '2025-12-31' }] })), []);
    one(findingsOf(perYear, order({ items: [dialysis], history: [{ rxId: 'R1', code: '311000001', date: '2026-01-01' }] })));
  });
});

describe('herbal: granules and notAlone', timeout, () => {
  const piece = (code: string, name: string, category: 'herbal' | 'granule' = 'herbal') => ({ code, name, category, days: 7 });

  test('granules count with herbal pieces unless the rule says otherwise', timeout, () => {
    const items = [piece('T001', '黄芪'), piece('T002', '当归', 'granule'), piece('T003', '川芎', 'granule')];
    const counted = compile([{ id: 'HRB', kind: 'herbal', level: 'warn', title: '超2味', maxItems: 2 }]);
    assert.equal(one(findingsOf(counted, order({ items }))).details.count, 3);
    const piecesOnly = compile([{ id: 'HRB', kind: 'herbal', level: 'warn', title: '超2味', maxItems: 2, countGranules: false }]);
    assert.deepEqual(findingsOf(piecesOnly, order({ items })), []);
  });

  test('notAlone: a single piece, or only such pieces, is a finding; mixed with others is not', timeout, () => {
    const rules = compile([{ id: 'HRB-NA', kind: 'herbal', level: 'block', title: '单味不予支付', notAlone: ['T0001'] }]);
    const single = one(findingsOf(rules, order({ items: [piece('T000100045', '阿胶')] })));
    assert.equal(single.message, '阿胶单味使用不予医保支付。');
    assert.ok(single.actions.includes('selfpay'));
    const onlySuch = one(findingsOf(rules, order({ items: [piece('T000100045', '阿胶'), piece('T000100046', '鹿角胶', 'granule')] })));
    assert.deepEqual(onlySuch.lines, ['1', '2']);
    assert.deepEqual(findingsOf(rules, order({ items: [piece('T000100045', '阿胶'), piece('T002', '当归')] })), []);
    // A drug line beside the piece does not make a herbal prescription.
    one(findingsOf(rules, order({ items: [piece('T000100045', '阿胶'), alendronate] })));
  });
});

describe('item codes of every kind', timeout, () => {
  test('a 20-character 中成药 code is matched by prefix; services by digit prefixes', timeout, () => {
    assert.equal(ZPATENT.length, 20);
    const rules = compile([
      { id: 'IND-Z', kind: 'indication', level: 'block', title: '复方斑蝥胶囊限肿瘤', codes: ['ZA12ABF009'], require: { diagnoses: ['C00-D48'] } },
      { id: 'IND-S', kind: 'indication', level: 'warn', title: '项目限女性', codes: ['0011'], require: { gender: 'F' } },
    ]);
    assert.deepEqual(findingsOf(rules, order({ items: [{ code: ZPATENT, name: '复方斑蝥胶囊' }], diagnoses: ['C16.900'] })), []);
    one(findingsOf(rules, order({ items: [{ code: ZPATENT, name: '复方斑蝥胶囊' }], diagnoses: ['K29.700'] })));
    const service = one(findingsOf(rules, order({ items: [{ code: '001102000010000', name: '某检查', category: 'service' }], patient: { gender: 'M' } })));
    assert.equal(service.ruleId, 'IND-S');
  });
});

describe('validation names the rule and the field', timeout, () => {
  test('bad v2 fields are reported with their paths', timeout, () => {
    const { problems } = validateRules([
      indication({ labs: [{ codes: ['ALB'], name: '白蛋白', op: '=', value: 30 }] }),
      { ...indication({ anyOf: [{}] }), id: 'IND-EMPTY' },
      { id: 'DAY-X', kind: 'days', level: 'warn', title: 't', maxDays: 14, window: 'fromFirstUse' },
      { id: 'LIM-X', kind: 'limit', level: 'warn', title: 't', codes: ['0011'], per: 'day' },
      { id: 'HRB-X', kind: 'herbal', level: 'warn', title: 't' },
      { ...indication({ ageDaysMin: 30, ageDaysMax: 28 }), id: 'IND-DAYS' },
    ] as unknown[]);
    const seen = problems.map((problem) => `${problem.ruleId} ${problem.field}`);
    assert.ok(seen.includes('IND-V2 require.labs.0.op'), seen.join('\n'));
    assert.ok(seen.includes('IND-EMPTY require.anyOf.0'), seen.join('\n'));
    assert.ok(seen.includes('DAY-X window'), seen.join('\n'));
    assert.ok(seen.includes('LIM-X maxQty'), seen.join('\n'));
    assert.ok(seen.includes('HRB-X maxItems'), seen.join('\n'));
    assert.ok(seen.includes('IND-DAYS require.ageDaysMin'), seen.join('\n'));
  });
});
