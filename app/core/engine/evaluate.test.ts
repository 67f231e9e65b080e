import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileRules, type CompiledRules } from '../../../rules-cache/compile';
import { validateRules, type RuleInput } from '../../../rules-cache/model';
import type { LedgerItem } from '../../../rules-cache/store-contract';
import { Check, Verdict, type CheckInput, type Finding } from '../protocol/messages';
import { evaluate, mergeHistory, UNREGISTERED_CHRONIC_RULE_ID } from './index';

/** A full 23-character national code from a 10-character generic prefix. */
function drug(generic: string, serial = 1, form = 'A001'): string {
  const code = `${generic}${form}010100${String(serial).padStart(3, '0')}`;
  assert.equal(code.length, 23);
  return code;
}

const AMLODIPINE = 'XC08CAA053';
const NIFEDIPINE = 'XC08CAN012';
const LOSARTAN = 'XC09CAL031';
const METFORMIN = 'XA10BAE012';
const INSULIN = 'XA10ABY001';
const ZILONGJIN = 'ZA12AAZ017';
const ESTAZOLAM = 'XN05CDA021';

function compile(rules: RuleInput[], version = 3): CompiledRules {
  const { rules: valid, problems } = validateRules(rules);
  assert.deepEqual(problems, []);
  return compileRules({ version, source: 'test', rules: valid });
}

type ItemInput = CheckInput['items'][number];
type HistoryInput = NonNullable<CheckInput['history']>[number];

interface OrderInput {
  items: Array<Partial<ItemInput> & { code?: string }>;
  diagnoses?: string[];
  patient?: Partial<CheckInput['patient']>;
  visit?: Partial<CheckInput['visit']>;
  history?: HistoryInput[];
}

function order(input: OrderInput): Check {
  return Check.parse({
    type: 'check',
    id: 'c-test',
    patient: { id: 'P1', gender: 'M', birthDate: '1960-05-10', insurance: '310', ...input.patient },
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
  } satisfies CheckInput);
}

function run(rules: CompiledRules | null, check: Check, ledger: LedgerItem[] = []) {
  const verdict = evaluate(rules, check, mergeHistory(check.history, ledger));
  // Every verdict must be a valid protocol message once the caller adds its timing.
  Verdict.parse({ ...verdict, elapsedMs: 0 });
  return verdict;
}

function only(findings: Finding[], ruleId: string): Finding {
  const matching = findings.filter((finding) => finding.ruleId === ruleId);
  assert.equal(matching.length, 1, `expected one ${ruleId} finding, got ${matching.length}: ${JSON.stringify(findings)}`);
  return matching[0]!;
}

function ruleIds(findings: Finding[]): string[] {
  return findings.map((finding) => finding.ruleId);
}

const lungCancerOnly: RuleInput = {
  id: 'IND-1',
  kind: 'indication',
  level: 'block',
  title: '紫龙金片限肺癌',
  drugs: [ZILONGJIN],
  require: { diagnoses: ['C34'] },
  basis: '限肺癌',
};

describe('verdict', () => {
  test('unchecked with a reason when no rules are loaded', () => {
    const verdict = run(null, order({ items: [{ code: drug(ZILONGJIN) }] }));
    assert.equal(verdict.result, 'unchecked');
    assert.match(verdict.reason ?? '', /规则库/);
    assert.deepEqual(verdict.findings, []);
  });

  test('unchecked when the library is empty or has only disabled rules', () => {
    const empty = run(compile([]), order({ items: [{ code: drug(ZILONGJIN) }] }));
    assert.equal(empty.result, 'unchecked');
    assert.deepEqual(empty.rules, { version: 3, source: 'test' });
    const disabled = run(compile([{ ...lungCancerOnly, enabled: false } as RuleInput]), order({ items: [{ code: drug(ZILONGJIN) }] }));
    assert.equal(disabled.result, 'unchecked');
  });

  test('pass with the library version when nothing fires', () => {
    const verdict = run(compile([lungCancerOnly]), order({ items: [{ code: drug(ZILONGJIN) }], diagnoses: ['C34.900'] }));
    assert.equal(verdict.result, 'pass');
    assert.equal(verdict.id, 'c-test');
    assert.deepEqual(verdict.findings, []);
    assert.deepEqual(verdict.rules, { version: 3, source: 'test' });
    assert.equal(verdict.chronic, undefined);
  });

  test('the result is the worst level, blocks come first and ids are f1, f2, …', () => {
    const rules = compile([
      { id: 'DAY', kind: 'days', level: 'warn', title: '超7日', maxDays: 7 },
      lungCancerOnly,
    ]);
    const verdict = run(rules, order({ items: [{ code: drug(AMLODIPINE), days: 14 }, { code: drug(ZILONGJIN), days: 14 }] }));
    assert.equal(verdict.result, 'block');
    assert.deepEqual(
      verdict.findings.map((finding) => [finding.findingId, finding.ruleId, finding.lines]),
      [
        ['f1', 'IND-1', ['2']],
        ['f2', 'DAY', ['1']],
        ['f3', 'DAY', ['2']],
      ],
    );
    const warnOnly = run(rules, order({ items: [{ code: drug(AMLODIPINE), days: 14 }] }));
    assert.equal(warnOnly.result, 'warn');
  });

  test('the same inputs give the same verdict', () => {
    const rules = compile([lungCancerOnly, { id: 'DAY', kind: 'days', level: 'warn', title: '超7日', maxDays: 7 }]);
    const check = order({ items: [{ code: drug(ZILONGJIN), days: 14 }] });
    assert.deepEqual(run(rules, check), run(rules, check));
  });
});

describe('rule applicability', () => {
  const withScope = (extra: Partial<RuleInput>): CompiledRules => compile([{ ...lungCancerOnly, ...extra } as RuleInput]);
  const fires = (rules: CompiledRules, input: Partial<OrderInput> = {}) =>
    run(rules, order({ items: [{ code: drug(ZILONGJIN) }], diagnoses: ['J18.900'], ...input })).findings.length > 0;

  test('disabled rules never fire', () => {
    assert.ok(!fires(withScope({ enabled: false })));
  });

  test('effective dates are inclusive at both ends', () => {
    const rules = withScope({ effective: { from: '2026-11-24', to: '2026-12-31' } });
    assert.ok(fires(rules));
    assert.ok(!fires(rules, { visit: { date: '2026-11-23' } }));
    assert.ok(fires(rules, { visit: { date: '2026-12-31' } }));
    assert.ok(!fires(rules, { visit: { date: '2027-01-01' } }));
  });

  test('scope: visit types, medical types, insurance, hospital levels and departments', () => {
    assert.ok(fires(withScope({ scope: { visitTypes: ['outpatient'] } })));
    assert.ok(!fires(withScope({ scope: { visitTypes: ['inpatient'] } })));
    assert.ok(fires(withScope({ scope: { medTypes: ['11', '14'] } })));
    assert.ok(!fires(withScope({ scope: { medTypes: ['14'] } })));
    assert.ok(!fires(withScope({ scope: { medTypes: ['11'] } }), { visit: { medType: undefined } }));
    assert.ok(fires(withScope({ scope: { insurance: ['310'] } })));
    assert.ok(!fires(withScope({ scope: { insurance: ['390'] } })));
    assert.ok(fires(withScope({ scope: { hospitalLevels: [3] } })));
    assert.ok(!fires(withScope({ scope: { hospitalLevels: [1, 2] } })));
    assert.ok(fires(withScope({ scope: { depts: ['0301'] } })));
    assert.ok(!fires(withScope({ scope: { depts: ['0402'] } })));
    assert.ok(!fires(withScope({ scope: { depts: ['0301'] } }), { visit: { dept: undefined } }));
  });

  test('a rule reached through several prefixes of one code fires once', () => {
    const rules = compile([{ ...lungCancerOnly, drugs: ['ZA12', ZILONGJIN, drug(ZILONGJIN)] } as RuleInput]);
    assert.equal(run(rules, order({ items: [{ code: drug(ZILONGJIN) }] })).findings.length, 1);
  });
});

describe('indication', () => {
  test('fires without a qualifying diagnosis and says which requirement failed', () => {
    const verdict = run(compile([lungCancerOnly]), order({ items: [{ code: drug(ZILONGJIN), name: '紫龙金片' }], diagnoses: ['J18.900'] }));
    const finding = only(verdict.findings, 'IND-1');
    assert.equal(finding.kind, 'indication');
    assert.equal(finding.level, 'block');
    assert.deepEqual(finding.lines, ['1']);
    assert.equal(finding.title, '紫龙金片限肺癌');
    assert.equal(finding.basis, '限肺癌');
    assert.match(finding.message, /紫龙金片/);
    assert.match(finding.message, /J18\.900/);
    assert.match(finding.message, /C34/);
    assert.deepEqual(finding.actions, ['selfpay', 'remove', 'revise']);
    const failed = finding.details.failed as Array<{ requirement: string; expected: unknown }>;
    assert.deepEqual(
      failed.map((failure) => [failure.requirement, failure.expected]),
      [['diagnoses', ['C34']]],
    );
  });

  test('any one matching diagnosis meets the requirement, including ranges and extensions', () => {
    const rules = compile([{ ...lungCancerOnly, require: { diagnoses: ['C15-C26', 'C34'] } } as RuleInput]);
    const firesWith = (diagnoses: string[]) => run(rules, order({ items: [{ code: drug(ZILONGJIN) }], diagnoses })).findings.length > 0;
    assert.ok(!firesWith(['J18.900', 'C34.900']));
    assert.ok(!firesWith(['c16.9 00x001']));
    assert.ok(!firesWith(['C26.900']));
    assert.ok(firesWith(['C27.000']));
    assert.ok(firesWith([]));
  });

  test('a missing diagnosis list says no diagnosis was entered', () => {
    const finding = run(compile([lungCancerOnly]), order({ items: [{ code: drug(ZILONGJIN) }] })).findings[0]!;
    assert.match(finding.message, /未录入诊断/);
  });

  test('self-pay items are exempt', () => {
    const verdict = run(compile([lungCancerOnly]), order({ items: [{ code: drug(ZILONGJIN), channel: 'selfpay' }] }));
    assert.equal(verdict.result, 'pass');
  });

  test('no selfpay action when the rule does not allow it; continue on a warning', () => {
    const verdict = run(
      compile([{ ...lungCancerOnly, level: 'warn', selfPay: false } as RuleInput]),
      order({ items: [{ code: drug(ZILONGJIN) }] }),
    );
    assert.deepEqual(verdict.findings[0]!.actions, ['continue', 'remove', 'revise']);
  });

  test('hospital codes reach rules for items without a national code', () => {
    const rules = compile([{ ...lungCancerOnly, drugs: [], hospCodes: ['yp0451'] } as RuleInput]);
    assert.equal(run(rules, order({ items: [{ code: undefined, hospCode: 'YP0451' }] })).result, 'block');
    assert.equal(run(rules, order({ items: [{ code: drug(ZILONGJIN), hospCode: ' yp0451 ' }] })).result, 'block');
    assert.equal(run(rules, order({ items: [{ code: undefined, hospCode: 'YP0452' }] })).result, 'pass');
  });

  describe('age in whole years at the visit date', () => {
    const children = compile([
      { id: 'CHILD', kind: 'indication', level: 'block', title: '限儿童', drugs: ['XH01AC'], require: { ageMax: 17 } },
    ]);
    const fires = (birthDate: string, date: string) =>
      run(children, order({ items: [{ code: drug('XH01ACR018') }], patient: { birthDate }, visit: { date } })).findings.length > 0;

    test('17 until the day before the 18th birthday; 18 on the birthday itself', () => {
      assert.ok(!fires('2008-11-25', '2026-11-24'));
      assert.ok(fires('2008-11-24', '2026-11-24'));
      assert.ok(fires('2008-01-01', '2026-11-24'));
    });

    test('born on 29 February: a year is completed on 1 March in common years', () => {
      assert.ok(!fires('2008-02-29', '2026-02-28'));
      assert.ok(fires('2008-02-29', '2026-03-01'));
    });

    test('ageMin is inclusive; a missing birth date fails the requirement', () => {
      const adults = compile([
        { id: 'ADULT', kind: 'indication', level: 'warn', title: '限6岁及以上', drugs: ['XR03DX'], require: { ageMin: 6 } },
      ]);
      const check = (birthDate: string | undefined) =>
        run(adults, order({ items: [{ code: drug('XR03DXA012') }], patient: { birthDate } }));
      assert.equal(check('2020-11-24').result, 'pass');
      assert.equal(check('2020-11-25').result, 'warn');
      const missing = check(undefined).findings[0]!;
      assert.match(missing.message, /出生日期/);
      assert.deepEqual((missing.details.failed as Array<{ actual: unknown }>)[0]!.actual, null);
    });
  });

  test('gender, visit type, insurance and hospital level, each named when it fails', () => {
    const rules = compile([
      { id: 'F', kind: 'indication', level: 'block', title: '限女性', drugs: ['XG03XC'], require: { gender: 'F' } },
      { id: 'IN', kind: 'indication', level: 'block', title: '限住院', drugs: ['XV06DB'], require: { visitTypes: ['inpatient'] } },
      { id: 'INS', kind: 'indication', level: 'block', title: '限生育保险', drugs: ['XG03GA'], require: { insurance: ['510'] } },
      { id: 'LV', kind: 'indication', level: 'block', title: '限二级及以上', drugs: ['ZA06BA'], require: { hospitalLevelMin: 2 } },
    ]);
    const verdict = run(
      rules,
      order({
        items: [{ code: drug('XG03XCL045') }, { code: drug('XV06DBE001') }, { code: drug('XG03GAR003') }, { code: drug('ZA06BAD036') }],
        visit: { hospitalLevel: 1 },
      }),
    );
    const failedOf = (ruleId: string) => only(verdict.findings, ruleId).details.failed as Array<{ requirement: string; text: string }>;
    assert.equal(failedOf('F')[0]!.requirement, 'gender');
    assert.match(failedOf('F')[0]!.text, /女性.*男性/);
    assert.equal(failedOf('IN')[0]!.requirement, 'visitType');
    assert.match(failedOf('IN')[0]!.text, /住院.*门诊/);
    assert.equal(failedOf('INS')[0]!.requirement, 'insurance');
    assert.match(failedOf('INS')[0]!.text, /生育保险.*职工基本医疗保险/);
    assert.equal(failedOf('LV')[0]!.requirement, 'hospitalLevel');
    assert.match(failedOf('LV')[0]!.text, /二级及以上.*一级/);

    const met = run(
      rules,
      order({
        items: [{ code: drug('XG03XCL045') }, { code: drug('XV06DBE001') }, { code: drug('XG03GAR003') }, { code: drug('ZA06BAD036') }],
        patient: { gender: 'F', insurance: '510' },
        visit: { type: 'inpatient', medType: '21', hospitalLevel: 2 },
      }),
    );
    assert.equal(met.result, 'pass');
  });

  test('every failed requirement is listed, and only those', () => {
    const rules = compile([
      {
        id: 'MULTI',
        kind: 'indication',
        level: 'block',
        title: '雷洛昔芬',
        drugs: ['XG03XC'],
        require: { gender: 'F', diagnoses: ['M80-M81'], ageMin: 40 },
      },
    ]);
    const finding = run(rules, order({ items: [{ code: drug('XG03XCL045') }], diagnoses: ['M81.000'] })).findings[0]!;
    assert.deepEqual(
      (finding.details.failed as Array<{ requirement: string }>).map((failure) => failure.requirement),
      ['gender'],
    );
  });

  test('a rule message template fills its placeholders', () => {
    const rules = compile([
      { ...lungCancerOnly, message: '{drug}(第{line}行)限肺癌：{failed}。{unknown}' } as RuleInput,
    ]);
    const finding = run(rules, order({ items: [{ code: drug(ZILONGJIN), name: '紫龙金片' }], diagnoses: ['J18.900'] })).findings[0]!;
    assert.match(finding.message, /^紫龙金片\(第1行\)限肺癌：本次诊断 .*J18\.900.*。\{unknown\}$/);
  });
});

describe('chronic', () => {
  const hypertension: RuleInput = {
    id: 'CHR-HT',
    kind: 'chronic',
    level: 'block',
    title: '高血压门慢用药范围',
    disease: { code: 'M03900', name: '高血压', diagnoses: ['I10-I15'] },
    allow: ['XC08', 'XC09'],
    caps: { yearAmount: 1000, warnRatio: 0.8 },
    basis: '门诊慢特病用药范围: 高血压',
  };
  const diabetes: RuleInput = {
    id: 'CHR-DM',
    kind: 'chronic',
    level: 'warn',
    title: '糖尿病门慢用药范围',
    disease: { code: 'M01600', name: '糖尿病', diagnoses: ['E10-E14'] },
    allow: ['XA10'],
  };
  const insulinCap: RuleInput = {
    id: 'CHR-INS',
    kind: 'chronic',
    level: 'warn',
    title: '胰岛素年度限量',
    disease: { code: 'M01600', name: '糖尿病', diagnoses: ['E10-E14'] },
    allow: ['XA10A'],
    caps: { yearQuantity: 10 },
  };
  const rules = compile([hypertension, diabetes, insulinCap]);
  const chronicVisit = { medType: '14' };
  const registered = (...codes: string[]) => ({ chronicDiseases: codes.map((code) => ({ code })) });

  test('a drug outside every registered disease is a finding at the rule level; one inside is not', () => {
    const verdict = run(
      rules,
      order({
        items: [
          { code: drug(AMLODIPINE), name: '氨氯地平片' },
          { code: drug(METFORMIN), name: '二甲双胍片' },
        ],
        patient: registered('M03900'),
        visit: chronicVisit,
      }),
    );
    assert.equal(verdict.result, 'block');
    const finding = only(verdict.findings, 'CHR-HT');
    assert.deepEqual(finding.lines, ['2']);
    assert.match(finding.message, /二甲双胍片.*高血压/);
    assert.deepEqual(finding.actions, ['selfpay', 'remove', 'revise']);
  });

  test('only chronic visits (medType 14 by default) are checked', () => {
    const verdict = run(rules, order({ items: [{ code: drug(METFORMIN) }], patient: registered('M03900') }));
    assert.equal(verdict.result, 'pass');
    assert.equal(verdict.chronic, undefined);
  });

  test('a drug in any registered disease scope passes; the strictest level applies otherwise', () => {
    const both = order({
      items: [{ code: drug(AMLODIPINE) }, { code: drug(METFORMIN) }, { code: drug(ESTAZOLAM) }],
      patient: registered('M03900', 'M01600'),
      visit: chronicVisit,
    });
    const verdict = run(rules, both);
    const finding = only(verdict.findings, 'CHR-HT');
    assert.deepEqual(finding.lines, ['3']);
    assert.equal(finding.level, 'block');
    assert.match(finding.message, /高血压、糖尿病/);
  });

  test('without registrations, matching visit diagnoses stand for them', () => {
    const verdict = run(
      rules,
      order({ items: [{ code: drug(AMLODIPINE) }, { code: drug(METFORMIN) }], diagnoses: ['E11.900'], visit: chronicVisit }),
    );
    const finding = only(verdict.findings, 'CHR-DM');
    assert.deepEqual(finding.lines, ['1']);
    assert.equal(finding.level, 'warn');
    assert.deepEqual(
      verdict.chronic?.map((summary) => summary.ruleId),
      ['CHR-DM', 'CHR-INS'],
    );
    const extension = run(rules, order({ items: [{ code: drug(AMLODIPINE) }], diagnoses: ['I10.x00x002'], visit: chronicVisit }));
    assert.equal(extension.result, 'pass');
    assert.deepEqual(extension.chronic?.map((summary) => summary.ruleId), ['CHR-HT']);
  });

  test('no registration and no matching diagnosis: nothing to judge the scope by, so no finding', () => {
    const verdict = run(rules, order({ items: [{ code: drug(METFORMIN) }], diagnoses: ['J18.900'], visit: chronicVisit }));
    assert.equal(verdict.result, 'pass');
    assert.deepEqual(verdict.chronic, []);
  });

  test('registered for nothing at a chronic visit: one warning naming every insured drug', () => {
    const verdict = run(
      rules,
      order({
        items: [{ code: drug(AMLODIPINE) }, { code: drug(METFORMIN), channel: 'selfpay' }],
        patient: { chronicDiseases: [] },
        visit: chronicVisit,
      }),
    );
    const finding = only(verdict.findings, UNREGISTERED_CHRONIC_RULE_ID);
    assert.equal(finding.level, 'warn');
    assert.deepEqual(finding.lines, ['1']);
    assert.deepEqual(finding.actions, ['continue', 'revise']);
  });

  test('a registered disease the library does not know leaves the scope unjudged', () => {
    const verdict = run(rules, order({ items: [{ code: drug(ESTAZOLAM) }], patient: registered('M03900', 'M99999'), visit: chronicVisit }));
    assert.deepEqual(ruleIds(verdict.findings), []);
    assert.deepEqual(verdict.chronic?.map((summary) => summary.ruleId), ['CHR-HT']);
  });

  test('self-pay items are exempt and do not count towards caps', () => {
    const verdict = run(
      rules,
      order({
        items: [{ code: drug(METFORMIN), channel: 'selfpay' }, { code: drug(AMLODIPINE), qty: 100, price: 100, channel: 'selfpay' }],
        patient: registered('M03900'),
        visit: chronicVisit,
      }),
    );
    assert.equal(verdict.result, 'pass');
    assert.equal(verdict.chronic?.[0]?.amount, 0);
  });

  test('year-to-date summaries count insured in-scope history and ledger rows of this calendar year plus this order', () => {
    const check = order({
      items: [{ code: drug(AMLODIPINE), qty: 2, price: 30.2 }, { code: drug(METFORMIN), qty: 1, price: 12 }],
      patient: registered('M03900'),
      visit: chronicVisit,
      history: [
        { rxId: 'H1', code: drug(LOSARTAN), date: '2026-03-01', days: 30, qty: 2, amount: 100 },
        { rxId: 'H2', code: drug(AMLODIPINE), date: '2025-12-31', days: 30, qty: 2, amount: 500 },
        { rxId: 'H3', code: drug(METFORMIN), date: '2026-05-01', days: 30, qty: 1, amount: 50 },
        { rxId: 'H4', code: drug(AMLODIPINE), date: '2026-06-01', days: 30, qty: 1, amount: 70, channel: 'selfpay' },
      ],
    });
    const ledger: LedgerItem[] = [
      { rxId: 'c-1#1', code: drug(NIFEDIPINE), category: 'drug', date: '2026-09-01', days: 30, qty: 3, amount: 90, channel: 'insured' },
    ];
    const verdict = run(rules, check, ledger);
    assert.deepEqual(verdict.chronic, [
      {
        disease: { code: 'M03900', name: '高血压' },
        ruleId: 'CHR-HT',
        year: 2026,
        amount: 250.4,
        quantity: 7,
        capAmount: 1000,
        capQuantity: undefined,
        warnRatio: 0.8,
      },
    ]);
  });

  describe('caps', () => {
    const atAmount = (earlier: number, thisOrder: number) =>
      run(
        rules,
        order({
          items: [{ code: drug(AMLODIPINE), qty: 1, price: thisOrder }],
          patient: registered('M03900'),
          visit: chronicVisit,
          history: [{ rxId: 'H1', code: drug(LOSARTAN), date: '2026-02-01', days: 30, qty: 1, amount: earlier }],
        }),
      );

    test('below warnRatio × cap nothing fires, but the summary is there', () => {
      const verdict = atAmount(700, 99.99);
      assert.equal(verdict.result, 'pass');
      assert.equal(verdict.chronic?.[0]?.amount, 799.99);
    });

    test('at exactly warnRatio × cap: warn', () => {
      const finding = only(atAmount(700, 100).findings, 'CHR-HT');
      assert.equal(finding.level, 'warn');
      assert.match(finding.message, /80%/);
      assert.deepEqual(finding.actions, ['continue', 'selfpay', 'remove', 'revise']);
      assert.deepEqual(finding.details.amount, { yearToDate: 700, thisOrder: 100, total: 800, cap: 1000, level: 'warn' });
    });

    test('at exactly the cap: still a warning; above it: block', () => {
      assert.equal(only(atAmount(900, 100).findings, 'CHR-HT').level, 'warn');
      const over = only(atAmount(900, 100.01).findings, 'CHR-HT');
      assert.equal(over.level, 'block');
      assert.match(over.message, /超过年度限额 1000 元/);
    });

    test('a quantity cap works the same way', () => {
      const insulin = (earlierQty: number, qty: number) =>
        run(
          rules,
          order({
            items: [{ code: drug(INSULIN), qty }],
            patient: registered('M01600'),
            visit: chronicVisit,
            history: [{ rxId: 'H1', code: drug(INSULIN, 2), date: '2026-01-15', days: 30, qty: earlierQty, amount: 0 }],
          }),
        );
      assert.equal(insulin(5, 2).result, 'pass');
      assert.equal(only(insulin(6, 2).findings, 'CHR-INS').level, 'warn');
      assert.equal(only(insulin(9, 2).findings, 'CHR-INS').level, 'block');
      assert.deepEqual(insulin(9, 2).chronic?.find((summary) => summary.ruleId === 'CHR-INS')?.quantity, 11);
    });

    test('a cap fires only when this order adds an in-scope drug', () => {
      const verdict = run(
        rules,
        order({
          items: [{ code: drug(METFORMIN) }],
          patient: registered('M03900', 'M01600'),
          visit: chronicVisit,
          history: [{ rxId: 'H1', code: drug(LOSARTAN), date: '2026-02-01', days: 30, qty: 1, amount: 2000 }],
        }),
      );
      assert.deepEqual(ruleIds(verdict.findings), []);
      assert.equal(verdict.chronic?.[0]?.amount, 2000);
    });
  });
});

describe('repeat', () => {
  const generic: RuleInput = {
    id: 'REP-G',
    kind: 'repeat',
    level: 'warn',
    title: '重复开药(同通用名)',
    match: 'generic',
    toleranceDays: 3,
    lookbackDays: 90,
    basis: '同一通用名药品重复开具',
  };
  const sameClass: RuleInput = { ...generic, id: 'REP-C', title: '同类药重复', match: 'class' } as RuleInput;
  const rules = compile([generic, sameClass]);
  const earlier = (code: string, date: string, days: number, extra: Partial<HistoryInput> = {}): HistoryInput => ({
    rxId: 'R778',
    code,
    name: '氨氯地平片',
    date,
    days,
    qty: 1,
    dept: { code: '0402', name: '心内科' },
    doctor: { code: 'D019', name: '王医生' },
    ...extra,
  });

  test('names the earlier prescription: date, department, doctor, days left, source', () => {
    const verdict = run(
      rules,
      order({ items: [{ code: drug(AMLODIPINE, 2), name: '氨氯地平片' }], history: [earlier(drug(AMLODIPINE), '2026-11-20', 30)] }),
    );
    const finding = only(verdict.findings, 'REP-G');
    assert.equal(finding.level, 'warn');
    assert.deepEqual(finding.actions, ['continue', 'remove', 'revise']);
    assert.match(finding.message, /2026-11-20.*心内科.*王医生.*26 天/);
    assert.deepEqual(finding.details.earlier, {
      rxId: 'R778',
      name: '氨氯地平片',
      code: drug(AMLODIPINE),
      date: '2026-11-20',
      endDate: '2026-12-20',
      days: 30,
      daysLeft: 26,
      deptCode: '0402',
      deptName: '心内科',
      doctorCode: 'D019',
      doctorName: '王医生',
      source: 'history',
    });
  });

  test('tolerance: exactly toleranceDays left does not fire, one more does', () => {
    const left = (days: number) =>
      run(rules, order({ items: [{ code: drug(AMLODIPINE) }], history: [earlier(drug(AMLODIPINE), '2026-11-20', days)] })).findings;
    assert.deepEqual(ruleIds(left(7)), []);
    assert.deepEqual(ruleIds(left(8)), ['REP-G']);
    assert.deepEqual(ruleIds(left(4)), []);
  });

  test('lookback: a prescription exactly lookbackDays old counts, one day older does not', () => {
    const rule = compile([{ ...generic, lookbackDays: 30, toleranceDays: 0 } as RuleInput]);
    const fromDate = (date: string) =>
      run(rule, order({ items: [{ code: drug(AMLODIPINE) }], history: [earlier(drug(AMLODIPINE), date, 60)] })).findings;
    assert.deepEqual(ruleIds(fromDate('2026-10-25')), ['REP-G']);
    assert.deepEqual(ruleIds(fromDate('2026-10-24')), []);
  });

  test('class: another generic of the same ATC group fires the class rule, not the generic one', () => {
    const verdict = run(
      rules,
      order({ items: [{ code: drug(NIFEDIPINE), name: '硝苯地平片' }], history: [earlier(drug(AMLODIPINE), '2026-11-20', 30)] }),
    );
    const finding = only(verdict.findings, 'REP-C');
    assert.match(finding.message, /硝苯地平片.*氨氯地平片.*C08CA/);
    assert.equal(finding.details.therapeuticClass, 'C08CA');
    const sameGeneric = run(rules, order({ items: [{ code: drug(AMLODIPINE) }], history: [earlier(drug(AMLODIPINE), '2026-11-20', 30)] }));
    assert.deepEqual(ruleIds(sameGeneric.findings), ['REP-G']);
    const otherClass = run(rules, order({ items: [{ code: drug(LOSARTAN) }], history: [earlier(drug(AMLODIPINE), '2026-11-20', 30)] }));
    assert.deepEqual(ruleIds(otherClass.findings), []);
  });

  test('Chinese patent medicines repeat by generic but have no ATC class', () => {
    const verdict = run(
      rules,
      order({
        items: [{ code: drug(ZILONGJIN, 2) }, { code: drug('ZA12AAJ021') }],
        history: [earlier(drug(ZILONGJIN), '2026-11-20', 30)],
      }),
    );
    assert.deepEqual(ruleIds(verdict.findings), ['REP-G']);
  });

  test('duplicates inside one order: same generic, and same class with different generics', () => {
    const verdict = run(
      rules,
      order({
        items: [
          { code: drug(AMLODIPINE), name: '氨氯地平片' },
          { code: drug(LOSARTAN), name: '氯沙坦钾片' },
          { code: drug(AMLODIPINE, 7), name: '氨氯地平片' },
          { code: drug(NIFEDIPINE), name: '硝苯地平片' },
        ],
      }),
    );
    const sameGeneric = only(verdict.findings, 'REP-G');
    assert.deepEqual(sameGeneric.lines, ['1', '3']);
    assert.equal((sameGeneric.details.earlier as { source: string }).source, 'order');
    const sameClass = only(verdict.findings, 'REP-C');
    assert.deepEqual(sameClass.lines, ['1', '3', '4']);
    const off = compile([{ ...generic, sameOrder: false } as RuleInput]);
    assert.deepEqual(ruleIds(run(off, order({ items: [{ code: drug(AMLODIPINE) }, { code: drug(AMLODIPINE, 2) }] })).findings), []);
  });

  test('drugs and exclude filter both the item and the earlier prescription', () => {
    const filtered = compile([
      { ...generic, id: 'REP-N05', drugs: ['XN05C'], exclude: ['XN05CDA021'], toleranceDays: 0 } as RuleInput,
    ]);
    const hypnotic = 'XN05CFZ003';
    assert.deepEqual(
      ruleIds(run(filtered, order({ items: [{ code: drug(hypnotic) }], history: [earlier(drug(hypnotic), '2026-11-20', 7)] })).findings),
      ['REP-N05'],
    );
    assert.deepEqual(
      ruleIds(run(filtered, order({ items: [{ code: drug(ESTAZOLAM) }], history: [earlier(drug(ESTAZOLAM), '2026-11-20', 7)] })).findings),
      [],
    );
    assert.deepEqual(
      ruleIds(run(filtered, order({ items: [{ code: drug(AMLODIPINE) }], history: [earlier(drug(AMLODIPINE), '2026-11-20', 30)] })).findings),
      [],
    );
  });

  test('history without days of supply, or whose supply has run out, is not a repeat', () => {
    assert.deepEqual(
      ruleIds(run(rules, order({ items: [{ code: drug(AMLODIPINE) }], history: [earlier(drug(AMLODIPINE), '2026-11-20', 0)] })).findings),
      [],
    );
    assert.deepEqual(
      ruleIds(run(rules, order({ items: [{ code: drug(AMLODIPINE) }], history: [earlier(drug(AMLODIPINE), '2026-10-01', 30)] })).findings),
      [],
    );
  });

  test('the earlier prescription with the most supply left is named, from the ledger too', () => {
    const ledger: LedgerItem[] = [
      {
        rxId: 'c-0900#2',
        code: drug(AMLODIPINE),
        name: '氨氯地平片',
        category: 'drug',
        date: '2026-11-22',
        days: 28,
        qty: 1,
        deptName: '老年科',
        doctorName: '赵医生',
        channel: 'insured',
      },
    ];
    const verdict = run(
      rules,
      order({ items: [{ code: drug(AMLODIPINE) }], history: [earlier(drug(AMLODIPINE), '2026-11-20', 14)] }),
      ledger,
    );
    const finding = only(verdict.findings, 'REP-G');
    assert.deepEqual(
      [(finding.details.earlier as { source: string }).source, (finding.details.earlier as { daysLeft: number }).daysLeft],
      ['ledger', 26],
    );
    assert.equal(finding.details.otherEarlier, 1);
  });

  test("a re-check of an order finds not its own ledger rows", () => {
    const ledger: LedgerItem[] = [
      { rxId: 'c-test#1', code: drug(AMLODIPINE), category: 'drug', date: '2026-11-24', days: 30, qty: 1, channel: 'insured' },
    ];
    assert.equal(run(rules, order({ items: [{ code: drug(AMLODIPINE) }] }), ledger).result, 'pass');
    const visitScoped = ledger.map((row) => ({ ...row, rxId: 'V1/c-test#1' }));
    assert.equal(run(rules, order({ items: [{ code: drug(AMLODIPINE) }] }), visitScoped).result, 'pass');
    const otherVisit = ledger.map((row) => ({ ...row, rxId: 'V0/c-test#1' }));
    assert.equal(run(rules, order({ items: [{ code: drug(AMLODIPINE) }] }), otherVisit).result, 'warn');
  });

  test('self-pay lines are checked too, without offering self-pay as the fix', () => {
    const verdict = run(
      rules,
      order({ items: [{ code: drug(AMLODIPINE), channel: 'selfpay' }], history: [earlier(drug(AMLODIPINE), '2026-11-20', 30)] }),
    );
    assert.deepEqual(only(verdict.findings, 'REP-G').actions, ['continue', 'remove', 'revise']);
  });

  test('items with only a hospital code repeat by hospital code', () => {
    const verdict = run(
      rules,
      order({
        items: [{ code: undefined, hospCode: 'YP0451' }],
        history: [{ rxId: 'R1', hospCode: 'yp0451', date: '2026-11-20', days: 30 }],
      }),
    );
    assert.deepEqual(ruleIds(verdict.findings), ['REP-G']);
  });
});

describe('days', () => {
  const outpatient: RuleInput = {
    id: 'DAY-7',
    kind: 'days',
    level: 'warn',
    title: '门诊处方超7日用量',
    maxDays: 7,
    scope: { visitTypes: ['outpatient'], medTypes: ['11'] },
  };
  const emergency: RuleInput = { id: 'DAY-3', kind: 'days', level: 'warn', title: '急诊超3日', maxDays: 3, scope: { visitTypes: ['emergency'] } };
  const tuberculosis: RuleInput = {
    id: 'DAY-TB',
    kind: 'days',
    level: 'warn',
    title: '抗结核药超30日',
    maxDays: 30,
    drugs: ['XJ04'],
    scope: { visitTypes: ['outpatient'] },
  };
  const course: RuleInput = {
    id: 'DAY-COURSE',
    kind: 'days',
    level: 'block',
    title: '单次住院最多支付14天',
    maxDays: 14,
    drugs: ['ZA06BAD036'],
    cumulative: true,
    lookbackDays: 30,
  };
  const rules = compile([outpatient, emergency, tuberculosis, course]);

  test('general limit by visit: above fires with max and actual, at the limit does not', () => {
    const finding = only(run(rules, order({ items: [{ code: drug(AMLODIPINE), days: 8, name: '氨氯地平片' }] })).findings, 'DAY-7');
    assert.deepEqual([finding.details.maxDays, finding.details.actual], [7, 8]);
    assert.match(finding.message, /氨氯地平片.*8 天.*7 天/);
    assert.deepEqual(finding.actions, ['continue', 'remove', 'revise']);
    assert.equal(run(rules, order({ items: [{ code: drug(AMLODIPINE), days: 7 }] })).result, 'pass');
    assert.deepEqual(ruleIds(run(rules, order({ items: [{ code: drug(AMLODIPINE), days: 4 }], visit: { type: 'emergency' } })).findings), ['DAY-3']);
  });

  test('general limits cover drugs and 饮片, whoever pays, but not services', () => {
    const verdict = run(
      rules,
      order({
        items: [
          { code: drug(AMLODIPINE), days: 10, channel: 'selfpay' },
          { hospCode: 'HB001', code: undefined, category: 'herbal', days: 10 },
          { code: '001201000010000', category: 'service', days: 10 },
        ],
      }),
    );
    assert.deepEqual(
      verdict.findings.map((finding) => finding.lines[0]),
      ['1', '2'],
    );
  });

  test('a per-drug limit replaces the general one', () => {
    assert.equal(run(rules, order({ items: [{ code: drug('XJ04ACY011'), days: 30 }] })).result, 'pass');
    const over = run(rules, order({ items: [{ code: drug('XJ04ACY011'), days: 31 }] }));
    const finding = only(over.findings, 'DAY-TB');
    assert.deepEqual(finding.actions, ['continue', 'selfpay', 'remove', 'revise']);
    assert.deepEqual(ruleIds(over.findings), ['DAY-TB']);
    assert.deepEqual(ruleIds(run(rules, order({ items: [{ code: drug('XJ04ACY011'), days: 31, channel: 'selfpay' }] })).findings), ['DAY-7']);
  });

  test('a cumulative course counts earlier days of the same generic within lookbackDays', () => {
    const inpatient = { type: 'inpatient' as const, medType: '21' };
    const history: HistoryInput[] = [
      { rxId: 'R1', code: drug('ZA06BAD036', 9), date: '2026-11-10', days: 7 },
      { rxId: 'R2', code: drug('ZA06BAD036'), date: '2026-10-25', days: 5 },
      { rxId: 'R3', code: drug('ZA06BAD036'), date: '2026-10-24', days: 30 },
    ];
    const atDays = (days: number) => run(rules, order({ items: [{ code: drug('ZA06BAD036'), days, name: '丹红注射液' }], visit: inpatient, history }));
    assert.equal(atDays(2).result, 'pass');
    const finding = only(atDays(3).findings, 'DAY-COURSE');
    assert.equal(finding.level, 'block');
    assert.deepEqual(finding.details.cumulative && (finding.details.cumulative as { total: number; earlierDays: number }).total, 15);
    assert.match(finding.message, /丹红注射液.*12 天.*3 天.*15 天.*14 天/);
  });

  test('a course adds this order’s lines of the same generic into one finding', () => {
    const verdict = run(
      rules,
      order({ items: [{ code: drug('ZA06BAD036'), days: 8 }, { code: drug('ZA06BAD036', 2), days: 7 }], visit: { type: 'inpatient', medType: '21' } }),
    );
    assert.deepEqual(only(verdict.findings, 'DAY-COURSE').lines, ['1', '2']);
  });

  test('lines without days are not checked', () => {
    assert.equal(run(rules, order({ items: [{ code: drug(AMLODIPINE), days: undefined }] })).result, 'pass');
  });

  test('rule message placeholders {days} and {maxDays}', () => {
    const templated = compile([{ ...outpatient, message: '{drug}开了{days}天，限{maxDays}天' } as RuleInput]);
    assert.equal(
      run(templated, order({ items: [{ code: drug(AMLODIPINE), days: 14, name: '氨氯地平片' }] })).findings[0]!.message,
      '氨氯地平片开了14天，限7天',
    );
  });
});

describe('herbal', () => {
  const rules = compile([
    {
      id: 'HRB',
      kind: 'herbal',
      level: 'warn',
      title: '中药饮片处方超20味',
      maxItems: 20,
      except: { diagnoses: ['C00-C97'], maxItems: 25 },
    },
  ]);
  const herbs = (count: number) =>
    Array.from({ length: count }, (_, index) => ({ code: undefined, hospCode: `HB${index}`, category: 'herbal' as const, days: 7 }));

  test('20 herbs pass, 21 fire with every herbal line', () => {
    assert.equal(run(rules, order({ items: herbs(20) })).result, 'pass');
    const finding = only(run(rules, order({ items: [{ code: drug(AMLODIPINE) }, ...herbs(21)] })).findings, 'HRB');
    assert.equal(finding.lines.length, 21);
    assert.deepEqual([finding.details.count, finding.details.maxItems], [21, 20]);
    assert.deepEqual(finding.actions, ['continue', 'revise']);
    assert.match(finding.message, /21 味.*20 味/);
  });

  test('a listed special disease raises the limit to 25', () => {
    assert.equal(run(rules, order({ items: herbs(25), diagnoses: ['C16.900'] })).result, 'pass');
    const finding = only(run(rules, order({ items: herbs(26), diagnoses: ['C16.900'] })).findings, 'HRB');
    assert.equal(finding.details.maxItems, 25);
    assert.equal(finding.details.exceptApplied, true);
    assert.equal(only(run(rules, order({ items: herbs(21), diagnoses: ['D50.900'] })).findings, 'HRB').details.maxItems, 20);
  });
});
