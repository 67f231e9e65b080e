/**
 * Writes the sample rule sources in rules-cache/sources/samples/ from the example library
 * there (rules.json): one CSV per rule kind with Chinese headers (UTF-8 with a byte-order
 * mark, so Excel on Chinese Windows opens them correctly) and rules.xlsx, one sheet per
 * kind plus a 说明 sheet. The workbook stores numbers as numbers, dates as dates and codes
 * as text, and offers drop-downs for the columns with fixed values, so it behaves like a
 * sheet the insurance office would keep.
 *
 *   node --import tsx scripts/make-sample-xlsx.ts
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import type { RuleInput } from '../rules-cache/model';
import {
  formatCsv,
  formatSourceProblem,
  loadRuleSources,
  rulesToSheets,
  VALUE_SPELLINGS,
  type CellType,
  type RuleSheet,
} from '../rules-cache/sources';

const samples = join(__dirname, '..', 'rules-cache', 'sources', 'samples');

/** Fixed values offered as a drop-down; list columns take several values and cannot. */
const DROP_DOWNS: Partial<Record<CellType, readonly string[]>> = {
  level: Object.values(VALUE_SPELLINGS.level).map((names) => names[0]),
  gender: Object.values(VALUE_SPELLINGS.gender).map((names) => names[0]),
  match: Object.values(VALUE_SPELLINGS.match).map((names) => names[0]),
  boolean: Object.values(VALUE_SPELLINGS.boolean).map((names) => names[0]),
  hospitalLevel: Object.values(VALUE_SPELLINGS.hospitalLevel).map((names) => names[0]),
};

/**
 * exceljs has range validations at run time but leaves them out of its type definitions;
 * per-cell validations instead come out as overlapping ranges, which Excel may "repair".
 */
interface WorksheetWithRangeValidations {
  dataValidations: { add(range: string, validation: ExcelJS.DataValidation): void };
}

/** Rows that get the drop-downs: room for the office to add rules below the samples. */
const EDITABLE_ROWS = 500;

const INSTRUCTIONS = [
  '医保规则维护表(示例)',
  '',
  '每个工作表是一类规则, 工作表名就是规则类型: 限定支付、慢特病、重复开药、用药天数、中药饮片。',
  '第 1 行是表头, 从第 2 行起每行一条规则; 空单元格表示不填(使用默认值)。',
  '一个单元格填多个值时用分号 ; 分隔, 如 C15-C26;C34。',
  '编码列请保持“文本”格式, 以免 Excel 去掉前导零或改成科学计数法。',
  '可以添加「备注」列写说明, 它不会进入规则。本工作表(说明)不会被读取。',
  '全部列名、取值和示例见 docs/rules.md。',
  '检查并生成规则包: rxgate rules build rules.xlsx --key private.pem --out 输出目录',
];

function rowsFor(sheet: RuleSheet): Array<Array<string | number | Date | undefined>> {
  return sheet.rows.map((row) =>
    row.map((value, index) =>
      sheet.columns[index]!.type === 'date' && typeof value === 'string' ? new Date(`${value}T00:00:00Z`) : value,
    ),
  );
}

function addRuleSheet(workbook: ExcelJS.Workbook, sheet: RuleSheet): void {
  const worksheet = workbook.addWorksheet(sheet.name, { views: [{ state: 'frozen', ySplit: 1 }] });
  worksheet.addRow(sheet.headers);
  for (const row of rowsFor(sheet)) worksheet.addRow(row);
  worksheet.getRow(1).font = { bold: true };
  sheet.columns.forEach((column, index) => {
    const sheetColumn = worksheet.getColumn(index + 1);
    const widest = Math.max(column.headers[0]!.length * 2, ...sheet.rows.map((row) => String(row[index] ?? '').length));
    sheetColumn.width = Math.min(60, Math.max(8, widest + 2));
    worksheet.getCell(1, index + 1).note = `字段 ${column.field}`;
    if (column.type === 'code' || column.type === 'code[]') sheetColumn.numFmt = '@';
    if (column.type === 'date') sheetColumn.numFmt = 'yyyy-mm-dd';
    const choices = DROP_DOWNS[column.type];
    if (choices) {
      const letter = sheetColumn.letter;
      (worksheet as ExcelJS.Worksheet & WorksheetWithRangeValidations).dataValidations.add(`${letter}2:${letter}${EDITABLE_ROWS}`, {
        type: 'list',
        allowBlank: true,
        formulae: [`"${choices.join(',')}"`],
      });
    }
  });
}

async function main(): Promise<void> {
  const libraryPath = join(samples, 'rules.json');
  const checked = await loadRuleSources([libraryPath]);
  if (checked.errors.length > 0) {
    throw new Error(`示例规则库有错误:\n${checked.errors.map(formatSourceProblem).join('\n')}`);
  }
  // Lay out the rules as written, not as parsed, so the sheets carry no spelled-out defaults.
  const written = (JSON.parse(await readFile(libraryPath, 'utf8')) as { rules: RuleInput[] }).rules;
  const sheets = rulesToSheets(written);

  const csvFolder = join(samples, 'csv');
  await mkdir(csvFolder, { recursive: true });
  for (const [index, sheet] of sheets.entries()) {
    const name = `${String(index + 1).padStart(2, '0')}-${sheet.name}.csv`;
    await writeFile(join(csvFolder, name), `\uFEFF${formatCsv([sheet.headers, ...sheet.rows])}`);
  }

  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'RxGate';
  // Fixed dates keep the regenerated file from differing only in its timestamps.
  workbook.created = new Date('2025-01-01T00:00:00Z');
  workbook.modified = new Date('2025-01-01T00:00:00Z');
  const instructions = workbook.addWorksheet('说明');
  for (const line of INSTRUCTIONS) instructions.addRow([line]);
  instructions.getColumn(1).width = 100;
  for (const sheet of sheets) addRuleSheet(workbook, sheet);
  await workbook.xlsx.writeFile(join(samples, 'rules.xlsx'));

  const reread = await loadRuleSources([join(samples, 'rules.xlsx')]);
  if (reread.errors.length > 0 || reread.rules.length !== checked.rules.length) {
    throw new Error(`生成的工作簿读回后不一致:\n${reread.errors.map(formatSourceProblem).join('\n')}`);
  }
  console.log(`已生成 ${sheets.length} 个 CSV 和 rules.xlsx, 共 ${checked.rules.length} 条规则`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
