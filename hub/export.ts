/**
 * The review list as CSV and XLSX for the insurance office's monthly meeting. Column titles
 * are Chinese; the CSV starts with a byte-order mark so that Excel opens it as UTF-8.
 */
// Loaded when a workbook is exported: exceljs is a dev dependency (ward PCs do not ship it);
// the hub runs from a checkout installed with `npm ci` (docs/hub.md).
import type ExcelJS from 'exceljs';
import type { DecisionRow } from './store/hub-store';

const KIND_LABELS: Record<string, string> = { override: '继续使用', attestation: '符合限定条件', selfpay: '转自费', remove: '删除' };

const COLUMNS: Array<{ title: string; width: number; value(row: DecisionRow): string }> = [
  { title: '时间', width: 20, value: (row) => row.at },
  { title: '类型', width: 12, value: (row) => KIND_LABELS[row.kind] ?? row.kind },
  { title: '规则', width: 18, value: (row) => row.ruleId },
  { title: '级别', width: 8, value: (row) => (row.level === 'block' ? '拦截' : '提醒') },
  { title: '项目', width: 24, value: (row) => row.itemName ?? row.itemCode ?? '' },
  { title: '理由', width: 40, value: (row) => row.reason ?? '' },
  { title: '科室', width: 14, value: (row) => row.deptName ?? row.deptCode ?? '' },
  { title: '医师', width: 12, value: (row) => row.doctorName ?? row.doctorCode ?? '' },
  { title: '工作站', width: 16, value: (row) => row.pcName },
  { title: '患者标识', width: 12, value: (row) => row.patientRef ?? '' },
  { title: '复核人', width: 12, value: (row) => row.reviewedBy ?? '' },
  { title: '复核意见', width: 30, value: (row) => row.reviewNote ?? '' },
];

function csvField(text: string): string {
  // A leading = + - @ would make a spreadsheet run the cell as a formula.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function decisionsCsv(rows: DecisionRow[]): string {
  const lines = [COLUMNS.map((column) => column.title).join(',')];
  for (const row of rows) lines.push(COLUMNS.map((column) => csvField(column.value(row))).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

export async function decisionsXlsx(rows: DecisionRow[]): Promise<Buffer> {
  const Excel: typeof ExcelJS = (await import('exceljs')).default;
  const workbook = new Excel.Workbook();
  const sheet = workbook.addWorksheet('复核清单');
  sheet.columns = COLUMNS.map((column) => ({ header: column.title, width: column.width }));
  sheet.getRow(1).font = { bold: true };
  for (const row of rows) sheet.addRow(COLUMNS.map((column) => column.value(row)));
  sheet.views = [{ state: 'frozen', ySplit: 1 }];
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
