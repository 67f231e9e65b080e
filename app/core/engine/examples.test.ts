/**
 * The examples (examples/, copied from the specification's shared examples) must do what their notes say, against the example
 * library and against the demo library the agent ships; and the demo library must fire every
 * kind and every indication requirement on realistic orders.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileRules, type CompiledRules } from '../../../rules-cache/compile';
import { parseRuleLibraryDocument } from '../../../rules-cache/model';
import type { LedgerItem } from '../../../rules-cache/store-contract';
import { Check, type CheckInput, type Finding } from '../protocol/messages';
import { evaluate, mergeHistory } from './index';

const root = join(__dirname, '../../..');
const examplesDir = join(root, 'examples');

function libraryFrom(path: string, source: string): CompiledRules {
  return compileRules(parseRuleLibraryDocument(JSON.parse(readFileSync(path, 'utf8')), source));
}

function exampleCheck(name: string): Check {
  const document = JSON.parse(readFileSync(join(examplesDir, name), 'utf8')) as { message: unknown };
  return Check.parse(document.message);
}

function run(rules: CompiledRules, check: Check, ledger: LedgerItem[] = []) {
  return evaluate(rules, check, mergeHistory(check.history, ledger));
}

function summary(findings: Finding[]): string[] {
  return findings.map((finding) => `${finding.ruleId}:${finding.level}:${finding.lines.join(',')}`);
}

const demo = libraryFrom(join(root, 'rules-cache/demo/demo-rules.json'), 'demo');

describe('examples', () => {
  const libraries = (): Array<[string, CompiledRules]> => [
    ['examples/rules.json', libraryFrom(join(examplesDir, 'rules.json'), 'example')],
    ['demo library', demo],
  ];

  for (const [name, rulesOf] of [['examples', 0], ['demo', 1]] as const) {
    describe(name, () => {
      const rules = () => libraries()[rulesOf]![1];

      test('check-indication: IND-0001 blocks 紫龙金片 without lung cancer; with C34.900 it passes', () => {
        const check = exampleCheck('check-indication.json');
        const verdict = run(rules(), check);
        assert.equal(verdict.result, 'block');
        assert.deepEqual(summary(verdict.findings), ['IND-0001:block:1']);
        assert.match(verdict.findings[0]!.message, /紫龙金片/);
        const withCancer = run(rules(), { ...check, diagnoses: [{ code: 'C34.900', name: '肺恶性肿瘤', main: true }] });
        assert.equal(withCancer.result, 'pass');
      });

      test('check-chronic: CHR-0001 blocks 二甲双胍 outside the 高血压 scope; 氨氯地平 is inside', () => {
        const verdict = run(rules(), exampleCheck('check-chronic.json'));
        assert.equal(verdict.result, 'block');
        assert.deepEqual(summary(verdict.findings), ['CHR-0001:block:2']);
        assert.deepEqual(verdict.chronic?.map((entry) => [entry.ruleId, entry.amount]), [['CHR-0001', 60.4]]);
      });

      test('check-repeat: REP-0001 warns with the 心内科 prescription of 2026-11-20 and 26 days left; DAY-0001 too', () => {
        const verdict = run(rules(), exampleCheck('check-repeat.json'));
        assert.equal(verdict.result, 'warn');
        assert.deepEqual(summary(verdict.findings), ['REP-0001:warn:1', 'DAY-0001:warn:1']);
        const earlier = verdict.findings[0]!.details.earlier as Record<string, unknown>;
        assert.deepEqual(
          [earlier.rxId, earlier.date, earlier.deptName, earlier.doctorName, earlier.days, earlier.daysLeft, earlier.source],
          ['R778', '2026-11-20', '心内科', '王医生', 30, 26, 'history'],
        );
      });
    });
  }

  test('the demo library keeps every example rule unchanged', () => {
    const example = JSON.parse(readFileSync(join(examplesDir, 'rules.json'), 'utf8')) as { rules: Array<{ id: string }> };
    const shipped = JSON.parse(readFileSync(join(root, 'rules-cache/demo/demo-rules.json'), 'utf8')) as {
      version: number;
      rules: Array<{ id: string }>;
    };
    assert.equal(shipped.version, 1);
    for (const rule of example.rules) {
      assert.deepEqual(
        shipped.rules.find((candidate) => candidate.id === rule.id),
        rule,
      );
    }
  });
});

describe('demo library on realistic orders', () => {
  const base = (input: {
    items: Array<Partial<CheckInput['items'][number]> & { code?: string; name: string }>;
    diagnoses?: Array<[string, string]>;
    patient?: Partial<CheckInput['patient']>;
    visit?: Partial<CheckInput['visit']>;
    history?: CheckInput['history'];
  }): Check =>
    Check.parse({
      type: 'check',
      id: 'c-demo',
      patient: { id: 'P2001', name: '王五', gender: 'M', birthDate: '1968-04-02', insurance: '310', ...input.patient },
      visit: {
        id: 'V3001',
        type: 'outpatient',
        medType: '11',
        date: '2026-11-24',
        dept: { code: '0301', name: '呼吸内科' },
        doctor: { code: 'D007', name: '李医生' },
        hospitalLevel: 3,
        ...input.visit,
      },
      diagnoses: (input.diagnoses ?? []).map(([code, name], index) => ({ code, name, main: index === 0 })),
      items: input.items.map((item, index) => ({ line: String(index + 1), category: 'drug', qty: 1, price: 20, days: 7, ...item })),
      history: input.history ?? [],
    } satisfies CheckInput);

  const fired = (check: Check, ledger: LedgerItem[] = []) => summary(run(demo, check, ledger).findings);

  test('限肺癌 / 限消化系统恶性肿瘤 / 虫草制剂: diagnoses', () => {
    const check = base({
      diagnoses: [['J18.900', '肺炎']],
      items: [
        { code: 'ZA12AAJ021B001010100021', name: '金复康口服液' },
        { code: 'ZA12ABA045A002010100022', name: '安替可胶囊' },
        { code: 'ZA09CAJ009A002010100023', name: '金水宝胶囊' },
        { code: 'ZA09CAB015A002010100017', name: '百令胶囊' },
      ],
    });
    assert.deepEqual(fired(check), ['IND-0101:block:1', 'IND-0102:block:2', 'IND-0103:warn:3', 'IND-0004:warn:4']);
    const eligible = base({
      diagnoses: [['C34.900', '肺恶性肿瘤'], ['J44.900', '慢性阻塞性肺病']],
      items: check.items.map((item) => ({ ...item })),
    });
    assert.deepEqual(fired(eligible), []);
  });

  test('限儿童 by age, 限女性 by gender, 6岁及以上 by ageMin', () => {
    const adult = base({
      diagnoses: [['M81.000', '绝经后骨质疏松'], ['J45.900', '哮喘']],
      items: [
        { code: 'XM01AEB079K040010100008', name: '布洛芬混悬液' },
        { code: 'XA02BCA001A001010100061', name: '奥美拉唑肠溶胶囊' },
        { code: 'XG03XCL045A001010100010', name: '雷洛昔芬片' },
        { code: 'XH01ACR018B002010100007', name: '重组人生长激素注射液' },
      ],
    });
    const verdict = run(demo, adult);
    assert.deepEqual(summary(verdict.findings), ['IND-0104:block:1', 'IND-0105:block:3', 'IND-0005:block:4']);
    assert.match(verdict.findings[0]!.message, /^布洛芬混悬液\(口服液体剂\)医保限儿童使用，本次不符合：限 17 岁及以下，患者 58 岁。/);
    assert.deepEqual(fired(base({ items: [{ code: 'XM01AEB079A001010100009', name: '布洛芬片' }] })), []);
    const child = base({
      patient: { birthDate: '2021-06-01', gender: 'F' },
      diagnoses: [['J45.900', '哮喘']],
      items: [
        { code: 'XM01AEB079K040010100008', name: '布洛芬混悬液' },
        { code: 'XR03DXA012B002010100015', name: '奥马珠单抗注射液' },
      ],
    });
    assert.deepEqual(fired(child), ['IND-0110:block:2']);
  });

  test('限二级及以上医疗机构, 限住院, 限工伤保险, 限生育保险, hospital-code restriction', () => {
    const check = base({
      visit: { hospitalLevel: 1 },
      diagnoses: [['I63.900', '脑梗死']],
      items: [
        { code: 'ZA06BAD036B002010100011', name: '丹红注射液', days: 3 },
        { code: 'XV06DBE001C003010100012', name: '肠内营养粉剂(TP)' },
        { code: 'XM09AXL012B002010100013', name: '鹿瓜多肽注射液' },
        { code: 'XG03GAR003B002010100014', name: '注射用绒促性素' },
        { hospCode: 'ZJ0012', name: '小儿止咳合剂' },
      ],
    });
    assert.deepEqual(fired(check), ['IND-0106:block:1', 'IND-0107:block:2', 'IND-0108:block:3', 'IND-0109:block:4', 'IND-0111:warn:5']);
  });

  test('门慢: 高血压 scope, 糖尿病 amount and insulin quantity caps, 透析 by diagnosis', () => {
    const diabetic = base({
      patient: { chronicDiseases: [{ code: 'M01600', name: '糖尿病' }] },
      visit: { medType: '14', dept: { code: '0501', name: '内分泌科' } },
      diagnoses: [['E11.900', '2型糖尿病']],
      items: [
        { code: 'XA10ABY001B002010100004', name: '门冬胰岛素注射液', qty: 10, price: 60, days: 30 },
        { code: 'XC08CAA053A001010100001', name: '氨氯地平片', qty: 1, price: 30, days: 35 },
      ],
      history: [
        { rxId: 'H1', code: 'XA10ABY001B002010100004', name: '门冬胰岛素注射液', date: '2026-09-01', days: 60, qty: 40, amount: 3000 },
        { rxId: 'H2', code: 'XA10BAE012A001010100003', name: '二甲双胍片', date: '2026-10-01', days: 30, qty: 4, amount: 480 },
      ],
    });
    const verdict = run(demo, diabetic);
    assert.deepEqual(summary(verdict.findings), ['CHR-0002:block:1', 'CHR-0002:block:2', 'CHR-0003:warn:1', 'DAY-0003:warn:2']);
    assert.match(verdict.findings[0]!.message, /累计 3480 元，加上本次 600 元共 4080 元，超过年度限额 4000 元/);
    assert.deepEqual(
      verdict.chronic?.map((entry) => [entry.ruleId, entry.amount, entry.quantity]),
      [
        ['CHR-0002', 4080, 54],
        ['CHR-0003', 3600, 50],
      ],
    );
    const dialysis = base({
      patient: { chronicDiseases: undefined },
      visit: { medType: '14' },
      diagnoses: [['N18.500', '慢性肾脏病5期']],
      items: [
        { code: 'XB03XAR017B002010100031', name: '重组人促红素注射液', days: 28 },
        { code: 'XA10BAE012A001010100003', name: '二甲双胍片', days: 28 },
      ],
    });
    assert.deepEqual(fired(dialysis), ['CHR-0004:block:2']);
  });

  test('重复开药: same generic from the ledger, same class, sedative repeat blocked, same-order duplicates', () => {
    const check = base({
      items: [
        { code: 'XC08CAN012A001010100002', name: '硝苯地平控释片', days: 7 },
        { code: 'XN05CDA021A001010100016', name: '艾司唑仑片', days: 7 },
        { code: 'XC09CAL031A001010100041', name: '氯沙坦钾片', days: 7 },
        { code: 'XC09CAL031A001010100042', name: '氯沙坦钾片', days: 7 },
      ],
      history: [
        {
          rxId: 'R900',
          code: 'XC08CAA053A001010100001',
          name: '氨氯地平片',
          date: '2026-11-20',
          days: 30,
          dept: { code: '0402', name: '心内科' },
          doctor: { code: 'D019', name: '王医生' },
        },
      ],
    });
    const ledger: LedgerItem[] = [
      {
        rxId: 'c-0801#1',
        code: 'XN05CDA021A001010100016',
        name: '艾司唑仑片',
        category: 'drug',
        date: '2026-11-21',
        days: 7,
        qty: 1,
        deptName: '神经内科',
        doctorName: '赵医生',
        channel: 'insured',
      },
    ];
    assert.deepEqual(fired(check, ledger), [
      'REP-0003:block:2',
      'REP-0002:warn:1',
      'REP-0001:warn:2',
      'REP-0001:warn:3,4',
    ]);
  });

  test('days: emergency 3, chronic 30 and long-term 84, 抗结核 30, 中药注射剂 14-day course', () => {
    assert.deepEqual(fired(base({ visit: { type: 'emergency', medType: '12' }, items: [{ code: 'XJ01CAA001A001010100051', name: '阿莫西林胶囊', days: 5 }] })), [
      'DAY-0002:warn:1',
    ]);
    assert.deepEqual(
      fired(
        base({
          patient: { chronicDiseases: [{ code: 'M03900', name: '高血压' }] },
          visit: { medType: '14' },
          items: [{ code: 'XC08CAA053A001010100001', name: '氨氯地平片', days: 90 }],
        }),
      ),
      ['DAY-0004:block:1', 'DAY-0003:warn:1'],
    );
    assert.deepEqual(fired(base({ items: [{ code: 'XJ04ACY011A001010100019', name: '异烟肼片', days: 28 }] })), []);
    assert.deepEqual(fired(base({ items: [{ code: 'XJ04ACY011A001010100019', name: '异烟肼片', days: 35 }] })), ['DAY-0102:warn:1']);
    const inpatient = base({
      visit: { type: 'inpatient', medType: '21' },
      diagnoses: [['I63.900', '脑梗死']],
      items: [{ code: 'ZA06BAD036B002010100011', name: '丹红注射液', days: 5 }],
      history: [{ rxId: 'Z1', code: 'ZA06BAD036B002010100011', name: '丹红注射液', date: '2026-11-14', days: 10 }],
    });
    assert.deepEqual(fired(inpatient), ['DAY-0101:block:1']);
  });

  test('herbal: 21 味 warns; 恶性肿瘤 allows 25', () => {
    const herbs = (count: number) =>
      Array.from({ length: count }, (_, index) => ({ hospCode: `YP${700 + index}`, name: `饮片${index + 1}`, category: 'herbal' as const, days: 7 }));
    assert.deepEqual(fired(base({ items: herbs(21) })), [`HRB-0001:warn:${herbs(21).map((_, index) => index + 1).join(',')}`]);
    assert.deepEqual(fired(base({ items: herbs(24), diagnoses: [['C16.900', '胃恶性肿瘤']] })), []);
  });
});
