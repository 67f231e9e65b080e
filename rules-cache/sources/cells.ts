/**
 * Turns one cell's text into a field value, strictly: a cell that does not clearly say one
 * thing is an error with the reason, never a guess, because a mis-read restriction would
 * quietly stop protecting the fund.
 */
import { kindFromName, KIND_NAMES, normalizeSpelling, VALUE_SPELLINGS, type CellType } from './columns';
import { RULE_KINDS } from '../model';

/** A cell as a reader hands it over: its text, and what the reader noticed about it. */
export interface SheetCell {
  text: string;
  /** The workbook stored a date here (the text is then `YYYY-MM-DD`). */
  isDate?: boolean;
  /** The reader could not turn the cell into text (an error value, a formula with no result). */
  problem?: string;
}

export type CellResult = { ok: true; value: unknown } | { ok: false; message: string };

const LIST_SEPARATORS = /[;；、\r\n]+/;

const ok = (value: unknown): CellResult => ({ ok: true, value });
const fail = (message: string): CellResult => ({ ok: false, message });

/** Whether a cell holds nothing; empty cells leave the field out, so its default applies. */
export function isBlank(cell: SheetCell | undefined): boolean {
  return !cell || (cell.problem === undefined && cell.text.trim() === '');
}

/** Parses a non-blank cell for a column of the given type. */
export function parseCell(type: CellType, cell: SheetCell): CellResult {
  if (cell.problem !== undefined) return fail(cell.problem);
  if (cell.isDate && type !== 'date') {
    return fail(`单元格被 Excel 识别成了日期(${cell.text}), 请把该列设为“文本”格式后重新输入`);
  }
  const text = cell.text.trim();
  switch (type) {
    case 'text':
      return ok(text);
    case 'code':
      return parseCode(text);
    case 'code[]':
      return parseList(text, parseCode);
    case 'integer':
      return parseInteger(text);
    case 'number':
      return parseNumber(text);
    case 'ratio':
      return parseRatio(text);
    case 'boolean':
      return parseSpelling(text, VALUE_SPELLINGS.boolean, (key) => key === 'true');
    case 'date':
      return parseDate(text);
    case 'level':
      return parseSpelling(text, VALUE_SPELLINGS.level, (key) => key);
    case 'gender':
      return parseSpelling(text, VALUE_SPELLINGS.gender, (key) => key);
    case 'match':
      return parseSpelling(text, VALUE_SPELLINGS.match, (key) => key);
    case 'visitType[]':
      return parseList(text, (item) => parseSpelling(item, VALUE_SPELLINGS.visitType, (key) => key));
    case 'hospitalLevel':
      return parseSpelling(text, VALUE_SPELLINGS.hospitalLevel, Number);
    case 'hospitalLevel[]':
      return parseList(text, (item) => parseSpelling(item, VALUE_SPELLINGS.hospitalLevel, Number));
    case 'kind':
      return parseKind(text);
    case 'text[]':
      return parseTextList(text);
    case 'lab[]':
      return parseLabList(text);
    case 'title':
      return parseSpelling(text, VALUE_SPELLINGS.title, (key) => key);
    case 'pregnancy[]':
      return parseList(text, (item) => parseSpelling(item, VALUE_SPELLINGS.pregnancy, (key) => key));
    case 'window':
      return parseSpelling(text, VALUE_SPELLINGS.window, (key) => key);
    case 'period':
      return parseSpelling(text, VALUE_SPELLINGS.period, (key) => key);
  }
}

function parseList(text: string, parseItem: (item: string) => CellResult): CellResult {
  // A comma usually means the person expected it to separate items; taking "C34,C15" as one
  // code would fail later with a less helpful message, and in a department list it would
  // silently name a department that does not exist.
  if (/[,，]/.test(text)) return fail('多个值请用分号 ; 分隔, 不要用逗号');
  const values: unknown[] = [];
  for (const item of text.split(LIST_SEPARATORS)) {
    const trimmed = item.trim();
    if (trimmed === '') continue;
    const parsed = parseItem(trimmed);
    // Item messages already quote the item, so the person sees which value is wrong.
    if (!parsed.ok) return parsed;
    values.push(parsed.value);
  }
  return values.length > 0 ? ok(values) : fail('列表中没有任何值');
}

/** Condition texts keep their 、 and commas (they are sentences): only `;` and line breaks separate. */
function parseTextList(text: string): CellResult {
  const values = text
    .split(/[;；\r\n]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return values.length > 0 ? ok(values) : fail('列表中没有任何值');
}

/**
 * One lab condition as an office clerk writes it: `白蛋白(ALB)<30g/L,30天` — the name, the
 * lab codes in brackets (several separated by `/`), a comparison (`<`, `<=`, `>`, `>=`, `≤`,
 * `≥`), the value with an optional unit, and optionally how recent the result must be.
 */
const LAB_CELL = /^([^()<>=≤≥]+?)\(([^()]+)\)\s*(<=|>=|<|>|≤|≥)\s*([+-]?\d+(?:\.\d+)?)\s*([^,]*?)\s*(?:,\s*(\d+)\s*天)?$/;

export function parseLab(text: string): CellResult {
  const folded = text.normalize('NFKC').trim();
  const match = LAB_CELL.exec(folded);
  if (!match) {
    return fail(`检验条件「${text}」无法识别, 请写成 名称(编码)比较符数值单位,天数 如 白蛋白(ALB)<30g/L,30天`);
  }
  const [, name, codeText, op, value, unit, withinDays] = match;
  const codes = codeText!.split('/').map((code) => code.trim()).filter((code) => code !== '');
  if (codes.length === 0) return fail(`检验条件「${text}」括号中没有检验编码`);
  const operator = op === '≤' ? '<=' : op === '≥' ? '>=' : op!;
  return ok({
    codes,
    name: name!.trim(),
    op: operator,
    value: Number(value),
    ...(unit ? { unit } : {}),
    ...(withinDays !== undefined ? { withinDays: Number(withinDays) } : {}),
  });
}

function parseLabList(text: string): CellResult {
  const values: unknown[] = [];
  for (const item of text.split(/[;；\r\n]+/)) {
    if (item.trim() === '') continue;
    const parsed = parseLab(item);
    if (!parsed.ok) return parsed;
    values.push(parsed.value);
  }
  return values.length > 0 ? ok(values) : fail('列表中没有任何值');
}

function parseCode(text: string): CellResult {
  const folded = text.normalize('NFKC').trim();
  // Excel shows long digit strings as 1.23457E+11 and saves them that way into CSV: the
  // original code is gone, so say how to get it back rather than publish a wrong one.
  if (/^\d+(?:\.\d+)?E\+\d+$/i.test(folded)) {
    return fail(`「${folded}」是被 Excel 转成的科学计数法, 请把该列设为“文本”格式后重新输入编码`);
  }
  return ok(folded);
}

const INTEGER = /^[+-]?\d+(?:\.0+)?$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const GROUPED = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;

/** Digits without full-width forms, spaces or the thousands separators Excel writes into CSV ("3,000"). */
function numericText(text: string): string {
  const folded = text.normalize('NFKC').replace(/\s+/g, '');
  return GROUPED.test(folded) ? folded.replace(/,/g, '') : folded;
}

function parseInteger(text: string): CellResult {
  const plain = numericText(text);
  if (!INTEGER.test(plain)) return fail(`「${text}」不是整数`);
  return ok(Number(plain));
}

function parseNumber(text: string): CellResult {
  const plain = numericText(text);
  if (!DECIMAL.test(plain)) return fail(`「${text}」不是数字`);
  return ok(Number(plain));
}

function parseRatio(text: string): CellResult {
  const plain = numericText(text);
  // A percent-formatted cell is saved into CSV as "80%"; in a workbook it is already 0.8.
  if (plain.endsWith('%')) {
    const percent = plain.slice(0, -1);
    if (!DECIMAL.test(percent)) return fail(`「${text}」不是百分比`);
    return ok(Number((Number(percent) / 100).toPrecision(12)));
  }
  return parseNumber(text);
}

function parseSpelling<Key extends string | number, Value>(
  text: string,
  spellings: Readonly<Record<Key, readonly string[]>>,
  toValue: (key: string) => Value,
): CellResult {
  const wanted = normalizeSpelling(text);
  const entries = Object.entries(spellings) as Array<[string, readonly string[]]>;
  for (const [key, names] of entries) {
    if (names.some((name) => normalizeSpelling(name) === wanted)) return ok(toValue(key));
  }
  const accepted = entries.map(([, names]) => names.join('/')).join(' 或 ');
  return fail(`「${text}」无法识别, 可填: ${accepted}`);
}

function parseKind(text: string): CellResult {
  const kind = kindFromName(text);
  if (kind) return ok(kind);
  const accepted = RULE_KINDS.map((name) => `${KIND_NAMES[name][0]!}(${name})`).join('、');
  return fail(`规则类型「${text}」无法识别, 可填: ${accepted}`);
}

const DATE_FORMATS: readonly RegExp[] = [
  /^(\d{4})-(\d{1,2})-(\d{1,2})$/,
  /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/,
  /^(\d{4})\.(\d{1,2})\.(\d{1,2})$/,
  /^(\d{4})年(\d{1,2})月(\d{1,2})日$/,
  /^(\d{4})(\d{2})(\d{2})$/,
];

/**
 * Dates as people and Excel write them: `2025-01-01`, `2025/1/1` (what Excel on Chinese
 * Windows saves into CSV), `2025.1.1`, `2025年1月1日`, `20250101`.
 */
export function parseDate(text: string): CellResult {
  const folded = text.normalize('NFKC').replace(/\s+/g, '');
  for (const format of DATE_FORMATS) {
    const match = format.exec(folded);
    if (!match) continue;
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const date = new Date(Date.UTC(year, month - 1, day));
    if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
      return fail(`「${text}」不是有效日期`);
    }
    return ok(isoDate(date));
  }
  return fail(`「${text}」不是日期, 请写成 2025-01-01`);
}

/** A date as `YYYY-MM-DD`, read in UTC (how workbooks hand dates over). */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}
