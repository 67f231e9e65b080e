/**
 * The one table that says how a spreadsheet column maps to a rule field (docs/rules.md
 * explains the same table to the insurance office). Everything that reads or writes rule
 * sheets — header lookup, cell parsing, error messages, the sample writer — works from this
 * data, so adding a column is one line here and one row in the docs.
 */
import { RULE_KINDS, type RuleKind } from '../model';

/**
 * How a cell's text becomes a field value. `[]` marks a list cell (items separated by
 * `;`, `；`, `、` or a line break). `text` keeps the person's wording; `code` normalises
 * full-width letters and digits the way an input method types them.
 */
export type CellType =
  | 'text'
  | 'code'
  | 'code[]'
  | 'integer'
  | 'number'
  | 'ratio'
  | 'boolean'
  | 'date'
  | 'level'
  | 'gender'
  | 'match'
  | 'visitType[]'
  | 'hospitalLevel'
  | 'hospitalLevel[]'
  | 'kind'
  | 'text[]'
  | 'lab[]'
  | 'title'
  | 'pregnancy[]'
  | 'window'
  | 'period';

/** One column a rule sheet may have. */
export interface ColumnDefinition {
  /** Dotted path of the rule field, also accepted as the English header. */
  readonly field: string;
  /** The rule kinds that have this field; `all` for the fields every rule has. */
  readonly kinds: readonly RuleKind[] | 'all';
  readonly type: CellType;
  /** Chinese headers; the first one is what the sample sheets and messages use. */
  readonly headers: readonly string[];
}

/**
 * Spellings people may use for each rule kind, in file names, sheet names and the
 * 规则类型 column. The first Chinese name is the one the sample workbook uses.
 */
export const KIND_NAMES: Readonly<Record<RuleKind, readonly string[]>> = {
  indication: ['限定支付', '限定支付范围', '限定用药', '限诊断', '适应症', 'indication'],
  chronic: ['慢特病', '门诊慢特病', '慢病', '门慢', '慢病用药范围', 'chronic'],
  repeat: ['重复开药', '重复用药', 'repeat'],
  days: ['用药天数', '处方天数', '处方用量', '限疗程', 'days'],
  herbal: ['中药饮片', '饮片味数', '草药', 'herbal'],
  limit: ['数量频次', '限数量', '限频次', '用量限制', 'limit'],
};

/** Spellings of enumerated values; matching ignores case, spaces and full-width forms. */
export const VALUE_SPELLINGS = {
  level: { warn: ['提醒', 'warn'], block: ['拦截', 'block'] },
  gender: { M: ['男', 'M', 'male'], F: ['女', 'F', 'female'] },
  match: { generic: ['通用名', '同通用名', 'generic'], class: ['同类', '同类药', 'class'] },
  visitType: {
    outpatient: ['门诊', 'outpatient'],
    emergency: ['急诊', 'emergency'],
    inpatient: ['住院', 'inpatient'],
  },
  hospitalLevel: { 1: ['一级', '1'], 2: ['二级', '2'], 3: ['三级', '3'] },
  boolean: { true: ['是', 'true', 'yes', 'y', '1'], false: ['否', 'false', 'no', 'n', '0'] },
  title: {
    assistant: ['医士', '士级', 'assistant'],
    physician: ['医师', '住院医师', '师级', 'physician'],
    attending: ['主治医师', '主治', '中级', 'attending'],
    associateChief: ['副主任医师', '副主任', '副高', 'associateChief'],
    chief: ['主任医师', '主任', '正高', 'chief'],
  },
  pregnancy: {
    pregnant: ['孕妇', '妊娠', '孕期', 'pregnant'],
    lactating: ['哺乳期', '哺乳', 'lactating'],
    none: ['非孕非哺乳', '无', 'none'],
  },
  window: {
    rolling: ['滚动', '回溯', '近期累计', 'rolling'],
    fromFirstUse: ['首次使用', '自首次使用', '首次用药起', 'fromFirstUse'],
    admission: ['单次住院', '每次住院', 'admission'],
  },
  period: {
    day: ['每日', '每天', '日', 'day'],
    visit: ['每次就诊', '就诊', 'visit'],
    admission: ['每次住院', '住院', 'admission'],
    year: ['每年', '年度', '年', 'year'],
    lifetime: ['累计', '终身', 'lifetime'],
  },
} as const;

const every = 'all' as const;

/** Every column, in the order the sample sheets lay them out. */
export const COLUMNS: readonly ColumnDefinition[] = [
  { field: 'id', kinds: every, type: 'code', headers: ['规则编号', '编号', '规则ID'] },
  { field: 'kind', kinds: every, type: 'kind', headers: ['规则类型', '类型'] },
  { field: 'level', kinds: every, type: 'level', headers: ['级别', '规则级别', '控制级别'] },
  { field: 'title', kinds: every, type: 'text', headers: ['规则名称', '名称', '标题'] },

  { field: 'drugs', kinds: ['indication', 'repeat', 'days', 'limit'], type: 'code[]', headers: ['药品编码', '药品编码前缀', '医保药品编码'] },
  { field: 'codes', kinds: ['indication', 'repeat', 'days', 'limit'], type: 'code[]', headers: ['项目编码', '医保项目编码', '项目编码前缀'] },
  { field: 'hospCodes', kinds: ['indication', 'limit'], type: 'code[]', headers: ['医院编码', '院内编码', '医院项目编码'] },
  { field: 'require.diagnoses', kinds: ['indication'], type: 'code[]', headers: ['限定诊断', '限诊断'] },
  { field: 'require.gender', kinds: ['indication'], type: 'gender', headers: ['限定性别', '限性别'] },
  { field: 'require.ageMin', kinds: ['indication'], type: 'integer', headers: ['最小年龄', '最低年龄', '年龄下限'] },
  { field: 'require.ageMax', kinds: ['indication'], type: 'integer', headers: ['最大年龄', '最高年龄', '年龄上限'] },
  { field: 'require.visitTypes', kinds: ['indication'], type: 'visitType[]', headers: ['限就诊类型'] },
  { field: 'require.insurance', kinds: ['indication'], type: 'code[]', headers: ['限险种'] },
  { field: 'require.hospitalLevelMin', kinds: ['indication'], type: 'hospitalLevel', headers: ['最低医院等级', '限医院等级'] },
  { field: 'require.ageDaysMin', kinds: ['indication'], type: 'integer', headers: ['最小日龄'] },
  { field: 'require.ageDaysMax', kinds: ['indication'], type: 'integer', headers: ['最大日龄'] },
  { field: 'require.pregnancy', kinds: ['indication'], type: 'pregnancy[]', headers: ['限孕产状态', '限妊娠哺乳'] },
  { field: 'require.excludeDiagnoses', kinds: ['indication'], type: 'code[]', headers: ['排除诊断', '禁用诊断'] },
  { field: 'require.confirm', kinds: ['indication'], type: 'text[]', headers: ['需医生确认', '确认条件'] },
  { field: 'require.priorDrugs.drugs', kinds: ['indication'], type: 'code[]', headers: ['既往用药', '前期用药编码'] },
  { field: 'require.priorDrugs.name', kinds: ['indication'], type: 'text', headers: ['既往用药名称'] },
  { field: 'require.priorDrugs.withinDays', kinds: ['indication'], type: 'integer', headers: ['既往用药回溯天数'] },
  { field: 'require.priorDrugs.minDays', kinds: ['indication'], type: 'integer', headers: ['既往用药最少天数'] },
  { field: 'require.procedures.codes', kinds: ['indication'], type: 'code[]', headers: ['限手术操作', '手术操作编码'] },
  { field: 'require.procedures.name', kinds: ['indication'], type: 'text', headers: ['手术操作名称'] },
  { field: 'require.procedures.withinDays', kinds: ['indication'], type: 'integer', headers: ['手术回溯天数'] },
  { field: 'require.labs', kinds: ['indication'], type: 'lab[]', headers: ['检验指标', '限检验结果'] },
  { field: 'require.prescriber.depts', kinds: ['indication'], type: 'code[]', headers: ['限处方科室'] },
  { field: 'require.prescriber.deptNames', kinds: ['indication'], type: 'text', headers: ['处方科室名称'] },
  { field: 'require.prescriber.titleMin', kinds: ['indication'], type: 'title', headers: ['最低职称', '限医师职称'] },
  { field: 'require.coPrescribed.drugs', kinds: ['indication'], type: 'code[]', headers: ['须联用药品'] },
  { field: 'require.coPrescribed.name', kinds: ['indication'], type: 'text', headers: ['须联用药品名称'] },

  { field: 'disease.code', kinds: ['chronic'], type: 'code', headers: ['慢病编码', '病种编码'] },
  { field: 'disease.name', kinds: ['chronic'], type: 'text', headers: ['慢病名称', '病种名称'] },
  { field: 'disease.diagnoses', kinds: ['chronic'], type: 'code[]', headers: ['慢病诊断', '病种诊断'] },
  { field: 'allow', kinds: ['chronic'], type: 'code[]', headers: ['可用药品', '可用药品编码', '药品范围'] },
  { field: 'allowHospCodes', kinds: ['chronic'], type: 'code[]', headers: ['可用医院编码'] },
  { field: 'caps.yearAmount', kinds: ['chronic'], type: 'number', headers: ['年度金额上限'] },
  { field: 'caps.yearQuantity', kinds: ['chronic'], type: 'number', headers: ['年度数量上限'] },
  { field: 'caps.warnRatio', kinds: ['chronic'], type: 'ratio', headers: ['预警比例'] },

  { field: 'match', kinds: ['repeat'], type: 'match', headers: ['匹配方式'] },
  { field: 'toleranceDays', kinds: ['repeat'], type: 'integer', headers: ['容差天数'] },
  { field: 'exclude', kinds: ['repeat'], type: 'code[]', headers: ['排除药品'] },
  { field: 'sameOrder', kinds: ['repeat'], type: 'boolean', headers: ['同处方重复'] },

  { field: 'maxDays', kinds: ['days'], type: 'integer', headers: ['最大天数'] },
  { field: 'cumulative', kinds: ['days'], type: 'boolean', headers: ['累计'] },
  { field: 'window', kinds: ['days'], type: 'window', headers: ['疗程计算', '疗程计算方式'] },
  { field: 'gapDays', kinds: ['days'], type: 'integer', headers: ['间隔天数', '疗程间隔天数'] },
  { field: 'lookbackDays', kinds: ['repeat', 'days', 'limit'], type: 'integer', headers: ['回溯天数'] },

  { field: 'maxQty', kinds: ['limit'], type: 'number', headers: ['最多数量', '数量上限'] },
  { field: 'maxCount', kinds: ['limit'], type: 'integer', headers: ['最多次数', '次数上限'] },
  { field: 'per', kinds: ['limit'], type: 'period', headers: ['计算周期', '统计周期'] },

  { field: 'maxItems', kinds: ['herbal'], type: 'integer', headers: ['最多味数'] },
  { field: 'except.diagnoses', kinds: ['herbal'], type: 'code[]', headers: ['特殊病种诊断'] },
  { field: 'except.maxItems', kinds: ['herbal'], type: 'integer', headers: ['特殊病种味数'] },
  { field: 'notAlone', kinds: ['herbal'], type: 'code[]', headers: ['不单独支付饮片', '单味不予支付'] },
  { field: 'countGranules', kinds: ['herbal'], type: 'boolean', headers: ['含配方颗粒', '计入配方颗粒'] },

  { field: 'scope.visitTypes', kinds: every, type: 'visitType[]', headers: ['适用就诊类型'] },
  { field: 'scope.medTypes', kinds: every, type: 'code[]', headers: ['适用医疗类别'] },
  { field: 'scope.insurance', kinds: every, type: 'code[]', headers: ['适用险种'] },
  { field: 'scope.hospitalLevels', kinds: every, type: 'hospitalLevel[]', headers: ['适用医院等级'] },
  { field: 'scope.depts', kinds: every, type: 'code[]', headers: ['适用科室'] },
  { field: 'selfPay', kinds: every, type: 'boolean', headers: ['可转自费', '允许转自费'] },
  { field: 'effective.from', kinds: every, type: 'date', headers: ['生效日期', '开始日期'] },
  { field: 'effective.to', kinds: every, type: 'date', headers: ['失效日期', '截止日期', '结束日期'] },
  { field: 'enabled', kinds: every, type: 'boolean', headers: ['启用', '是否启用'] },
  { field: 'message', kinds: every, type: 'text', headers: ['提示信息', '提示语', '提示内容'] },
  { field: 'basis', kinds: every, type: 'text', headers: ['政策依据', '依据'] },
];

/**
 * Columns a person may add for their own notes; they never reach a rule. A header that
 * starts with `#` is a note column too.
 */
export const NOTE_HEADERS: readonly string[] = ['备注', '说明', 'note', 'notes', 'remark', 'comment'];

/**
 * Sheets in a workbook that hold instructions rather than rules. Sheets whose name starts
 * with `#` or `_` are skipped as well.
 */
export const INSTRUCTION_SHEET_NAMES: readonly string[] = ['说明', '填写说明', '使用说明', 'readme', '备注', 'notes'];

/** Names for the nested groups, so a message about `require` as a whole reads naturally. */
export const GROUP_LABELS: Readonly<Record<string, string>> = {
  require: '限定条件',
  disease: '慢病',
  caps: '年度上限',
  except: '特殊病种',
  scope: '适用范围',
  effective: '有效期',
  'require.priorDrugs': '既往用药',
  'require.procedures': '手术操作',
  'require.prescriber': '处方医师',
  'require.coPrescribed': '联合用药',
  'require.anyOf': '或条件(同一规则编号的多行)',
};

/**
 * Header text as compared: full-width forms folded (NFKC), spaces and `*` (a common
 * "required" marker) removed, a trailing parenthetical hint such as `级别(提醒/拦截)` dropped,
 * and Latin letters lower-cased.
 */
export function normalizeHeader(header: string): string {
  return header
    .normalize('NFKC')
    .replace(/^\uFEFF/, '')
    .replace(/\s+/g, '')
    .replace(/\*/g, '')
    .replace(/\([^()]*\)$/, '')
    .toLowerCase();
}

/** Folds full-width forms, trims and lower-cases a value for matching against spellings. */
export function normalizeSpelling(value: string): string {
  return value.normalize('NFKC').replace(/\s+/g, '').toLowerCase();
}

/** Whether a column belongs on a sheet of this kind. */
export function columnAppliesTo(column: ColumnDefinition, kind: RuleKind): boolean {
  return column.kinds === 'all' || column.kinds.includes(kind);
}

function buildHeaderIndex(): Map<string, ColumnDefinition> {
  const index = new Map<string, ColumnDefinition>();
  for (const column of COLUMNS) {
    for (const header of [...column.headers, column.field]) {
      const key = normalizeHeader(header);
      const existing = index.get(key);
      // Two fields behind one header would make a sheet ambiguous; fail at load, not in use.
      if (existing && existing !== column) {
        throw new Error(`column table: header ${header} names both ${existing.field} and ${column.field}`);
      }
      index.set(key, column);
    }
  }
  return index;
}

const headerIndex = buildHeaderIndex();

/** The column a header names, or undefined when it names none. */
export function findColumn(header: string): ColumnDefinition | undefined {
  return headerIndex.get(normalizeHeader(header));
}

/** Whether a header marks a notes column that is not part of the rule. */
export function isNoteHeader(header: string): boolean {
  const normalized = normalizeHeader(header);
  return normalized.startsWith('#') || NOTE_HEADERS.some((note) => normalizeHeader(note) === normalized);
}

/** The column that carries a field, for messages about a field whose column is missing. */
export function columnForField(field: string): ColumnDefinition | undefined {
  return COLUMNS.find((column) => column.field === field);
}

/** How a field is named to people: `「最大年龄」(require.ageMax)`. */
export function fieldLabel(field: string): string {
  const column = columnForField(field);
  if (column) return `「${column.headers[0]!}」(${field})`;
  const group = GROUP_LABELS[field];
  return group ? `「${group}」(${field})` : field;
}

const kindIndex = new Map<string, RuleKind>(
  RULE_KINDS.flatMap((kind) => KIND_NAMES[kind].map((name) => [normalizeSpelling(name), kind] as const)),
);

/** The kind a name spells exactly (`限定支付`, `Indication`), or undefined. */
export function kindFromName(name: string): RuleKind | undefined {
  return kindIndex.get(normalizeSpelling(name));
}

/**
 * The kind a file or sheet name stands for. Besides an exact name, a name may carry an
 * ordering number before and a note after, separated by `-`, `_`, `.`, a space or a
 * bracket: `01_限定支付_2024版`, `indication (draft)`.
 */
export function kindFromSourceName(name: string): RuleKind | undefined {
  const folded = name.normalize('NFKC').trim();
  const withoutOrder = folded.replace(/^\d+[-_.\s]+/, '');
  for (const candidate of [folded, withoutOrder]) {
    const exact = kindFromName(candidate);
    if (exact) return exact;
    const head = /^([^-_.\s()[\]]+)[-_.\s()[\]]/.exec(candidate);
    if (head) {
      const kind = kindFromName(head[1]!);
      if (kind) return kind;
    }
  }
  return undefined;
}

/** Column letters as Excel shows them: 0 → A, 25 → Z, 26 → AA. */
export function columnLetter(index: number): string {
  let letters = '';
  let remaining = index + 1;
  while (remaining > 0) {
    const digit = (remaining - 1) % 26;
    letters = String.fromCharCode(65 + digit) + letters;
    remaining = Math.floor((remaining - 1) / 26);
  }
  return letters;
}

/** Levenshtein distance, small strings only: used to suggest the header a typo meant. */
function editDistance(left: string, right: string): number {
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let i = 1; i <= left.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= right.length; j += 1) {
      const substitution = previous[j - 1]! + (left[i - 1] === right[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[right.length]!;
}

/** The known header closest to a typo, if one is close enough to be a likely intent. */
export function suggestHeader(header: string, kind: RuleKind | undefined): string | undefined {
  const typed = normalizeHeader(header);
  let best: { header: string; distance: number } | undefined;
  for (const column of COLUMNS) {
    if (kind && !columnAppliesTo(column, kind)) continue;
    for (const candidate of [...column.headers, column.field]) {
      const distance = editDistance(typed, normalizeHeader(candidate));
      // Chinese headers are short, so one wrong character is already a big share of the word.
      const limit = Math.max(1, Math.floor(candidate.length / 3));
      if (distance <= limit && (!best || distance < best.distance)) best = { header: candidate, distance };
    }
  }
  return best?.header;
}
