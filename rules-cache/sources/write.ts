/**
 * The reverse of the sheet reader: lays rules out as sheets with Chinese headers, one per
 * kind, using the same column table. It makes the sample sources and lets the office get a
 * library back as spreadsheets to edit.
 */
import { RULE_KINDS, type RuleInput, type RuleKind } from '../model';
import { COLUMNS, KIND_NAMES, VALUE_SPELLINGS, columnAppliesTo, type CellType, type ColumnDefinition } from './columns';

/** Rules of one kind as a sheet: a header row and one row per rule. */
export interface RuleSheet {
  kind: RuleKind;
  /** The sheet (or CSV file) name people see, e.g. `限定支付`. */
  name: string;
  /** Only the columns some rule of this kind fills, in the table's order. */
  columns: ColumnDefinition[];
  /** The first Chinese header of each column. */
  headers: string[];
  /** Numbers stay numbers so a workbook stores them as such; everything else is text. */
  rows: Array<Array<string | number | undefined>>;
}

function valueAt(rule: unknown, field: string): unknown {
  let node = rule;
  for (const segment of field.split('.')) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === '' || (Array.isArray(value) && value.length === 0);
}

/** The first spelling of an enumerated value, which is the Chinese one. */
function spell(spellings: Readonly<Record<string, readonly string[]>>, value: unknown, field: string): string {
  const names = spellings[String(value)];
  if (!names) throw new Error(`rulesToSheets: ${field} has no spelling for ${String(value)}`);
  return names[0]!;
}

function formatValue(type: CellType, value: unknown, field: string): string | number {
  const list = (): unknown[] => {
    if (!Array.isArray(value)) throw new Error(`rulesToSheets: ${field} should be a list`);
    return value as unknown[];
  };
  switch (type) {
    case 'text':
    case 'code':
    case 'date':
    case 'kind':
      return String(value);
    case 'code[]':
      return list().map(String).join(';');
    case 'integer':
    case 'number':
    case 'ratio':
      if (typeof value !== 'number') throw new Error(`rulesToSheets: ${field} should be a number`);
      return value;
    case 'boolean':
      return spell(VALUE_SPELLINGS.boolean, value, field);
    case 'level':
      return spell(VALUE_SPELLINGS.level, value, field);
    case 'gender':
      return spell(VALUE_SPELLINGS.gender, value, field);
    case 'match':
      return spell(VALUE_SPELLINGS.match, value, field);
    case 'hospitalLevel':
      return spell(VALUE_SPELLINGS.hospitalLevel, value, field);
    case 'visitType[]':
      return list().map((item) => spell(VALUE_SPELLINGS.visitType, item, field)).join(';');
    case 'hospitalLevel[]':
      return list().map((item) => spell(VALUE_SPELLINGS.hospitalLevel, item, field)).join(';');
    case 'text[]':
      return typeof value === 'string' ? value : list().map(String).join(';');
    case 'lab[]':
      return list().map((lab) => formatLab(lab as LabCell)).join(';');
    case 'title':
      return spell(VALUE_SPELLINGS.title, value, field);
    case 'pregnancy[]':
      return list().map((item) => spell(VALUE_SPELLINGS.pregnancy, item, field)).join(';');
    case 'window':
      return spell(VALUE_SPELLINGS.window, value, field);
    case 'period':
      return spell(VALUE_SPELLINGS.period, value, field);
  }
}

interface LabCell {
  codes: string[];
  name: string;
  op: string;
  value: number;
  unit?: string;
  withinDays?: number;
}

/** A lab condition in the cell syntax the reader takes: `白蛋白(ALB)<30g/L,30天`. */
function formatLab(lab: LabCell): string {
  return `${lab.name}(${lab.codes.join('/')})${lab.op}${lab.value}${lab.unit ?? ''}${lab.withinDays !== undefined ? `,${lab.withinDays}天` : ''}`;
}

/**
 * The rows a rule takes: one, or one per `anyOf` alternative (the alternative's fields merged
 * into `require`), which the reader joins back by the shared rule id.
 */
function ruleRows(rule: RuleInput): RuleInput[] {
  if (rule.kind !== 'indication' || !rule.require.anyOf) return [rule];
  const { anyOf, ...common } = rule.require;
  return anyOf.map((alternative) => ({ ...rule, require: { ...common, ...alternative } }));
}

/**
 * Lays rules out as one sheet per kind, in the model's kind order. Rules as written (JSON
 * inputs) give lean sheets; parsed rules work too but spell out every default.
 */
export function rulesToSheets(rules: readonly RuleInput[]): RuleSheet[] {
  const sheets: RuleSheet[] = [];
  for (const kind of RULE_KINDS) {
    const ofKind = rules.filter((rule) => rule.kind === kind).flatMap(ruleRows);
    if (ofKind.length === 0) continue;
    const columns = COLUMNS.filter(
      (column) =>
        column.field !== 'kind' &&
        columnAppliesTo(column, kind) &&
        ofKind.some((rule) => !isAbsent(valueAt(rule, column.field))),
    );
    sheets.push({
      kind,
      name: KIND_NAMES[kind][0]!,
      columns,
      headers: columns.map((column) => column.headers[0]!),
      rows: ofKind.map((rule) =>
        columns.map((column) => {
          const value = valueAt(rule, column.field);
          return isAbsent(value) ? undefined : formatValue(column.type, value, column.field);
        }),
      ),
    });
  }
  return sheets;
}
