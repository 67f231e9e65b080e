/**
 * Rules v2 in spreadsheets: OR groups as several rows of one rule id, the lab cell syntax,
 * condition texts, the new enumerated columns, and row-level errors that point at the cell.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rule, type RuleInput } from '../model';
import { parseLab } from './cells';
import { formatCsv, formatSourceProblem, loadRuleSources, rulesToSheets } from './index';

const timeout = { timeout: 20_000 };
let workspace: string;
let counter = 0;
before(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'rxgate-sources-v2-'));
});
after(async () => {
  await rm(workspace, { recursive: true, force: true });
});

async function load(name: string, rows: string[][]) {
  counter += 1;
  const file = join(workspace, `${counter}-${name}`);
  await writeFile(file, formatCsv(rows));
  const result = await loadRuleSources([file], { today: '2026-01-01' });
  return { ...result, messages: result.errors.map(formatSourceProblem) };
}

const header = ['规则编号', '级别', '规则名称', '药品编码', '限定诊断', '需医生确认', '检验指标', '最低职称', '政策依据'];

describe('OR groups: several rows of one rule id', timeout, () => {
  test('rows join into anyOf; conditions equal on every row apply to all; later rows may leave the rest blank', timeout, async () => {
    const result = await load('限定支付.csv', [
      [...header, '最低医院等级'],
      ['IND-1', '拦截', '门冬胰岛素', 'XA10ABM012', 'E10', '', '', '', '限1型；限难控2型', '二级'],
      ['IND-1', '', '', '', 'E11', '口服药难以控制;中长效胰岛素难以控制', '', '', '', '二级'],
    ]);
    assert.deepEqual(result.messages, []);
    const [rule] = result.rules;
    assert.equal(rule?.kind, 'indication');
    if (rule?.kind !== 'indication') return;
    assert.equal(rule.require.hospitalLevelMin, 2);
    assert.deepEqual(rule.require.anyOf, [{ diagnoses: ['E10'] }, { diagnoses: ['E11'], confirm: ['口服药难以控制', '中长效胰岛素难以控制'] }]);
  });

  test('a column other than the conditions that differs between rows is an error on that row', timeout, async () => {
    const result = await load('限定支付.csv', [
      header,
      ['IND-2', '拦截', '名称', 'XA10ABM012', 'E10', '', '', '', ''],
      ['IND-2', '提醒', '名称', 'XA10ABM012', 'E11', '', '', '', ''],
    ]);
    assert.equal(result.rules.length, 0);
    assert.equal(result.messages.length, 1, result.messages.join('\n'));
    assert.match(result.messages[0]!, /第 3 行 B 级别 \[IND-2\]: 与同一规则编号的第 2 行不一致/);
  });

  test('a row whose conditions are only the common ones is an error (it would lift the restriction)', timeout, async () => {
    const result = await load('限定支付.csv', [
      [...header, '最低医院等级'],
      ['IND-3', '拦截', '名称', 'XA10ABM012', 'E10', '', '', '', '', '二级'],
      ['IND-3', '', '', '', '', '', '', '', '', '二级'],
    ]);
    assert.equal(result.rules.length, 0);
    assert.ok(result.messages.some((message) => /第 3 行 \[IND-3\]: 这一行的限定条件与同一规则编号其他行共同的条件相同/.test(message)), result.messages.join('\n'));
  });

  test('a problem inside one alternative is reported on its own row and column', timeout, async () => {
    const result = await load('限定支付.csv', [
      [...header, '最小日龄', '最大日龄'],
      ['IND-4', '拦截', '名称', 'XA07AAX001', 'P00-P96', '', '', '', '', '', '28'],
      ['IND-4', '', '', '', 'Q00-Q99', '', '', '', '', '40', '20'],
    ]);
    assert.equal(result.rules.length, 0);
    assert.ok(result.messages.some((message) => /第 3 行 J 最小日龄 \[IND-4\]: 最小日龄大于最大日龄/.test(message)), result.messages.join('\n'));
  });

  test('the same id in two files is still a duplicate', timeout, async () => {
    counter += 1;
    const dir = join(workspace, `dup-${counter}`);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    await writeFile(join(dir, '限定支付.csv'), formatCsv([header, ['IND-5', '拦截', '名称', 'XA10', 'E10', '', '', '', '']]));
    await writeFile(join(dir, '限定支付-补充.csv'), formatCsv([header, ['IND-5', '拦截', '名称', 'XA10', 'E11', '', '', '', '']]));
    const result = await loadRuleSources([dir], { today: '2026-01-01' });
    assert.match(result.errors.map(formatSourceProblem).join('\n'), /规则编号「IND-5」重复/);
  });
});

describe('lab cells and the new columns', timeout, () => {
  test('the lab syntax an office clerk writes', timeout, () => {
    assert.deepEqual(parseLab('白蛋白(ALB)<30g/L,30天'), { ok: true, value: { codes: ['ALB'], name: '白蛋白', op: '<', value: 30, unit: 'g/L', withinDays: 30 } });
    assert.deepEqual(parseLab('糖化血红蛋白（HBA1C/4548-4）≥ 7.5 %'), { ok: true, value: { codes: ['HBA1C', '4548-4'], name: '糖化血红蛋白', op: '>=', value: 7.5, unit: '%' } });
    assert.deepEqual(parseLab('血小板(PLT)<=50'), { ok: true, value: { codes: ['PLT'], name: '血小板', op: '<=', value: 50 } });
    for (const bad of ['白蛋白<30g/L', '白蛋白(ALB)=30', '白蛋白(ALB)<三十', '(ALB)<30']) assert.equal(parseLab(bad).ok, false, bad);
  });

  test('labs, titles, condition texts with 、 and the course and period spellings load as rules', timeout, async () => {
    const indication = await load('限定支付.csv', [
      header,
      ['IND-6', '拦截', '白蛋白', 'XB05AAR001', '', '抢救、重症', '白蛋白(ALB)<30g/L,7天；血钠(NA)>=130mmol/L', '副主任医师', ''],
    ]);
    assert.deepEqual(indication.messages, []);
    const rule = indication.rules[0];
    assert.ok(rule?.kind === 'indication');
    assert.deepEqual(rule.require.confirm, ['抢救、重症']);
    assert.equal(rule.require.prescriber?.titleMin, 'associateChief');
    assert.equal(rule.require.labs?.length, 2);
    const course = await load('限疗程.csv', [
      ['规则编号', '级别', '规则名称', '药品编码', '最大天数', '疗程计算', '间隔天数'],
      ['DAY-1', '拦截', '支付不超过14天', 'XB01AC', '14', '首次使用', '15'],
      ['DAY-2', '拦截', '单次住院3天', 'XB01AD', '3', '单次住院', ''],
    ]);
    assert.deepEqual(course.messages, []);
    assert.deepEqual(course.rules.map((rule) => (rule.kind === 'days' ? rule.window : undefined)), ['fromFirstUse', 'admission']);
    const limit = await load('数量频次.csv', [
      ['规则编号', '级别', '规则名称', '项目编码', '最多次数', '计算周期'],
      ['LIM-1', '提醒', '每日限1次', '311000001', '1', '每日'],
      ['LIM-2', '提醒', '无周期', '311000002', '1', ''],
    ]);
    assert.equal(limit.rules.length, 1);
    assert.match(limit.messages.join('\n'), /第 3 行.*计算周期.*缺少必填字段/);
  });

  test('a bad lab cell is reported on its cell, and the rule is not published', timeout, async () => {
    const result = await load('限定支付.csv', [header, ['IND-7', '拦截', '名称', 'XB05AAR001', '', '', '白蛋白<30', '', '']]);
    assert.equal(result.rules.length, 0);
    assert.match(result.messages.join('\n'), /第 2 行 G 检验指标 \[IND-7\]: 检验条件「白蛋白<30」无法识别/);
  });

  test('rules with anyOf go out as several rows and come back the same', timeout, async () => {
    const rules: RuleInput[] = [
      {
        id: 'IND-8',
        kind: 'indication',
        level: 'block',
        title: '血友病',
        drugs: ['XB02BD'],
        require: { diagnoses: ['D66'], anyOf: [{ ageMax: 17 }, { ageMin: 18, confirm: ['出血时使用'] }] },
      },
      { id: 'HRB-1', kind: 'herbal', level: 'block', title: '单味不予支付', notAlone: ['T0001'], countGranules: false },
    ];
    counter += 1;
    const dir = join(workspace, `round-${counter}`);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    for (const sheet of rulesToSheets(rules)) await writeFile(join(dir, `${sheet.name}.csv`), formatCsv([sheet.headers, ...sheet.rows]));
    const result = await loadRuleSources([dir], { today: '2026-01-01' });
    assert.deepEqual(result.errors.map(formatSourceProblem), []);
    const byId = (list: Rule[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
    assert.deepEqual(byId(result.rules), byId(rules.map((rule) => Rule.parse(rule))));
  });
});
