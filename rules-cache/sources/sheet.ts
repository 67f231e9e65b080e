/**
 * Interprets one sheet (a CSV file or a workbook sheet) as rule candidates: it reads the
 * header row against the column table, turns each row's cells into a raw rule object, and
 * remembers which column each field came from so that schema errors found later can point
 * at the cell a person has to fix.
 */
import {
  columnAppliesTo,
  columnLetter,
  findColumn,
  isNoteHeader,
  KIND_NAMES,
  suggestHeader,
  type ColumnDefinition,
} from './columns';
import { isBlank, parseCell, type SheetCell } from './cells';
import type { SheetRow } from './xlsx';
import type { RuleKind } from '../model';
import type { SourceProblem } from './problems';

/** A sheet as the readers hand it over, whatever file format it came from. */
export interface RawSheet {
  file: string;
  /** Worksheet name; absent for CSV. */
  sheet?: string;
  /** The kind the file or sheet name stands for, if any. */
  nameKind?: RuleKind;
  header: SheetCell[];
  rows: SheetRow[];
}

/** Where a rule came from, precisely enough to point at any of its cells. */
export interface RuleOrigin {
  file: string;
  sheet?: string;
  row?: number;
  /** Position in a JSON library (0-based). */
  index?: number;
  /**
   * Field path → column label as shown to people, e.g. `require.ageMax` → `F 最大年龄`.
   * Shared by all rows of a sheet: read it, never change it.
   */
  columns: ReadonlyMap<string, string>;
}

/** A row turned into a raw rule, not yet checked against the schema. */
export interface RuleCandidate {
  raw: Record<string, unknown>;
  origin: RuleOrigin;
  /** The id as typed, for messages and duplicate detection even when the rule is invalid. */
  id?: string;
  /** Fields whose cell already produced an error; schema complaints about them would repeat it. */
  failedFields: Set<string>;
  /**
   * For a rule joined from several rows of one id (an `anyOf`), where each alternative came
   * from: `require.anyOf.2.…` is reported on the third row.
   */
  rowOrigins?: RuleOrigin[];
}

interface SheetColumn {
  index: number;
  label: string;
  definition: ColumnDefinition;
  /** The field path split once per sheet rather than once per cell. */
  path: readonly string[];
}

function setPath(target: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of segments.slice(0, -1)) {
    const child = node[segment];
    if (child && typeof child === 'object') node = child as Record<string, unknown>;
    else {
      const created: Record<string, unknown> = {};
      node[segment] = created;
      node = created;
    }
  }
  node[segments[segments.length - 1]!] = value;
}

function kindLabel(kind: RuleKind): string {
  return `${KIND_NAMES[kind][0]!}(${kind})`;
}

/**
 * Reads one sheet. Header problems (an unknown or misplaced column) are reported once, on
 * row 1; every data row is still read so that one run shows all problems of the sheet.
 */
export function readRuleSheet(sheet: RawSheet): { candidates: RuleCandidate[]; problems: SourceProblem[] } {
  const problems: SourceProblem[] = [];
  const where = { file: sheet.file, ...(sheet.sheet !== undefined ? { sheet: sheet.sheet } : {}) };
  const report = (problem: Omit<SourceProblem, 'file' | 'sheet'>): void => {
    problems.push({ ...where, ...problem });
  };

  const columns: SheetColumn[] = [];
  const blankHeaders = new Set<number>();
  let kindColumn: SheetColumn | undefined;
  const seenFields = new Map<string, string>();

  sheet.header.forEach((cell, index) => {
    const letter = columnLetter(index);
    const text = cell.text.trim();
    if (cell.problem !== undefined) {
      report({ row: 1, column: letter, message: `表头单元格有问题: ${cell.problem}` });
      return;
    }
    if (text === '') {
      blankHeaders.add(index);
      return;
    }
    const label = `${letter} ${text}`;
    if (isNoteHeader(text)) return;
    const definition = findColumn(text);
    if (!definition) {
      const suggestion = suggestHeader(text, sheet.nameKind);
      report({
        row: 1,
        column: label,
        message: `未知的列「${text}」` + (suggestion ? `, 是否应为「${suggestion}」?` : '; 可用的列见 docs/rules.md, 备注请用「备注」列'),
      });
      return;
    }
    if (sheet.nameKind && !columnAppliesTo(definition, sheet.nameKind)) {
      report({ row: 1, column: label, message: `「${text}」列不属于${kindLabel(sheet.nameKind)}规则` });
      return;
    }
    const earlier = seenFields.get(definition.field);
    if (earlier !== undefined) {
      report({ row: 1, column: label, message: `与「${earlier}」列是同一字段(${definition.field}), 只能保留一列` });
      return;
    }
    seenFields.set(definition.field, label);
    const column: SheetColumn = { index, label, definition, path: definition.field.split('.') };
    if (definition.field === 'kind') kindColumn = column;
    else columns.push(column);
  });

  if (!sheet.nameKind && !kindColumn && sheet.rows.some((row) => row.cells.some((cell) => !isBlank(cell)))) {
    const names = (Object.keys(KIND_NAMES) as RuleKind[]).map(kindLabel).join('、');
    report({
      message: `无法确定规则类型: ${sheet.sheet !== undefined ? '工作表名' : '文件名'}不是规则类型名, 也没有「规则类型」列。可用的名称: ${names}`,
    });
    return { candidates: [], problems };
  }

  const idColumn = columns.find((column) => column.definition.field === 'id');
  // Every row of a sheet has the same columns, so they share one map.
  const columnLabels = new Map(columns.map((column) => [column.definition.field, column.label]));
  const reportedHeaderless = new Set<number>();
  const candidates: RuleCandidate[] = [];
  for (const { row, cells } of sheet.rows) {
    // Content under a blank header, or beyond the last header of a CSV, would otherwise be lost.
    cells.forEach((cell, index) => {
      const headerless = index >= sheet.header.length || blankHeaders.has(index);
      if (headerless && !reportedHeaderless.has(index) && !isBlank(cell)) {
        reportedHeaderless.add(index);
        report({ row, column: columnLetter(index), message: '该列没有表头, 但有内容; 请补上表头(备注请用「备注」列)' });
      }
    });
    const ruleCells = kindColumn ? [kindColumn, ...columns] : columns;
    if (ruleCells.every((column) => isBlank(cells[column.index]))) continue;

    let kind = sheet.nameKind;
    const kindCell = kindColumn ? cells[kindColumn.index] : undefined;
    if (kindColumn && kindCell && !isBlank(kindCell)) {
      const parsed = parseCell('kind', kindCell);
      if (!parsed.ok) {
        report({ row, column: kindColumn.label, message: parsed.message });
        continue;
      }
      const rowKind = parsed.value as RuleKind;
      if (sheet.nameKind && rowKind !== sheet.nameKind) {
        report({
          row,
          column: kindColumn.label,
          message: `规则类型是${kindLabel(rowKind)}, 但${sheet.sheet !== undefined ? '工作表' : '文件'}名表示${kindLabel(sheet.nameKind)}`,
        });
        continue;
      }
      kind = rowKind;
    }
    const idText = idColumn ? cells[idColumn.index]?.text.normalize('NFKC').trim() : undefined;
    const id = idText ? idText : undefined;
    if (!kind) {
      report({ row, column: kindColumn?.label, ...(id ? { ruleId: id } : {}), message: '缺少规则类型' });
      continue;
    }

    const raw: Record<string, unknown> = { kind };
    const origin: RuleOrigin = { ...where, row, columns: columnLabels };
    const failedFields = new Set<string>();
    for (const column of columns) {
      const cell = cells[column.index];
      if (!cell || isBlank(cell)) continue;
      if (!columnAppliesTo(column.definition, kind)) {
        failedFields.add(column.definition.field);
        report({
          row,
          column: column.label,
          ...(id ? { ruleId: id } : {}),
          message: `${kindLabel(kind)}规则没有「${column.definition.headers[0]!}」这一项, 请清空该单元格`,
        });
        continue;
      }
      const parsed = parseCell(column.definition.type, cell);
      if (parsed.ok) setPath(raw, column.path, parsed.value);
      else {
        failedFields.add(column.definition.field);
        report({ row, column: column.label, ...(id ? { ruleId: id } : {}), message: parsed.message });
      }
    }
    candidates.push({ raw, origin, ...(id ? { id } : {}), failedFields });
  }
  return { candidates, problems };
}
