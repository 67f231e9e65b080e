/**
 * Rule sources as the insurance office edits them: folders of CSV files, XLSX workbooks
 * (one sheet per rule kind) and JSON libraries. `loadRuleSources` reads them all, checks
 * every rule against the rule model, and reports every problem of every file in one run,
 * located by file, sheet, row and column, so a source is fixed in one pass. The format is
 * documented for people in docs/rules.md.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { describeIssue, normalizeCode, Rule, type RuleKind } from '../model';
import { isoDate } from './cells';
import {
  columnAppliesTo,
  columnForField,
  COLUMNS,
  fieldLabel,
  INSTRUCTION_SHEET_NAMES,
  kindFromSourceName,
  normalizeSpelling,
} from './columns';
import { decodeCsvBytes, parseCsv } from './csv';
import type { SourceProblem } from './problems';
import { readRuleSheet, type RawSheet, type RuleCandidate, type RuleOrigin } from './sheet';
import { readWorkbook } from './xlsx';

export { formatSourceProblem, type SourceProblem } from './problems';
export { COLUMNS, KIND_NAMES, VALUE_SPELLINGS, type CellType, type ColumnDefinition } from './columns';
export { formatCsv, parseCsv, decodeCsvBytes, type CsvEncoding } from './csv';
export { rulesToSheets, type RuleSheet } from './write';

/** What the checks may compare rules against. */
export interface LoadRuleSourcesOptions {
  /**
   * National drug codes the hospital actually uses (a sample of its catalogue). A rule's
   * drug prefix that matches none of them is a warning: usually a typo, sometimes a drug
   * the hospital does not stock.
   */
  catalogue?: readonly string[];
  /** The day against which "already expired" is judged; default today, local time. */
  today?: string | Date;
}

/**
 * Everything found in the sources. `rules` holds the rules that passed every check; when
 * `errors` is not empty they are incomplete, and nothing from the sources may be
 * published. `files` lists every file that was read.
 */
export interface SourceResult {
  rules: Rule[];
  errors: SourceProblem[];
  warnings: SourceProblem[];
  files: string[];
}

const SOURCE_EXTENSIONS = new Set(['.csv', '.xlsx', '.json']);
/** Spreadsheet formats a person may well drop into the folder but that cannot be read. */
const UNREADABLE_SPREADSHEETS = new Set(['.xls', '.xlsm', '.xlsb', '.ods', '.et', '.ett', '.numbers', '.tsv']);

interface Collected {
  candidates: RuleCandidate[];
  errors: SourceProblem[];
  warnings: SourceProblem[];
  files: string[];
  /** Every path met, readable or not, in the order met: problems are reported in this order. */
  paths: string[];
  /** `file␁sheet` in the order read, so problems come out in the order of the sources. */
  sheets: string[];
}

function sheetKey(file: string, sheet: string | undefined): string {
  return `${file}\u0001${sheet ?? ''}`;
}

/**
 * Loads rule sources. Each path is a folder (its CSV, XLSX and JSON files, not its
 * subfolders), a `.csv` file, an `.xlsx` workbook or a `.json` library (`{version, rules}`
 * or a bare array of rules).
 */
export async function loadRuleSources(
  paths: readonly string[],
  options: LoadRuleSourcesOptions = {},
): Promise<SourceResult> {
  const collected: Collected = { candidates: [], errors: [], warnings: [], files: [], paths: [], sheets: [] };
  if (paths.length === 0) {
    collected.errors.push({ file: '', message: '没有指定规则来源' });
  }
  for (const path of paths) await collectPath(path, collected);

  const rules = validateCandidates(collected, options);
  if (collected.candidates.length === 0 && collected.errors.length === 0) {
    // An empty pack would erase the rules on every PC that applies it.
    collected.errors.push({ file: paths.join(', '), message: '规则来源中没有任何规则' });
  }
  return {
    rules,
    errors: sortProblems(collected.errors, collected),
    warnings: sortProblems(collected.warnings, collected),
    files: collected.files,
  };
}

async function collectPath(path: string, collected: Collected): Promise<void> {
  collected.paths.push(path);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch {
    collected.errors.push({ file: path, message: '文件或文件夹不存在' });
    return;
  }
  if (!isDirectory) {
    const extension = extname(path).toLowerCase();
    if (!SOURCE_EXTENSIONS.has(extension)) {
      collected.errors.push({ file: path, message: unsupportedMessage(extension) });
      return;
    }
    await collectFile(path, extension, collected);
    return;
  }
  const names = (await readdir(path)).sort();
  let found = 0;
  for (const name of names) {
    // `~$…` is the lock file Excel keeps beside a workbook it has open.
    if (name.startsWith('.') || name.startsWith('~$')) continue;
    const file = join(path, name);
    collected.paths.push(file);
    const extension = extname(name).toLowerCase();
    if (UNREADABLE_SPREADSHEETS.has(extension)) {
      collected.errors.push({ file, message: unsupportedMessage(extension) });
      continue;
    }
    if (!SOURCE_EXTENSIONS.has(extension)) continue;
    if (!(await stat(file)).isFile()) continue;
    found += 1;
    await collectFile(file, extension, collected);
  }
  if (found === 0) collected.errors.push({ file: path, message: '文件夹中没有 .csv、.xlsx 或 .json 规则文件' });
}

function unsupportedMessage(extension: string): string {
  return UNREADABLE_SPREADSHEETS.has(extension)
    ? `不支持 ${extension} 格式, 请在 Excel 中另存为 .xlsx 或“CSV UTF-8(逗号分隔)”`
    : `不支持的文件类型 ${extension || '(无扩展名)'}, 规则来源应为 .csv、.xlsx 或 .json`;
}

async function collectFile(file: string, extension: string, collected: Collected): Promise<void> {
  collected.files.push(file);
  if (extension === '.csv') await collectCsv(file, collected);
  else if (extension === '.xlsx') await collectWorkbook(file, collected);
  else await collectJson(file, collected);
}

function stem(file: string): string {
  return basename(file, extname(file));
}

function addSheet(sheet: RawSheet, collected: Collected): void {
  collected.sheets.push(sheetKey(sheet.file, sheet.sheet));
  if (sheet.rows.every((row) => row.cells.every((cell) => cell.problem === undefined && cell.text.trim() === ''))) {
    collected.warnings.push({
      file: sheet.file,
      ...(sheet.sheet !== undefined ? { sheet: sheet.sheet } : {}),
      message: '只有表头, 没有规则行',
    });
  }
  const { candidates, problems } = readRuleSheet(sheet);
  collected.candidates.push(...candidates);
  collected.errors.push(...problems);
}

async function collectCsv(file: string, collected: Collected): Promise<void> {
  const decoded = decodeCsvBytes(await readFile(file));
  if (!decoded.ok) {
    collected.errors.push({ file, message: decoded.message });
    return;
  }
  const parsed = parseCsv(decoded.text);
  if (!parsed.ok) {
    collected.errors.push({ file, row: parsed.row, message: `CSV 格式错误: ${parsed.message}` });
    return;
  }
  const [header, ...rows] = parsed.records;
  if (!header) {
    collected.errors.push({ file, message: '文件是空的, 第 1 行应为表头' });
    return;
  }
  const nameKind = kindFromSourceName(stem(file));
  addSheet(
    {
      file,
      ...(nameKind ? { nameKind } : {}),
      header: header.fields.map((text) => ({ text })),
      rows: rows.map((record) => ({ row: record.row, cells: record.fields.map((text) => ({ text })) })),
    },
    collected,
  );
}

function isInstructionSheet(name: string): boolean {
  const normalized = normalizeSpelling(name);
  return (
    normalized.startsWith('#') ||
    normalized.startsWith('_') ||
    INSTRUCTION_SHEET_NAMES.some((instruction) => normalizeSpelling(instruction) === normalized)
  );
}

async function collectWorkbook(file: string, collected: Collected): Promise<void> {
  const workbook = await readWorkbook(file);
  if (!workbook.ok) {
    collected.errors.push({ file, message: workbook.message });
    return;
  }
  // A workbook saved from a single CSV keeps its default sheet name; its file name may say the kind.
  const fileKind = kindFromSourceName(stem(file));
  let sheetsWithRules = 0;
  for (const sheet of workbook.sheets) {
    if (isInstructionSheet(sheet.name)) continue;
    const empty = sheet.header.every((cell) => cell.text.trim() === '' && cell.problem === undefined) && sheet.rows.length === 0;
    if (empty) continue;
    sheetsWithRules += 1;
    if (sheet.hidden) {
      collected.warnings.push({ file, sheet: sheet.name, message: '工作表已隐藏, 但其中的规则仍会发布' });
    }
    if (sheet.header.length === 0) {
      collected.errors.push({ file, sheet: sheet.name, row: 1, message: '第 1 行应为表头, 但它是空的' });
      continue;
    }
    const nameKind = kindFromSourceName(sheet.name) ?? fileKind;
    addSheet({ file, sheet: sheet.name, ...(nameKind ? { nameKind } : {}), header: sheet.header, rows: sheet.rows }, collected);
  }
  if (sheetsWithRules === 0) collected.warnings.push({ file, message: '工作簿中没有规则工作表' });
}

async function collectJson(file: string, collected: Collected): Promise<void> {
  let document: unknown;
  try {
    document = JSON.parse((await readFile(file, 'utf8')).replace(/^\uFEFF/, ''));
  } catch (error) {
    collected.errors.push({ file, message: `JSON 格式错误: ${error instanceof Error ? error.message : String(error)}` });
    return;
  }
  const list = Array.isArray(document)
    ? document
    : document && typeof document === 'object' && Array.isArray((document as { rules?: unknown }).rules)
      ? ((document as { rules: unknown[] }).rules)
      : undefined;
  if (!list) {
    collected.errors.push({ file, message: 'JSON 规则库应为 {"version": N, "rules": [...]} 或规则数组' });
    return;
  }
  list.forEach((raw, index) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      collected.errors.push({ file, item: index + 1, message: '规则应为 JSON 对象' });
      return;
    }
    const record = raw as Record<string, unknown>;
    const id = typeof record.id === 'string' && record.id.trim() !== '' ? record.id.trim() : undefined;
    collected.candidates.push({
      raw: record,
      origin: { file, index, columns: new Map() },
      ...(id ? { id } : {}),
      failedFields: new Set(),
    });
  });
}

/** Where a rule is, in words, for a message that sends the reader to another place. */
function describePlace(origin: RuleOrigin): string {
  const parts = [origin.file];
  if (origin.sheet !== undefined) parts.push(`工作表「${origin.sheet}」`);
  if (origin.row !== undefined) parts.push(`第 ${origin.row} 行`);
  if (origin.index !== undefined) parts.push(`第 ${origin.index + 1} 条规则`);
  return parts.join(' ');
}

function isJson(origin: RuleOrigin): boolean {
  return origin.index !== undefined;
}

/** The problem's location fields for a rule and one of its fields. */
function locate(origin: RuleOrigin, field: string | undefined, ruleId: string | undefined): Omit<SourceProblem, 'message'> {
  const column = field === undefined ? undefined : isJson(origin) ? field || undefined : origin.columns.get(field);
  return {
    file: origin.file,
    ...(origin.sheet !== undefined ? { sheet: origin.sheet } : {}),
    ...(origin.row !== undefined ? { row: origin.row } : {}),
    ...(origin.index !== undefined ? { item: origin.index + 1 } : {}),
    ...(column !== undefined ? { column } : {}),
    ...(ruleId !== undefined ? { ruleId } : {}),
  };
}

/**
 * Splits a schema issue's path into the field a person edits (a column) and what lies
 * below it: `['require', 'diagnoses', 2]` is item 3 of the 限定诊断 column.
 */
function issueField(path: readonly PropertyKey[]): { field: string; item?: number; isColumn: boolean } {
  const names: string[] = [];
  for (const segment of path) {
    if (typeof segment !== 'string') break;
    names.push(segment);
  }
  for (let length = names.length; length > 0; length -= 1) {
    const field = names.slice(0, length).join('.');
    if (columnForField(field)) {
      const next = path[length];
      return { field, ...(typeof next === 'number' ? { item: next } : {}), isColumn: true };
    }
  }
  const next = path[names.length];
  return { field: names.join('.'), ...(typeof next === 'number' ? { item: next } : {}), isColumn: false };
}

function valueAt(target: unknown, path: readonly PropertyKey[]): unknown {
  let node = target;
  for (const segment of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

interface MissingColumnIssue {
  problem: SourceProblem;
  rows: number[];
}

/**
 * Joins the rows of one indication rule id in one sheet into one rule (rules.md v2: an
 * `anyOf` is several rows of the same id). Conditions the same on every row apply to all;
 * the rest of each row is one alternative. Every other column must agree (or be left blank
 * on the later rows), since a rule has one title, level and set of drugs.
 */
function joinAlternativeRows(collected: Collected): void {
  const groups = new Map<string, RuleCandidate[]>();
  for (const candidate of collected.candidates) {
    if (candidate.id === undefined || candidate.origin.row === undefined || candidate.raw.kind !== 'indication') continue;
    const key = [candidate.origin.file, candidate.origin.sheet ?? '', candidate.id].join('\u0001');
    const group = groups.get(key);
    if (group) group.push(candidate);
    else groups.set(key, [candidate]);
  }
  const replaced = new Map<RuleCandidate, RuleCandidate | null>();
  for (const rows of groups.values()) {
    if (rows.length < 2) continue;
    const joined = joinRows(rows, collected);
    rows.forEach((row, index) => replaced.set(row, index === 0 ? joined : null));
  }
  if (replaced.size === 0) return;
  collected.candidates = collected.candidates.flatMap((candidate) => {
    const replacement = replaced.get(candidate);
    if (replacement === undefined) return [candidate];
    return replacement === null ? [] : [replacement];
  });
}

function joinRows(rows: readonly RuleCandidate[], collected: Collected): RuleCandidate {
  const first = rows[0]!;
  const id = first.id!;
  const raw: Record<string, unknown> = {};
  const failedFields = new Set<string>();
  for (const row of rows) for (const field of row.failedFields) failedFields.add(field);

  const keys = new Set(rows.flatMap((row) => Object.keys(row.raw)));
  for (const key of keys) {
    if (key === 'require') continue;
    let value: unknown;
    for (const row of rows) {
      const own = row.raw[key];
      if (own === undefined) continue;
      if (value === undefined) value = own;
      else if (!isDeepStrictEqual(own, value)) {
        failedFields.add(key);
        const column = [...row.origin.columns.entries()].find(([field]) => field === key || field.startsWith(`${key}.`))?.[1];
        collected.errors.push({
          ...locate(row.origin, undefined, id),
          ...(column !== undefined ? { column } : {}),
          message: `与同一规则编号的第 ${first.origin.row ?? 0} 行不一致: 多行写同一条规则时, 除限定条件外各列须相同或留空`,
        });
      }
    }
    if (value !== undefined) raw[key] = value;
  }

  const requirements = rows.map((row) => (row.raw.require as Record<string, unknown> | undefined) ?? {});
  const common: Record<string, unknown> = {};
  for (const key of new Set(requirements.flatMap((requirement) => Object.keys(requirement)))) {
    const value = requirements[0]![key];
    if (value !== undefined && requirements.every((requirement) => isDeepStrictEqual(requirement[key], value))) common[key] = value;
  }
  const anyOf = requirements.map((requirement, index) => {
    const alternative = Object.fromEntries(Object.entries(requirement).filter(([key]) => !(key in common)));
    if (Object.keys(alternative).length === 0) {
      failedFields.add('require');
      collected.errors.push({
        ...locate(rows[index]!.origin, undefined, id),
        message: '这一行的限定条件与同一规则编号其他行共同的条件相同, 作为“或”的一种情况等于不设限制; 请删去这一行或补上它特有的条件',
      });
    }
    return alternative;
  });
  raw.require = { ...common, anyOf };
  return { raw, origin: first.origin, id, failedFields, rowOrigins: rows.map((row) => row.origin) };
}

function validateCandidates(collected: Collected, options: LoadRuleSourcesOptions): Rule[] {
  joinAlternativeRows(collected);
  const rules: Rule[] = [];
  const firstById = new Map<string, RuleOrigin>();
  // The same "column missing" complaint on every row of a sheet is one problem, not fifty.
  const missingColumns = new Map<string, MissingColumnIssue>();
  const checks = new WarningChecks(options);

  for (const candidate of collected.candidates) {
    const { origin, id } = candidate;
    let duplicate = false;
    if (id !== undefined) {
      const first = firstById.get(id);
      if (first) {
        duplicate = true;
        collected.errors.push({
          ...locate(origin, 'id', id),
          message: `规则编号「${id}」重复, ${describePlace(first)} 已使用该编号`,
        });
      } else firstById.set(id, origin);
    }

    const parsed = Rule.safeParse(candidate.raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        reportIssue(candidate, issue, collected, missingColumns);
      }
      continue;
    }
    if (candidate.failedFields.size > 0 || duplicate) continue;
    rules.push(parsed.data);
    collected.warnings.push(...checks.warningsFor(parsed.data, origin));
  }

  for (const { problem, rows } of missingColumns.values()) {
    if (rows.length === 1) collected.errors.push({ ...problem, row: rows[0]! });
    else {
      const listed = rows.slice(0, 10).join('、') + (rows.length > 10 ? ` 等共 ${rows.length} 行` : '');
      collected.errors.push({ ...problem, message: `${problem.message}(第 ${listed} 行)` });
    }
  }
  return rules;
}

function reportIssue(
  candidate: RuleCandidate,
  issue: z.core.$ZodIssue,
  collected: Collected,
  missingColumns: Map<string, MissingColumnIssue>,
): void {
  const { id } = candidate;
  let origin = candidate.origin;
  // An alternative's problem is on the row it came from, in that row's column.
  const path = issue.path;
  if (candidate.rowOrigins && path[0] === 'require' && path[1] === 'anyOf' && typeof path[2] === 'number') {
    origin = candidate.rowOrigins[path[2]] ?? origin;
    issue = { ...issue, path: ['require', ...path.slice(3)] } as z.core.$ZodIssue;
  }
  const { field, item, isColumn } = issueField(issue.path);
  // A cell that failed to parse is already reported; complaints that follow from its absence
  // (the field itself, or its group now lacking a condition) would only repeat it.
  // Cross-field checks (at least one drug, age range order) are judged only on a fully read row.
  const covered =
    (issue.code === 'custom' && candidate.failedFields.size > 0) ||
    [...candidate.failedFields].some(
      (failed) => field === '' || field === failed || field.startsWith(`${failed}.`) || failed.startsWith(`${field}.`),
    );
  if (covered) return;

  let message = describeIssue(issue);
  if (item !== undefined) {
    const value = valueAt(candidate.raw, [...field.split('.'), item]);
    message = `第 ${item + 1} 项${typeof value === 'string' ? `「${value}」` : ''}: ${message}`;
  }

  if (isJson(origin)) {
    collected.errors.push({ ...locate(origin, field, id), message });
    return;
  }
  if (isColumn && origin.columns.has(field)) {
    collected.errors.push({ ...locate(origin, field, id), message });
    return;
  }
  if (isColumn) {
    // The sheet has no column for this field at all: say which column to add.
    const problem: SourceProblem = {
      ...locate(origin, undefined, undefined),
      message: `${fieldLabel(field)}: ${message}${issue.code === 'invalid_type' && issue.input === undefined ? ', 请添加该列' : ''}`,
    };
    delete problem.row;
    const key = [origin.file, origin.sheet ?? '', field, problem.message].join('\u0001');
    const existing = missingColumns.get(key);
    if (existing) existing.rows.push(origin.row ?? 0);
    else missingColumns.set(key, { problem, rows: [origin.row ?? 0] });
    return;
  }
  // A complaint about a group (`require`, `effective`) or the rule as a whole: point at the
  // group's first column in the sheet, if it has one.
  const groupColumn = field === '' ? undefined : [...origin.columns.keys()].find((name) => name.startsWith(`${field}.`));
  const prefix = field === '' ? '' : `${fieldLabel(field)}: `;
  if (field !== '' && issue.code === 'invalid_type' && issue.input === undefined) {
    const kind = candidate.raw.kind as RuleKind;
    const members = COLUMNS.filter((column) => column.field.startsWith(`${field}.`) && columnAppliesTo(column, kind));
    message = `至少需要填写其中一列: ${members.map((column) => column.headers[0]!).join('、')}`;
  }
  collected.errors.push({ ...locate(origin, groupColumn, id), message: `${prefix}${message}` });
}

const CODE_LIST_COLUMNS = COLUMNS.filter((column) => column.type === 'code[]').map((column) => ({
  field: column.field,
  path: column.field.split('.'),
}));

/** Checks for rules that are legal but probably not what the office meant. */
class WarningChecks {
  private readonly catalogue: string[] | undefined;
  private readonly today: string;

  constructor(options: LoadRuleSourcesOptions) {
    this.catalogue =
      options.catalogue && options.catalogue.length > 0 ? options.catalogue.map(normalizeCode).sort() : undefined;
    this.today = typeof options.today === 'string' ? options.today : localDate(options.today ?? new Date());
  }

  warningsFor(rule: Rule, origin: RuleOrigin): SourceProblem[] {
    const warnings: SourceProblem[] = [];
    const warn = (field: string | undefined, message: string): void => {
      warnings.push({ ...locate(origin, field, rule.id), message });
    };
    if (!rule.enabled) warn('enabled', '规则已停用(启用=否), 发布后不会生效');
    if (rule.effective?.to !== undefined && rule.effective.to < this.today) {
      warn('effective.to', `规则已于 ${rule.effective.to} 失效, 发布后不会生效`);
    }
    if (rule.kind === 'chronic') {
      if (rule.allow.length + rule.allowHospCodes.length === 0) {
        warn('allow', '没有填写可用药品: 该慢病下的所有药品都会被判为超出用药范围');
      }
      if (rule.caps && rule.caps.yearAmount === undefined && rule.caps.yearQuantity === undefined) {
        warn('caps.warnRatio', '填写了预警比例, 但没有年度金额或数量上限, 不会产生预警');
      }
    }
    for (const column of CODE_LIST_COLUMNS) {
      const value = valueAt(rule, column.path);
      if (!Array.isArray(value)) continue;
      const codes = value as string[];
      const repeated = codes.filter((code, index) => codes.indexOf(code) !== index);
      if (repeated.length > 0) warn(column.field, `重复填写: ${[...new Set(repeated)].join('、')}`);
      if (this.catalogue && isDrugPrefixField(column.field)) {
        const unmatched = codes.filter((code) => !this.inCatalogue(code));
        if (unmatched.length > 0) warn(column.field, `药品目录中没有以 ${unmatched.join('、')} 开头的药品编码, 请核对`);
      }
    }
    return warnings;
  }

  private inCatalogue(prefix: string): boolean {
    const catalogue = this.catalogue!;
    let low = 0;
    let high = catalogue.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (catalogue[middle]! < prefix) low = middle + 1;
      else high = middle;
    }
    return low < catalogue.length && catalogue[low]!.startsWith(prefix);
  }
}

function isDrugPrefixField(field: string): boolean {
  return field === 'drugs' || field === 'allow' || field === 'exclude';
}

function localDate(date: Date): string {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return isoDate(shifted);
}

/** The column's position from its label (`AB 备注` → 28); 0 where the label has no letter. */
function columnNumber(label: string | undefined): number {
  const letters = label === undefined ? undefined : /^([A-Z]{1,3}) /.exec(label)?.[1];
  if (letters === undefined) return 0;
  return [...letters].reduce((total, letter) => total * 26 + letter.charCodeAt(0) - 64, 0);
}

/** Keeps problems in the order the files and sheets were read, then by row. */
function sortProblems(problems: SourceProblem[], collected: Collected): SourceProblem[] {
  const fileOrder = new Map(collected.paths.map((file, index) => [file, index]));
  const sheetOrder = new Map(collected.sheets.map((key, index) => [key, index]));
  const order = (problem: SourceProblem): [number, number, number, number] => [
    fileOrder.get(problem.file) ?? -1,
    sheetOrder.get(sheetKey(problem.file, problem.sheet)) ?? -1,
    problem.row ?? problem.item ?? 0,
    columnNumber(problem.column),
  ];
  return problems
    .map((problem, position) => ({ problem, position, key: order(problem) }))
    .sort(
      (left, right) =>
        left.key[0] - right.key[0] ||
        left.key[1] - right.key[1] ||
        left.key[2] - right.key[2] ||
        left.key[3] - right.key[3] ||
        left.position - right.position,
    )
    .map(({ problem }) => problem);
}
