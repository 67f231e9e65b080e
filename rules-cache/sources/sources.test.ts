/**
 * Rule sources end to end: real CSV files in the encodings Excel writes, real XLSX
 * workbooks built with exceljs, and the problems a person would make in them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { z } from 'zod';
import { Rule, RULE_KINDS, type RuleInput } from '../model';
import {
  COLUMNS,
  decodeCsvBytes,
  formatCsv,
  formatSourceProblem,
  KIND_NAMES,
  loadRuleSources,
  parseCsv,
  rulesToSheets,
  VALUE_SPELLINGS,
  type SourceProblem,
} from './index';
import { columnAppliesTo, kindFromSourceName } from './columns';

const samples = join(__dirname, 'samples');
const exampleInputs = (JSON.parse(readFileSync(join(samples, 'rules.json'), 'utf8')) as { rules: RuleInput[] }).rules;
const exampleRules = exampleInputs.map((rule) => Rule.parse(rule));
const ofKind = (kind: string) => exampleRules.filter((rule) => rule.kind === kind);

let workspace: string;
let counter = 0;
before(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'rxgate-sources-'));
});
after(async () => {
  await rm(workspace, { recursive: true, force: true });
});

/** A fresh folder per test so folder loads see only that test's files. */
async function folder(): Promise<string> {
  counter += 1;
  const path = join(workspace, `case-${counter}`);
  await mkdir(path);
  return path;
}

/** Where a problem points, compactly, for assertions on many problems at once. */
function where(problem: SourceProblem): string {
  return [problem.sheet, problem.row, problem.column].filter((part) => part !== undefined).join(' | ');
}

const INDICATION_CSV = [
  '规则编号,级别,规则名称,药品编码,限定诊断,最大年龄,政策依据',
  'IND-0001,拦截,紫龙金片限肺癌,ZA12AAZ017,C34,,医保药品目录 限定支付范围: 限肺癌',
  'IND-0002,拦截,艾迪注射液限消化系统恶性肿瘤、肺癌,ZA12ABA032,C15-C26；C34,,医保药品目录 限定支付范围: 限消化系统恶性肿瘤、肺癌',
  'IND-0003,提醒,复方斑蝥胶囊限消化系统肿瘤,za12abf009,"C15-C26;D12;D13",,医保药品目录 限定支付范围: 限消化系统肿瘤',
  'IND-0004,提醒,虫草制剂限定支付范围,ZA09CAB015,Z94;T86;N17-N19;I50;K72;J96;J44;J45;J84.1;D80-D84,,限器官移植后抗排异、脏器衰竭、慢性肾病、慢性阻塞性肺疾患、支气管哮喘、肺纤维化、免疫功能低下',
  'IND-0005,拦截,人生长激素限儿童,XH01ACR018,,17,医保药品目录 限定支付范围: 限儿童',
].join('\r\n');

describe('CSV text', () => {
  test('quoted fields keep commas, quotes and line breaks; row numbers follow Excel rows', () => {
    const text = 'a,b,c\r\n"x, y","say ""hi""","line 1\r\nline 2"\r\n,"",plain\n"last\nrow",z,\r\n';
    const parsed = parseCsv(text);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.records, [
      { row: 1, fields: ['a', 'b', 'c'] },
      { row: 2, fields: ['x, y', 'say "hi"', 'line 1\r\nline 2'] },
      { row: 3, fields: ['', '', 'plain'] },
      { row: 4, fields: ['last\nrow', 'z', ''] },
    ]);
  });

  test('LF, CR and a missing final line break all end records', () => {
    const parsed = parseCsv('a,b\nc,d\re,f');
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.records.map((record) => record.fields),
      [['a', 'b'], ['c', 'd'], ['e', 'f']],
    );
  });

  test('a quote inside an unquoted field is kept, as Excel does', () => {
    const parsed = parseCsv('5" tablet,x\r\n');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.records[0]!.fields, ['5" tablet', 'x']);
  });

  test('an unclosed quote is reported on the row where it opened', () => {
    const parsed = parseCsv('a,b\r\nx,y\r\n"open,z\r\nmore\r\n');
    assert.equal(parsed.ok, false);
    assert.ok(!parsed.ok);
    assert.equal(parsed.row, 3);
    assert.match(parsed.message, /引号没有闭合/);
  });

  test('text after a closing quote is an error, not a guess', () => {
    const parsed = parseCsv('a,b\r\n"x"y,z\r\n');
    assert.ok(!parsed.ok);
    assert.equal(parsed.row, 2);
  });

  test('formatCsv quotes only what needs it and parses back to the same fields', () => {
    const rows = [['a', 'b, c', 'd "e"', 'f\ng', ' lead', 7, undefined]];
    const text = formatCsv(rows);
    assert.equal(text, 'a,"b, c","d ""e""","f\ng"," lead",7,\r\n');
    const parsed = parseCsv(text);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.records[0]!.fields, ['a', 'b, c', 'd "e"', 'f\ng', ' lead', '7', '']);
  });

  test('encodings: BOM means UTF-8, valid UTF-8 is UTF-8, anything else is GB18030', () => {
    const text = '规则编号,级别\r\n';
    assert.deepEqual(decodeCsvBytes(Buffer.from(`\uFEFF${text}`, 'utf8')), { ok: true, text, encoding: 'utf-8-bom' });
    assert.deepEqual(decodeCsvBytes(Buffer.from(text, 'utf8')), { ok: true, text, encoding: 'utf-8' });
    assert.deepEqual(decodeCsvBytes(iconv.encode(text, 'gb18030')), { ok: true, text, encoding: 'gb18030' });
    const utf16 = decodeCsvBytes(iconv.encode(text, 'utf16le', { addBOM: true }));
    assert.equal(utf16.ok, false);
  });
});

describe('CSV sources', () => {
  for (const [name, encode] of [
    ['UTF-8', (text: string) => Buffer.from(text, 'utf8')],
    ['UTF-8 with BOM', (text: string) => Buffer.from(`\uFEFF${text}`, 'utf8')],
    ['GB18030', (text: string) => iconv.encode(text, 'gb18030')],
  ] as const) {
    test(`${name} CSV with Chinese headers loads the example indication rules`, async () => {
      const dir = await folder();
      const file = join(dir, '限定支付.csv');
      await writeFile(file, encode(INDICATION_CSV));
      const result = await loadRuleSources([file]);
      assert.deepEqual(result.errors, []);
      assert.deepEqual(result.warnings, []);
      assert.deepEqual(result.rules, ofKind('indication'));
      assert.deepEqual(result.files, [file]);
    });
  }

  test('a file with many bad rows reports every one with its row and column', async () => {
    const dir = await folder();
    const file = join(dir, 'indication.csv');
    const lines = [
      '规则编号,级别,规则名称,药品编码,限定诊断,最小年龄,最大年龄,限定性别,生效日期,可转自费,',
      'IND-1,拦截,好的规则,XA11DAW036,C34,,,,,,',
      'IND-2,警告,级别写错,XA11DAW036,C34,,,,,',
      'IND-3,拦截,编码写错,XA1-1,C34,,,,,',
      'IND-4,拦截,范围倒置,XA11,C26-C15,,,,,',
      'IND-5,拦截,年龄倒置,XA11,,18,6,,,',
      'IND-6,拦截,年龄过大,XA11,,,200,,,',
      'IND-7,拦截,年龄带单位,XA11,,7岁,,,,',
      'IND-8,拦截,性别写错,XA11,,,,X,,',
      'IND-9,拦截,日期不存在,XA11,C34,,,,2025-02-30,',
      'IND-10,拦截,布尔写错,XA11,C34,,,,,可以',
      'IND-11,拦截,,XA11,C34,,,,,',
      'IND-12,拦截,逗号分隔,XA11,"C34,C15",,,,,',
      ',,,,,,,,,',
      'IND 13,拦截,编号有空格,XA11,C34,,,,,',
      'IND-14,拦截,没有限定条件,XA11,,,,,,',
      'IND-15,拦截,多出的单元格,XA11,C34,,,,,,,1000',
      'IND-16,拦截,空表头下的单元格,XA11,C34,,,,,,x',
    ];
    await writeFile(file, lines.join('\r\n'));
    const result = await loadRuleSources([file]);
    assert.deepEqual(
      result.errors.map((problem) => `${where(problem)} | ${problem.ruleId ?? ''}`),
      [
        '3 | B 级别 | IND-2',
        '4 | D 药品编码 | IND-3',
        '5 | E 限定诊断 | IND-4',
        '6 | F 最小年龄 | IND-5',
        '7 | G 最大年龄 | IND-6',
        '8 | F 最小年龄 | IND-7',
        '9 | H 限定性别 | IND-8',
        '10 | I 生效日期 | IND-9',
        '11 | J 可转自费 | IND-10',
        '12 | C 规则名称 | IND-11',
        '13 | E 限定诊断 | IND-12',
        '15 | A 规则编号 | IND 13',
        '16 | E 限定诊断 | IND-14',
        '17 | L | ',
        '18 | K | ',
      ],
    );
    const messages = result.errors.map((problem) => problem.message);
    assert.match(messages[0]!, /「警告」无法识别, 可填: 提醒\/warn 或 拦截\/block/);
    assert.match(messages[1]!, /第 1 项「XA1-1」: 药品编码前缀/);
    assert.match(messages[2]!, /起点不能大于终点/);
    assert.match(messages[3]!, /最小年龄大于最大年龄/);
    assert.match(messages[4]!, /不能大于 150/);
    assert.match(messages[5]!, /「7岁」不是整数/);
    assert.match(messages[7]!, /不是有效日期/);
    assert.match(messages[9]!, /缺少必填字段/);
    assert.match(messages[10]!, /分号/);
    assert.match(messages[12]!, /至少需要填写其中一列: 限定诊断、限定性别/);
    assert.deepEqual(
      result.rules.map((rule) => rule.id),
      ['IND-1', 'IND-15', 'IND-16'],
    );
    assert.equal(result.errors.every((problem) => problem.file === file), true);
    assert.match(formatSourceProblem(result.errors[0]!), /indication\.csv 第 3 行 B 级别 \[IND-2\]: /);
  });

  test('an unknown header is an error that names it and suggests the likely column', async () => {
    const dir = await folder();
    const file = join(dir, '01-限定支付-2025.csv');
    await writeFile(
      file,
      [
        '规则编号,级别(提醒/拦截),规则名称,药品编码,限定诊段,慢病编码,备注,#内部,require.ageMax',
        'IND-1,拦截,紫龙金片,ZA12AAZ017,C34,M03900,只是备注,x,17',
      ].join('\n'),
    );
    const result = await loadRuleSources([file]);
    assert.deepEqual(
      result.errors.map((problem) => [problem.row, problem.column, problem.message]),
      [
        [1, 'E 限定诊段', '未知的列「限定诊段」, 是否应为「限定诊断」?'],
        [1, 'F 慢病编码', '「慢病编码」列不属于限定支付(indication)规则'],
      ],
    );
    // The rest of the row still reads, so the person sees the row is otherwise fine.
    assert.deepEqual(result.rules.map((rule) => rule.kind === 'indication' && rule.require), [{ ageMax: 17 }]);
  });

  test('a mixed sheet takes the kind from a 规则类型 column, row by row', async () => {
    const dir = await folder();
    const file = join(dir, 'rules.csv');
    await writeFile(
      file,
      [
        '规则类型,规则编号,级别,规则名称,药品编码,最大天数,慢病编码',
        '用药天数,DAY-1,提醒,门诊7天,,7,',
        'repeat,REP-1,提醒,重复开药,XC09,,',
        '限定支付,IND-1,拦截,带了慢病编码,XA11,,M03900',
        '不存在的类型,X-1,提醒,类型写错,,,',
        ',X-2,提醒,没有类型,,,',
      ].join('\r\n'),
    );
    const result = await loadRuleSources([file]);
    assert.deepEqual(result.rules.map((rule) => rule.id), ['DAY-1', 'REP-1']);
    assert.deepEqual(result.errors.map(where), ['4', '4 | G 慢病编码', '5 | A 规则类型', '6 | A 规则类型']);
    assert.match(result.errors[1]!.message, /没有「慢病编码」这一项/);
    assert.match(result.errors[0]!.message, /「限定条件」\(require\): 至少需要填写其中一列/);
    assert.match(result.errors[2]!.message, /无法识别/);
    assert.match(result.errors[3]!.message, /缺少规则类型/);
  });

  test('a file whose name and columns say no kind is one clear error', async () => {
    const dir = await folder();
    const file = join(dir, 'rules.csv');
    await writeFile(file, '规则编号,级别,规则名称,最大天数\r\nDAY-1,提醒,门诊,7\r\n');
    const result = await loadRuleSources([file]);
    assert.equal(result.errors.length, 1);
    assert.match(result.errors[0]!.message, /无法确定规则类型/);
  });

  test('a required column missing from the sheet is one error naming the rows', async () => {
    const dir = await folder();
    const file = join(dir, 'days.csv');
    await writeFile(file, '规则编号,级别,规则名称\r\nDAY-1,提醒,门诊\r\nDAY-2,提醒,急诊\r\n');
    const result = await loadRuleSources([file]);
    assert.deepEqual(
      result.errors.map((problem) => [problem.row, problem.column, problem.message]),
      [[undefined, undefined, '「最大天数」(maxDays): 缺少必填字段, 请添加该列(第 2、3 行)']],
    );
  });

  test('values are parsed strictly but in the spellings people use', async () => {
    const dir = await folder();
    const file = join(dir, 'chronic.csv');
    await writeFile(
      file,
      [
        '规则编号,级别,规则名称,慢病编码,慢病名称,慢病诊断,可用药品,年度金额上限,年度数量上限,预警比例,适用就诊类型,适用医院等级,生效日期,失效日期,启用,可转自费',
        'CHR-1,Block,高血压,Ｍ03900,高血压,i10-i15,"XC02、XC03；xc09;",3000,"1,200",80%,门诊;急诊,二级;3,2025/1/1,2099年12月31日,是,否',
        'CHR-2,拦截,糖尿病,M01600,糖尿病,E10-E14,XA10,3000元,,1.5,,四级,2025-13-01,,也许,',
      ].join('\r\n'),
    );
    const result = await loadRuleSources([file]);
    assert.deepEqual(result.rules, [
      Rule.parse({
        id: 'CHR-1',
        kind: 'chronic',
        level: 'block',
        title: '高血压',
        disease: { code: 'M03900', name: '高血压', diagnoses: ['I10-I15'] },
        allow: ['XC02', 'XC03', 'XC09'],
        caps: { yearAmount: 3000, yearQuantity: 1200, warnRatio: 0.8 },
        scope: { visitTypes: ['outpatient', 'emergency'], hospitalLevels: [2, 3] },
        effective: { from: '2025-01-01', to: '2099-12-31' },
        enabled: true,
        selfPay: false,
      }),
    ]);
    assert.deepEqual(result.errors.map(where), [
      '3 | H 年度金额上限',
      '3 | J 预警比例',
      '3 | L 适用医院等级',
      '3 | M 生效日期',
      '3 | O 启用',
    ]);
    assert.match(result.errors[1]!.message, /不能大于 1/);
    assert.match(result.errors[2]!.message, /^「四级」无法识别, 可填: 一级\/1 或 二级\/2 或 三级\/3/);
  });

  test('a code Excel turned into scientific notation is an error, not a wrong code', async () => {
    const dir = await folder();
    const file = join(dir, 'indication.csv');
    await writeFile(file, '规则编号,级别,规则名称,医院编码,最大年龄\r\nIND-1,拦截,院内制剂,1.23457E+11,17\r\n');
    const result = await loadRuleSources([file]);
    assert.deepEqual(result.errors.map(where), ['2 | D 医院编码']);
    assert.match(result.errors[0]!.message, /科学计数法/);
  });

  test('a broken CSV structure is reported with its row', async () => {
    const dir = await folder();
    const file = join(dir, 'herbal.csv');
    await writeFile(file, '规则编号,级别,规则名称,最多味数\r\nHRB-1,提醒,"未闭合,20\r\n');
    const result = await loadRuleSources([file]);
    assert.deepEqual(result.errors.map((problem) => [problem.row, problem.message.startsWith('CSV 格式错误')]), [[2, true]]);
  });
});

describe('XLSX sources', () => {
  test('cells of every storage type convert to the text a person sees', async () => {
    const dir = await folder();
    const file = join(dir, 'library.xlsx');
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('说明').addRow(['这张表不是规则, 不会被读取']);
    const sheet = workbook.addWorksheet('限定支付');
    sheet.addRow([
      { richText: [{ text: '规则', font: { bold: true } }, { text: '编号' }] },
      '级别',
      '规则名称',
      '药品编码',
      '医院编码',
      '限定诊断',
      '最小年龄',
      '最大年龄',
      '生效日期',
      '失效日期',
      '启用',
      '最低医院等级',
      '政策依据',
    ]);
    sheet.addRow([
      'IND-1',
      { formula: 'IF(TRUE,"拦截","提醒")', result: '拦截' },
      { richText: [{ text: '紫龙金片' }, { text: '限肺癌', font: { color: { argb: 'FFFF0000' } } }] },
      { text: 'ZA12AAZ017', hyperlink: 'https://example.invalid/drug' },
      123,
      'C34',
      { formula: '6*3', result: 18 },
      60,
      new Date(Date.UTC(2025, 0, 1)),
      '2099-12-31',
      true,
      2,
      '医保药品目录',
    ]);
    sheet.getCell('E2').numFmt = '00000';
    sheet.addRow([]);
    sheet.addRow(['IND-2', '提醒', '合并单元格', 'ZA12ABA032', undefined, 'C15-C26', undefined, undefined, undefined, undefined, undefined, undefined, '共用依据']);
    sheet.addRow(['IND-3', '提醒', '合并单元格', 'ZA12ABF009', undefined, 'C15-C26']);
    sheet.mergeCells('M4:M5');
    await workbook.xlsx.writeFile(file);

    const result = await loadRuleSources([file], { today: '2025-06-01' });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(result.rules, [
      Rule.parse({
        id: 'IND-1',
        kind: 'indication',
        level: 'block',
        title: '紫龙金片限肺癌',
        drugs: ['ZA12AAZ017'],
        hospCodes: ['00123'],
        require: { diagnoses: ['C34'], ageMin: 18, ageMax: 60, hospitalLevelMin: 2 },
        effective: { from: '2025-01-01', to: '2099-12-31' },
        enabled: true,
        basis: '医保药品目录',
      }),
      Rule.parse({
        id: 'IND-2',
        kind: 'indication',
        level: 'warn',
        title: '合并单元格',
        drugs: ['ZA12ABA032'],
        require: { diagnoses: ['C15-C26'] },
        basis: '共用依据',
      }),
      Rule.parse({
        id: 'IND-3',
        kind: 'indication',
        level: 'warn',
        title: '合并单元格',
        drugs: ['ZA12ABF009'],
        require: { diagnoses: ['C15-C26'] },
        basis: '共用依据',
      }),
    ]);
  });

  test('cells a reader cannot trust are errors at their row and column', async () => {
    const dir = await folder();
    const file = join(dir, 'book.xlsx');
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('用药天数');
    sheet.addRow(['规则编号', '级别', '规则名称', '最大天数', '适用医疗类别']);
    sheet.addRow(['DAY-1', '提醒', '错误值', { error: '#N/A' }, '11']);
    sheet.addRow(['DAY-2', '提醒', '公式无结果', { formula: 'A1*2' }, '11']);
    sheet.addRow(['DAY-3', '提醒', '编码成了日期', 7, new Date(Date.UTC(2025, 0, 2))]);
    await workbook.xlsx.writeFile(file);
    const result = await loadRuleSources([file]);
    assert.deepEqual(result.errors.map(where), ['用药天数 | 2 | D 最大天数', '用药天数 | 3 | D 最大天数', '用药天数 | 4 | E 适用医疗类别']);
    assert.match(result.errors[0]!.message, /#N\/A/);
    assert.match(result.errors[1]!.message, /公式没有保存计算结果/);
    assert.match(result.errors[2]!.message, /识别成了日期/);
  });

  test('the example library as a workbook, one sheet per kind, gives the same rules as the JSON', async () => {
    const dir = await folder();
    const file = join(dir, 'examples.xlsx');
    const workbook = new ExcelJS.Workbook();
    for (const sheet of rulesToSheets(exampleInputs)) {
      const worksheet = workbook.addWorksheet(sheet.name);
      worksheet.addRow(sheet.headers);
      for (const row of sheet.rows) worksheet.addRow(row);
    }
    workbook.addWorksheet('Sheet9');
    await workbook.xlsx.writeFile(file);
    const result = await loadRuleSources([file]);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.rules, exampleRules);
  });

  test('a hidden sheet still publishes, with a warning', async () => {
    const dir = await folder();
    const file = join(dir, 'hidden.xlsx');
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('中药饮片');
    sheet.addRow(['规则编号', '级别', '规则名称', '最多味数']);
    sheet.addRow(['HRB-1', '提醒', '饮片超20味', 20]);
    sheet.state = 'hidden';
    await workbook.xlsx.writeFile(file);
    const result = await loadRuleSources([file]);
    assert.equal(result.rules.length, 1);
    assert.deepEqual(result.warnings.map((problem) => [problem.sheet, problem.message]), [
      ['中药饮片', '工作表已隐藏, 但其中的规则仍会发布'],
    ]);
  });
});

describe('several sources in one run', () => {
  test('duplicate ids across files are errors naming both places', async () => {
    const dir = await folder();
    await writeFile(join(dir, 'indication.csv'), INDICATION_CSV);
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('限定支付');
    sheet.addRow(['规则编号', '级别', '规则名称', '药品编码', '限定诊断']);
    sheet.addRow(['IND-9000', '拦截', '新规则', 'XA11', 'E11']);
    sheet.addRow(['IND-0003', '拦截', '重复的编号', 'XA11', 'E11']);
    await workbook.xlsx.writeFile(join(dir, 'more.xlsx'));
    const json = join(dir, 'extra.json');
    await writeFile(json, JSON.stringify([{ ...exampleInputs[0], title: '又一次' }]));

    const result = await loadRuleSources([dir]);
    assert.deepEqual(
      result.files.map((file) => file.slice(dir.length + 1)),
      ['extra.json', 'indication.csv', 'more.xlsx'],
    );
    // Files are read in name order, so extra.json holds the first IND-0001.
    assert.deepEqual(
      result.errors.map((problem) => [problem.file.slice(dir.length + 1), where(problem), problem.message]),
      [
        [
          'indication.csv',
          '2 | A 规则编号',
          `规则编号「IND-0001」重复, ${join(dir, 'extra.json')} 第 1 条规则 已使用该编号`,
        ],
        [
          'more.xlsx',
          '限定支付 | 3 | A 规则编号',
          `规则编号「IND-0003」重复, ${join(dir, 'indication.csv')} 第 4 行 已使用该编号`,
        ],
      ],
    );
    assert.deepEqual(
      result.rules.map((rule) => rule.id),
      ['IND-0001', 'IND-0002', 'IND-0003', 'IND-0004', 'IND-0005', 'IND-9000'],
    );
  });

  test('problems of all files come back together, in file order', async () => {
    const dir = await folder();
    await writeFile(join(dir, '1-days.csv'), '规则编号,级别,规则名称,最大天数\r\nDAY-1,提醒,门诊,七\r\n');
    await writeFile(join(dir, 'b.json'), '{"version": 1, "rules": [{"id": "X", "kind": "herbal", "level": "warn", "title": "t", "maxItems": 0}]');
    await writeFile(join(dir, 'c.xls'), 'old');
    await writeFile(join(dir, 'd.json'), JSON.stringify({ version: 1, rules: [{ id: 'Y', kind: 'herbal', level: 'warn', title: 't', maxItems: 0, extra: 1 }] }));
    await writeFile(join(dir, '~$locked.xlsx'), 'Excel lock file');
    await writeFile(join(dir, 'README.md'), 'notes');
    const result = await loadRuleSources([dir]);
    assert.deepEqual(
      result.errors.map(formatSourceProblem).map((line) => line.slice(dir.length + 1)),
      [
        '1-days.csv 第 2 行 D 最大天数 [DAY-1]: 「七」不是整数',
        `b.json: JSON 格式错误: ${(() => {
          try {
            JSON.parse('{"version": 1, "rules": [{"id": "X", "kind": "herbal", "level": "warn", "title": "t", "maxItems": 0}]');
          } catch (error) {
            return (error as Error).message;
          }
          return '';
        })()}`,
        'c.xls: 不支持 .xls 格式, 请在 Excel 中另存为 .xlsx 或“CSV UTF-8(逗号分隔)”',
        'd.json 第 1 条规则 maxItems [Y]: 不能小于 1',
        'd.json 第 1 条规则 [Y]: 未知字段: extra',
      ],
    );
  });

  test('warnings: disabled, expired, unknown drug prefixes, repeated codes', async () => {
    const dir = await folder();
    const file = join(dir, 'repeat.csv');
    await writeFile(
      file,
      [
        '规则编号,级别,规则名称,药品编码,排除药品,启用,失效日期',
        'REP-1,提醒,停用的规则,XC09,,否,',
        'REP-2,提醒,过期的规则,,,,2024-12-31',
        'REP-3,提醒,目录里没有,XC09;XZ99;XC09,XA11DAW036,,',
      ].join('\r\n'),
    );
    const result = await loadRuleSources([file], {
      today: '2025-03-01',
      catalogue: ['XC09AAA123A001010104127', 'xa11daw036a001010104127'],
    });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(
      result.warnings.map((problem) => `${where(problem)} | ${problem.message}`),
      [
        '2 | F 启用 | 规则已停用(启用=否), 发布后不会生效',
        '3 | G 失效日期 | 规则已于 2024-12-31 失效, 发布后不会生效',
        '4 | D 药品编码 | 重复填写: XC09',
        '4 | D 药品编码 | 药品目录中没有以 XZ99 开头的药品编码, 请核对',
      ],
    );
  });

  test('missing paths, empty folders and no rules at all are errors', async () => {
    const dir = await folder();
    const empty = await folder();
    await writeFile(join(dir, 'herbal.csv'), '规则编号,级别,规则名称,最多味数\r\n');
    const missing = await loadRuleSources([join(dir, 'nope.csv'), empty]);
    assert.deepEqual(missing.errors.map((problem) => problem.message), [
      '文件或文件夹不存在',
      '文件夹中没有 .csv、.xlsx 或 .json 规则文件',
    ]);
    const headerOnly = await loadRuleSources([join(dir, 'herbal.csv')]);
    assert.deepEqual(headerOnly.warnings.map((problem) => problem.message), ['只有表头, 没有规则行']);
    assert.deepEqual(headerOnly.errors.map((problem) => problem.message), ['规则来源中没有任何规则']);
    assert.deepEqual((await loadRuleSources([])).errors.map((problem) => problem.message), ['没有指定规则来源']);
  });
});

describe('the committed samples', () => {
  test('the CSV folder, the workbook and the JSON library hold the same rules', async () => {
    const csv = await loadRuleSources([join(samples, 'csv')]);
    const xlsx = await loadRuleSources([join(samples, 'rules.xlsx')]);
    const json = await loadRuleSources([join(samples, 'rules.json')]);
    for (const result of [csv, xlsx, json]) {
      assert.deepEqual(result.errors, []);
      assert.deepEqual(result.warnings, []);
      assert.deepEqual(result.rules, exampleRules);
    }
  });

  test('the sample CSVs are what the generator writes today', async () => {
    const sheets = rulesToSheets(exampleInputs);
    for (const [index, sheet] of sheets.entries()) {
      const name = `${String(index + 1).padStart(2, '0')}-${sheet.name}.csv`;
      const committed = await readFile(join(samples, 'csv', name), 'utf8');
      assert.equal(committed, `\uFEFF${formatCsv([sheet.headers, ...sheet.rows])}`, name);
    }
  });
});

describe('round trips and the column table', () => {
  test('a rule using every column survives sheets → CSV → rules', async () => {
    const everything: RuleInput[] = [
      {
        id: 'IND-ALL',
        kind: 'indication',
        level: 'warn',
        title: '全部字段',
        message: '{drug} 限儿童, "引号", 逗号\n换行',
        basis: '依据',
        scope: {
          visitTypes: ['outpatient', 'inpatient'],
          medTypes: ['11', '14'],
          insurance: ['310'],
          hospitalLevels: [2, 3],
          depts: ['儿科', '0301'],
        },
        selfPay: false,
        effective: { from: '2025-01-01', to: '2099-12-31' },
        enabled: false,
        drugs: ['XH01ACR018'],
        hospCodes: ['00123'],
        require: {
          diagnoses: ['E23.0'],
          gender: 'F',
          ageMin: 3,
          ageMax: 17,
          visitTypes: ['inpatient'],
          insurance: ['410'],
          hospitalLevelMin: 2,
        },
      },
      {
        id: 'CHR-ALL',
        kind: 'chronic',
        level: 'block',
        title: '慢病',
        disease: { code: 'M03900', name: '高血压', diagnoses: ['I10-I15'] },
        allow: ['XC09'],
        allowHospCodes: ['H001'],
        caps: { yearAmount: 3000.5, yearQuantity: 12, warnRatio: 0.75 },
      },
      {
        id: 'REP-ALL',
        kind: 'repeat',
        level: 'warn',
        title: '重复',
        match: 'class',
        toleranceDays: 2,
        lookbackDays: 60,
        drugs: ['XC'],
        exclude: ['XC09AA'],
        sameOrder: false,
      },
      { id: 'DAY-ALL', kind: 'days', level: 'block', title: '疗程', maxDays: 14, drugs: ['XJ01'], cumulative: true, lookbackDays: 30 },
      { id: 'HRB-ALL', kind: 'herbal', level: 'warn', title: '饮片', maxItems: 20, except: { diagnoses: ['C00-C97'], maxItems: 25 } },
    ];
    const expected = everything.map((rule) => Rule.parse(rule));
    for (const inputs of [everything, expected]) {
      const dir = await folder();
      for (const sheet of rulesToSheets(inputs)) {
        await writeFile(join(dir, `${sheet.kind}.csv`), formatCsv([sheet.headers, ...sheet.rows]));
      }
      const result = await loadRuleSources([dir], { today: '2025-06-01' });
      assert.deepEqual(result.errors, []);
      const byId = new Map(result.rules.map((rule) => [rule.id, rule]));
      assert.deepEqual(
        expected.map((rule) => byId.get(rule.id)),
        expected,
      );
    }
  });

  test('every field of every rule kind has a column, and every column a field', () => {
    const leafFields = (schema: z.ZodType, prefix: string): string[] => {
      let inner: unknown = schema;
      while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = (inner as z.ZodOptional).unwrap();
      if (inner instanceof z.ZodObject) {
        return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, value]) =>
          leafFields(value, prefix ? `${prefix}.${key}` : key),
        );
      }
      return [prefix];
    };
    for (const option of Rule.options) {
      const kind = option.shape.kind.value;
      // `require.anyOf` has no column of its own: it is written as several rows of one rule id.
      const fields = leafFields(option, '')
        .filter((field) => field !== 'require.anyOf')
        .sort();
      const columns = COLUMNS.filter((column) => columnAppliesTo(column, kind))
        .map((column) => column.field)
        .sort();
      assert.deepEqual(columns, fields, kind);
    }
  });

  test('kind names are recognised in file and sheet names', () => {
    assert.equal(kindFromSourceName('限定支付'), 'indication');
    assert.equal(kindFromSourceName('01-慢特病'), 'chronic');
    assert.equal(kindFromSourceName('Repeat_2025'), 'repeat');
    assert.equal(kindFromSourceName('用药天数（草稿）'), 'days');
    assert.equal(kindFromSourceName('herbal'), 'herbal');
    assert.equal(kindFromSourceName('rules'), undefined);
    assert.equal(kindFromSourceName('Sheet1'), undefined);
  });

  test('docs/rules.md documents every header, kind name and value spelling', async () => {
    const docs = await readFile(join(__dirname, '..', '..', 'docs', 'rules.md'), 'utf8');
    const missing: string[] = [];
    for (const column of COLUMNS) {
      for (const text of [column.field, ...column.headers]) if (!docs.includes(text)) missing.push(text);
    }
    for (const kind of RULE_KINDS) for (const name of KIND_NAMES[kind]) if (!docs.includes(name)) missing.push(name);
    for (const spellings of Object.values(VALUE_SPELLINGS)) {
      for (const names of Object.values(spellings) as string[][]) {
        for (const name of names) if (!docs.includes(name)) missing.push(name);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('the JSON and CSV examples in docs/rules.md are valid rules', async () => {
    const docs = await readFile(join(__dirname, '..', '..', 'docs', 'rules.md'), 'utf8');
    const blocks = [...docs.matchAll(/```(json|csv)([^\n]*)\n([\s\S]*?)```/g)];
    const dir = await folder();
    let csvFiles = 0;
    for (const [, language, info, body] of blocks) {
      if (language === 'json') {
        const parsed = Rule.safeParse(JSON.parse(body!));
        assert.ok(parsed.success, body);
      } else {
        const name = info!.trim();
        assert.ok(name.endsWith('.csv'), `csv example without a file name: ${body!.slice(0, 40)}`);
        await writeFile(join(dir, name), body!);
        csvFiles += 1;
      }
    }
    // One example per kind at least; the indication kind has a second one for the rules v2 columns.
    assert.ok(csvFiles >= RULE_KINDS.length);
    const result = await loadRuleSources([dir], { today: '2025-01-01' });
    assert.deepEqual(result.errors.map(formatSourceProblem), []);
    assert.deepEqual(result.warnings.map(formatSourceProblem), []);
  });
});
