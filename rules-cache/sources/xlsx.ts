/**
 * Reads an XLSX workbook into plain rows of cell text. Excel stores numbers, dates, rich
 * text, formulas and shared strings differently; this is the one place that knows, so the
 * sheet interpreter only ever sees text plus a note of what the workbook stored.
 */
// Types only: exceljs is loaded when a workbook is read. It is a build-time tool of hospital
// IT (a dev dependency), not shipped to ward PCs, so nothing else may need it to load.
import type ExcelJS from 'exceljs';
import { isoDate, type SheetCell } from './cells';

/** Loads exceljs; a parameter so the "not installed" path can be shown without uninstalling it. */
export type ExcelLoader = () => Promise<{ Workbook: typeof ExcelJS.Workbook }>;

const loadExcel: ExcelLoader = async () => (await import('exceljs')).default;

/** Said when exceljs is not installed (an installed agent rather than IT's checkout). */
export const EXCELJS_MISSING =
  '这套安装不含读取 XLSX 所需的 exceljs (病房电脑的安装包不带它)。请在信息科电脑的源码检出中 (npm ci 之后) 运行 rxgate rules build, 或把工作簿另存为 CSV 再构建';

/** One row of a sheet with the row number Excel shows. */
export interface SheetRow {
  row: number;
  cells: SheetCell[];
}

/** A worksheet as text: row 1 is the header. */
export interface WorkbookSheet {
  name: string;
  hidden: boolean;
  header: SheetCell[];
  rows: SheetRow[];
}

export type ReadWorkbookResult = { ok: true; sheets: WorkbookSheet[] } | { ok: false; message: string };

/** Opens a workbook; a file that is not a readable XLSX is one clear problem, not a crash. */
export async function readWorkbook(path: string, load: ExcelLoader = loadExcel): Promise<ReadWorkbookResult> {
  let excel: Awaited<ReturnType<ExcelLoader>>;
  try {
    excel = await load();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') return { ok: false, message: EXCELJS_MISSING };
    throw error;
  }
  const workbook = new excel.Workbook();
  try {
    await workbook.xlsx.readFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, message: `无法读取 XLSX 工作簿(文件损坏, 或不是 .xlsx 格式?): ${reason}` };
  }
  return { ok: true, sheets: workbook.worksheets.map(readSheet) };
}

function readSheet(worksheet: ExcelJS.Worksheet): WorkbookSheet {
  const width = worksheet.columnCount;
  const cellsOf = (row: ExcelJS.Row): SheetCell[] => {
    const cells: SheetCell[] = [];
    for (let column = 1; column <= width; column += 1) cells.push(sheetCell(row.getCell(column)));
    return cells;
  };
  const rows: SheetRow[] = [];
  let header: SheetCell[] = [];
  worksheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    if (rowNumber === 1) header = cellsOf(row);
    else rows.push({ row: rowNumber, cells: cellsOf(row) });
  });
  return { name: worksheet.name, hidden: worksheet.state !== 'visible', header, rows };
}

/** Excel shows at most 15 significant digits; beyond that is binary noise such as 0.30000000000000004. */
function numberText(value: number, numberFormat: string | undefined): string {
  const text = String(Number(value.toPrecision(15)));
  // A code typed as 00123 into a cell formatted "00000" is stored as 123; the format is the
  // only record of its leading zeros.
  if (numberFormat && /^0+$/.test(numberFormat) && Number.isInteger(value) && value >= 0) {
    return text.padStart(numberFormat.length, '0');
  }
  return text;
}

type ScalarValue = ExcelJS.CellValue;

function valueCell(value: ScalarValue, numberFormat: string | undefined): SheetCell {
  if (value === null || value === undefined) return { text: '' };
  if (typeof value === 'number') return { text: numberText(value, numberFormat) };
  if (typeof value === 'string') return { text: value };
  if (typeof value === 'boolean') return { text: value ? 'true' : 'false' };
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? { text: '', problem: '单元格中的日期无效' } : { text: isoDate(value), isDate: true };
  }
  if ('error' in value) return { text: '', problem: `单元格是错误值 ${value.error}` };
  if ('richText' in value) return { text: value.richText.map((run) => run.text).join('') };
  if ('hyperlink' in value) {
    // exceljs types the text as a string, but a styled link arrives as rich text.
    const text: unknown = value.text;
    return typeof text === 'string' ? { text } : valueCell(text as ScalarValue, numberFormat);
  }
  if ('formula' in value || 'sharedFormula' in value) {
    if (value.result === undefined) {
      return { text: '', problem: '公式没有保存计算结果, 请用 Excel 打开该文件并保存后再试' };
    }
    return valueCell(value.result, numberFormat);
  }
  return { text: '', problem: '无法识别的单元格内容' };
}

function sheetCell(cell: ExcelJS.Cell): SheetCell {
  return valueCell(cell.value, cell.numFmt);
}
