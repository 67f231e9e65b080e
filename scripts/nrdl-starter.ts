/**
 * Writes the starter library rules-cache/nrdl/ from the 245 real restriction rows of
 * examples/nrdl-sample.tsv and their encodings (scripts/nrdl-encodings.ts): one CSV per rule
 * kind, Chinese headers, UTF-8 with a byte-order mark, each rule row carrying notes columns
 * (`#目录行`, `#覆盖`, `#说明`) that the loader ignores. Drug codes are illustrative (the real
 * national code of each product is not in the sample): a 10-character generic prefix per row
 * of the right shape, `X…` for 西药 and `Z…` for 中成药; the real restriction text is in
 * `basis`. Prints the coverage table that docs/rules.md carries.
 *
 *   node --import tsx scripts/nrdl-starter.ts
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuleInput } from '../rules-cache/model';
import { formatCsv, formatSourceProblem, loadRuleSources, rulesToSheets } from '../rules-cache/sources';
import { ENCODINGS, type Coverage, type Encoding } from './nrdl-encodings';

const root = join(__dirname, '..');
const outDir = join(root, 'rules-cache', 'nrdl');

/** How the coverage classes are named in the sheets and the docs. */
export const COVERAGE_NAMES: Readonly<Record<Coverage, string>> = {
  exact: '精确',
  attest: '需医生确认',
  approximate: '近似',
  none: '未编码',
};

interface SampleRow {
  row: number;
  name: string;
  text: string;
  source: string;
}

/** The key an encoding is found by: the text without its closing 。 */
export function textKey(text: string): string {
  return text.trim().replace(/。$/, '');
}

function pad(value: number): string {
  return String(value).padStart(3, '0');
}

/** 中成药 among the 两库 rows: the TCM injections restricted to 二级 hospitals, and 益母草. */
function isPatentMedicine(row: SampleRow): boolean {
  if (row.source.includes('西药')) return false;
  if (row.name.includes('益母草')) return true;
  return row.text.startsWith('限二级及以上医疗机构') && !row.name.includes('重组人脑利钠肽');
}

/** An illustrative generic prefix; the anti-VEGF eye injections share their ATC class so one cap counts them together. */
function codeFor(row: SampleRow): string {
  if (/法瑞西单抗|康柏西普|阿柏西普|雷珠单抗/.test(row.name)) return `XS01LAV${pad(row.row)}`;
  return `${isPatentMedicine(row) ? 'Z' : 'X'}Z9${pad(row.row)}N${pad(row.row)}`;
}

interface Notes {
  row: number;
  coverage: Coverage;
  why?: string;
}

export async function readSample(): Promise<SampleRow[]> {
  const text = await readFile(join(root, 'examples', 'nrdl-sample.tsv'), 'utf8');
  const [, ...lines] = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  return lines.map((line, index) => {
    const [name, restriction, source] = line.split('\t');
    return { row: index + 1, name: name!.trim(), text: restriction!.trim(), source: source!.trim() };
  });
}

export function encodingFor(text: string): Encoding {
  const found = ENCODINGS.find(([key]) => key === textKey(text));
  if (!found) throw new Error(`no encoding for: ${text}`);
  return found[1];
}

function build(rows: readonly SampleRow[]): { rules: RuleInput[]; notes: Map<string, Notes> } {
  const rules: RuleInput[] = [];
  const notes = new Map<string, Notes>();
  const limits = new Set<string>();
  for (const row of rows) {
    const encoding = encodingFor(row.text);
    const code = codeFor(row);
    const basis = `${row.source}: ${row.text}`;
    const note: Notes = { row: row.row, coverage: encoding.coverage, ...(encoding.why ? { why: encoding.why } : {}) };
    if (encoding.require) {
      const id = `NRDL-${pad(row.row)}`;
      rules.push({
        id,
        kind: 'indication',
        level: encoding.level ?? 'block',
        title: `${row.name}限定支付范围`,
        drugs: [code],
        require: encoding.require,
        basis,
      } as RuleInput);
      notes.set(id, note);
    }
    if (encoding.course) {
      const id = `NRDL-${pad(row.row)}-D`;
      const { maxDays, window } = encoding.course;
      rules.push({
        id,
        kind: 'days',
        level: encoding.level ?? 'block',
        title: window === 'admission' ? `${row.name}单次住院支付不超过${maxDays}天` : `${row.name}支付不超过${maxDays}天`,
        maxDays,
        drugs: [code],
        window,
        basis,
      });
      notes.set(id, note);
    }
    for (const limit of encoding.limits ?? []) {
      // A cap shared by several drugs is one rule on their common prefix; a drug's own cap is per row.
      const id = limit.prefix ? `NRDL-L-${limit.key}` : `NRDL-${pad(row.row)}-L-${limit.key}`;
      if (limits.has(id)) continue;
      limits.add(id);
      rules.push({
        id,
        kind: 'limit',
        level: limit.level,
        title: limit.title,
        ...(limit.message ? { message: limit.message } : {}),
        drugs: [limit.prefix || code],
        maxQty: limit.maxQty,
        per: limit.per,
        basis,
      });
      notes.set(id, note);
    }
  }
  return { rules, notes };
}

/** Rows a rule takes in its sheet: one per `anyOf` alternative. */
function rowCount(rule: RuleInput): number {
  return rule.kind === 'indication' && rule.require.anyOf ? rule.require.anyOf.length : 1;
}

const FILE_NAMES: Readonly<Record<string, string>> = { indication: '01-限定支付', days: '02-限疗程', limit: '03-数量频次' };

/** The starter library's CSV files (name → content) as this script writes them. */
export async function starterFiles(): Promise<Map<string, string>> {
  const rows = await readSample();
  const { rules, notes } = build(rows);
  const files = new Map<string, string>();
  for (const sheet of rulesToSheets(rules)) {
    const ofKind = rules.filter((rule) => rule.kind === sheet.kind);
    const owners = ofKind.flatMap((rule) => Array.from({ length: rowCount(rule) }, () => rule));
    const body = sheet.rows.map((cells, index) => {
      const note = notes.get(owners[index]!.id)!;
      return [...cells, note.row, COVERAGE_NAMES[note.coverage], note.why];
    });
    const name = FILE_NAMES[sheet.kind];
    if (!name) throw new Error(`no file name for ${sheet.kind}`);
    files.set(`${name}.csv`, '\uFEFF' + formatCsv([[...sheet.headers, '#目录行', '#覆盖', '#说明'], ...body]));
  }
  return files;
}

/** Rows of the sample by coverage class. */
export async function coverageCounts(): Promise<{ rows: number; counts: Record<Coverage, number> }> {
  const rows = await readSample();
  const counts: Record<Coverage, number> = { exact: 0, attest: 0, approximate: 0, none: 0 };
  for (const row of rows) counts[encodingFor(row.text).coverage] += 1;
  return { rows: rows.length, counts };
}

async function main(): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  for (const [name, content] of await starterFiles()) await writeFile(join(outDir, name), content);

  const loaded = await loadRuleSources([outDir]);
  for (const problem of [...loaded.errors, ...loaded.warnings]) console.error(formatSourceProblem(problem));
  if (loaded.errors.length > 0) process.exit(1);

  const { rows, counts } = await coverageCounts();
  console.log(`${rows} rows → ${loaded.rules.length} rules`);
  for (const coverage of ['exact', 'attest', 'approximate', 'none'] as const) {
    const count = counts[coverage];
    console.log(`| ${COVERAGE_NAMES[coverage]} (${coverage}) | ${count} | ${((count / rows) * 100).toFixed(1)} % |`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
