/**
 * CSV as Excel writes it (RFC 4180: comma-separated, `"`-quoted fields with `""` for a
 * quote, line breaks inside quotes, CRLF or LF), in the encodings Excel on Chinese Windows
 * saves: "CSV UTF-8" (with a byte-order mark) and plain "CSV" (GB18030/GBK).
 */
import iconv from 'iconv-lite';

/** How a CSV file's bytes were read. */
export type CsvEncoding = 'utf-8-bom' | 'utf-8' | 'gb18030';

export type DecodedText = { ok: true; text: string; encoding: CsvEncoding } | { ok: false; message: string };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a CSV file: a UTF-8 byte-order mark means UTF-8; bytes that are valid UTF-8 are
 * UTF-8 (GBK text with Chinese in it practically never is); anything else is GB18030, a
 * superset of the GBK that Excel's plain "CSV" uses on Chinese Windows.
 */
export function decodeCsvBytes(bytes: Uint8Array): DecodedText {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { ok: true, text: strictUtf8.decode(bytes.subarray(3)), encoding: 'utf-8-bom' };
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    // Excel's "Unicode 文本" is UTF-16 and tab-separated: a different format, not a CSV.
    return { ok: false, message: '文件是 UTF-16 编码(Excel 的“Unicode 文本”), 请另存为“CSV UTF-8(逗号分隔)”' };
  }
  try {
    return { ok: true, text: strictUtf8.decode(bytes), encoding: 'utf-8' };
  } catch {
    return { ok: true, text: iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'gb18030'), encoding: 'gb18030' };
  }
}

/** One CSV record with the row number Excel shows for it. */
export interface CsvRecord {
  row: number;
  fields: string[];
}

export type ParsedCsv =
  | { ok: true; records: CsvRecord[] }
  | { ok: false; records: CsvRecord[]; row: number; message: string };

/**
 * Splits CSV text into records. A record is what Excel shows as one row, so a quoted field
 * with line breaks keeps the row numbers that follow it in step with Excel. A quote that
 * never closes, or text straight after a closing quote, is reported with its row: the
 * structure of everything after it would be a guess.
 */
export function parseCsv(text: string): ParsedCsv {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  // A quote opens a quoted field only at the start of a field; `""` then already counts as
  // a started (empty) field, so a following quote is an error rather than a new opening.
  let fieldStarted = false;
  let row = 1;
  let position = 0;
  const length = text.length;

  const endField = (): void => {
    fields.push(field);
    field = '';
    fieldStarted = false;
  };
  const endRecord = (): void => {
    endField();
    records.push({ row, fields });
    fields = [];
    row += 1;
  };

  while (position < length) {
    const character = text[position]!;
    if (character === '"' && !fieldStarted) {
      const openedAt = row;
      fieldStarted = true;
      position += 1;
      let closed = false;
      while (position < length) {
        const inner = text[position]!;
        if (inner === '"') {
          if (text[position + 1] === '"') {
            field += '"';
            position += 2;
            continue;
          }
          position += 1;
          closed = true;
          break;
        }
        field += inner;
        position += 1;
      }
      if (!closed) {
        return { ok: false, records, row: openedAt, message: '引号没有闭合: 该行某个以 " 开头的单元格缺少结尾的 "' };
      }
      const next = text[position];
      if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n') {
        return { ok: false, records, row: openedAt, message: '引号闭合后紧跟了其他字符; 单元格内的引号要写成两个 ""' };
      }
      continue;
    }
    if (character === ',') {
      endField();
      position += 1;
      continue;
    }
    if (character === '\r' || character === '\n') {
      endRecord();
      position += character === '\r' && text[position + 1] === '\n' ? 2 : 1;
      continue;
    }
    // Excel itself reads a quote in the middle of an unquoted field as a plain character.
    field += character;
    fieldStarted = true;
    position += 1;
  }
  // A final line break ends the last record; it does not start an empty one.
  if (fieldStarted || fields.length > 0) endRecord();
  return { ok: true, records };
}

/** One CSV field, quoted only when it has to be. */
function formatField(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Writes rows as CSV with CRLF line ends, as Excel does. */
export function formatCsv(rows: ReadonlyArray<ReadonlyArray<string | number | undefined>>): string {
  return rows.map((row) => row.map(formatField).join(',')).join('\r\n') + '\r\n';
}
