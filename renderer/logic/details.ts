/**
 * Turns a finding's `details` (a free-form record the engine fills per rule kind) into what the
 * popup shows: the earlier prescriptions behind a repeat finding, and labelled facts for the
 * rest. The engine may add keys at any time, so unknown keys are shown rather than dropped, and
 * nothing here throws on a shape it did not expect.
 */
import type { Finding } from '../../app/core/protocol/messages';
import { formatMoney, formatQuantity } from './format';

/** An earlier prescription as the doctor needs it to judge a repeat. */
export interface EarlierPrescription {
  name?: string;
  date?: string;
  dept?: string;
  doctor?: string;
  days?: number;
  daysLeft?: number;
  endDate?: string;
}

export interface DetailFact {
  key: string;
  label: string;
  value: string;
}

export interface FindingDetails {
  earlier: EarlierPrescription[];
  facts: DetailFact[];
  /** Conditions the doctor may attest (符合限定条件), one text each. */
  confirm: string[];
}

/** Keys under which the engine puts the earlier prescription(s). */
const earlierKeys = ['earlier', 'previous', 'prior', 'prescriptions'];

type Formatter = (value: unknown) => string | undefined;

const asDays: Formatter = (value) => (typeof value === 'number' ? `${formatQuantity(value)} 天` : text(value));
const asMoney: Formatter = (value) => (typeof value === 'number' ? formatMoney(value) : text(value));
const asNumber: Formatter = (value) => (typeof value === 'number' ? formatQuantity(value) : text(value));
const asText: Formatter = (value) => text(value);

/** "累计 ¥2,400.00 + 本次 ¥80.00 = ¥2,480.00 / 上限 ¥3,000.00" for the chronic cap details. */
function asUsage(format: (value: number) => string): Formatter {
  return (value) => {
    if (!value || typeof value !== 'object') return text(value);
    const usage = value as { yearToDate?: unknown; thisOrder?: unknown; total?: unknown; cap?: unknown };
    const number = (field: unknown) => (typeof field === 'number' ? format(field) : undefined);
    const parts = [
      number(usage.yearToDate) !== undefined ? `此前 ${number(usage.yearToDate)}` : undefined,
      number(usage.thisOrder) !== undefined ? `本次 ${number(usage.thisOrder)}` : undefined,
      number(usage.total) !== undefined ? `合计 ${number(usage.total)}` : undefined,
      number(usage.cap) !== undefined ? `上限 ${number(usage.cap)}` : undefined,
    ].filter(Boolean);
    return parts.length > 0 ? parts.join(' · ') : undefined;
  };
}

/** The indication rule's failed requirements, each already a sentence. */
const asFailures: Formatter = (value) => {
  if (!Array.isArray(value)) return text(value);
  const sentences = value.map((entry) => (entry && typeof entry === 'object' && 'text' in entry ? text((entry as { text: unknown }).text) : text(entry)));
  return sentences.filter(Boolean).join('；') || undefined;
};

const periodNames: Readonly<Record<string, string>> = { day: '每日', visit: '每次就诊', admission: '每次住院', year: '每年', lifetime: '累计' };

/** `anyOf` alternatives: "① 不符合: …；② 需确认: …", so the doctor sees why none was met. */
const asAlternatives: Formatter = (value) => {
  if (!Array.isArray(value) || value.length < 2) return undefined;
  const marks = '①②③④⑤⑥⑦⑧⑨⑩';
  return value
    .map((entry, index) => {
      const alternative = (entry ?? {}) as { status?: unknown; failed?: unknown; confirm?: unknown };
      const failed = Array.isArray(alternative.failed) ? alternative.failed.map(text).filter(Boolean).join('，') : '';
      const confirm = Array.isArray(alternative.confirm) ? alternative.confirm.map(text).filter(Boolean).join('，') : '';
      const said = alternative.status === 'failed' ? `不符合: ${failed}` : `需确认: ${confirm}`;
      return `${marks[index] ?? `${index + 1}.`} ${said}`;
    })
    .join('；');
};

/** Known keys in the order they read best, with their Chinese labels. */
const factFormats: Array<[key: string, label: string, format: Formatter]> = [
  ['failed', '不符合', asFailures],
  ['requirement', '限定条件', asText],
  ['diagnoses', '本次诊断', asText],
  ['disease', '慢特病', asText],
  ['diseases', '登记慢特病', asText],
  ['year', '年度', asText],
  ['amount', '年度金额', asUsage(formatMoney)],
  ['quantity', '年度数量', asUsage(formatQuantity)],
  ['capAmount', '年度金额上限', asMoney],
  ['capQuantity', '年度数量上限', asNumber],
  ['actual', '本次天数', asDays],
  ['days', '本次天数', asDays],
  ['maxDays', '天数上限', asDays],
  ['count', '饮片味数', asNumber],
  ['maxItems', '味数上限', asNumber],
  ['exceptDiagnosis', '特殊病种', asText],
  ['therapeuticClass', '同类药 (ATC)', asText],
  ['otherEarlier', '另有更早处方', (value) => (typeof value === 'number' && value > 0 ? `${value} 张` : undefined)],
  ['sameOrder', '重复位置', (value) => (value === true ? '同一张处方内' : undefined)],
  ['unmet', '各种情况', asAlternatives],
  ['per', '计算周期', (value) => (typeof value === 'string' ? (periodNames[value] ?? value) : undefined)],
  ['max', '上限', asNumber],
  ['used', '此前已用', asNumber],
  ['current', '本次', asNumber],
  ['total', '合计', asNumber],
];

const factFormatByKey = new Map(factFormats.map(([key, label, format], index) => [key, { label, format, index }]));

/**
 * Keys that are for machines (ids, codes, rule parameters) or repeat what the card already
 * shows (the item itself), and would only clutter the popup.
 */
const hiddenKeys = new Set([
  'ruleId',
  'findingId',
  'code',
  'codes',
  'hospCode',
  'rxId',
  'lines',
  'line',
  'kind',
  'level',
  'drug',
  'drugs',
  'match',
  'reason',
  'warnRatio',
  'toleranceDays',
  'lookbackDays',
  'baseMaxItems',
  'exceptApplied',
  'confirm',
  'items',
  'measure',
  'notAlone',
]);

/** Reads the popup-worthy parts of a finding's details. */
export function describeDetails(finding: Pick<Finding, 'kind' | 'details'> & { message?: string }): FindingDetails {
  const details = finding.details ?? {};
  const earlier: EarlierPrescription[] = [];
  const usedKeys = new Set<string>();
  const facts: DetailFact[] = [];
  const collectEarlier = (value: unknown): boolean => {
    const entries = Array.isArray(value) ? value : value && typeof value === 'object' ? [value] : [];
    let found = false;
    for (const entry of entries) {
      const prescription = readEarlier(entry);
      if (prescription) {
        earlier.push(prescription);
        found = true;
      }
    }
    return found;
  };
  // Within one order the "earlier" item is a line of this same order, which the doctor can see.
  if (details.sameOrder === true) for (const key of earlierKeys) usedKeys.add(key);
  for (const key of earlierKeys) {
    if (!usedKeys.has(key) && collectEarlier(details[key])) usedKeys.add(key);
  }
  // A course limit (限疗程) counts the same drug's earlier days: those prescriptions and the total.
  const cumulative = details.cumulative;
  if (cumulative && typeof cumulative === 'object') {
    const course = cumulative as { earlier?: unknown; total?: unknown; lookbackDays?: unknown };
    collectEarlier(course.earlier);
    if (typeof course.total === 'number') {
      const window = typeof course.lookbackDays === 'number' ? `近 ${course.lookbackDays} 天` : '';
      facts.push({ key: 'cumulative', label: `${window}累计天数`, value: `${formatQuantity(course.total)} 天` });
    }
  }
  usedKeys.add('cumulative');
  // Rules v2 course windows: from the first use of the course, or within this stay.
  const course = details.course;
  if (course && typeof course === 'object') {
    const window = course as { window?: unknown; earlier?: unknown; total?: unknown; firstDate?: unknown; courseDay?: unknown };
    collectEarlier(window.earlier);
    if (window.window === 'fromFirstUse' && typeof window.firstDate === 'string' && typeof window.courseDay === 'number') {
      facts.push({ key: 'course', label: '疗程', value: `${window.firstDate} 首次使用，本次为第 ${window.courseDay} 天` });
    } else if (window.window === 'admission' && typeof window.total === 'number') {
      facts.push({ key: 'course', label: '本次住院累计天数', value: `${formatQuantity(window.total)} 天` });
    }
  }
  usedKeys.add('course');
  const confirm = Array.isArray(details.confirm) ? details.confirm.filter((entry): entry is string => typeof entry === 'string') : [];
  // Some engines flatten the one earlier prescription into the details themselves.
  if (earlier.length === 0 && finding.kind === 'repeat' && typeof details.date === 'string') {
    const flat = readEarlier(details);
    if (flat) {
      earlier.push(flat);
      for (const key of ['date', 'dept', 'deptName', 'doctor', 'doctorName', 'days', 'daysLeft', 'remainingDays', 'endDate', 'name']) usedKeys.add(key);
    }
  }

  const unknown: DetailFact[] = [];
  for (const [key, value] of Object.entries(details)) {
    if (usedKeys.has(key) || hiddenKeys.has(key) || value === undefined || value === null) continue;
    const known = factFormatByKey.get(key);
    if (known) {
      const shown = known.format(value);
      // The engine's message often says the failed requirement already, word for word.
      const repeated = key === 'failed' && shown !== undefined && finding.message?.includes(shown);
      if (shown && !repeated) facts.push({ key, label: known.label, value: shown });
      continue;
    }
    const shown = text(value);
    if (shown) unknown.push({ key, label: key, value: shown });
  }
  const order = (fact: DetailFact) => factFormatByKey.get(fact.key)?.index ?? -1;
  facts.sort((a, b) => order(a) - order(b));
  return { earlier, facts: [...facts, ...unknown], confirm };
}

function readEarlier(value: unknown): EarlierPrescription | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  const prescription: EarlierPrescription = {
    name: text(record.name),
    date: text(record.date ?? record.startDate),
    dept: text(record.deptName ?? record.dept ?? record.department ?? record.deptCode),
    doctor: text(record.doctorName ?? record.doctor ?? record.doctorCode),
    days: numberOf(record.days),
    daysLeft: numberOf(record.daysLeft ?? record.remainingDays ?? record.leftDays),
    endDate: text(record.endDate ?? record.supplyEnd),
  };
  return Object.values(prescription).some((field) => field !== undefined) ? prescription : undefined;
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * A value in words: `{code, name}` pairs (departments, doctors, diseases) by their name, lists
 * joined with 、, anything else structured as compact JSON so nothing is silently lost.
 */
function text(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatQuantity(value);
  if (typeof value === 'boolean') return value ? '是' : '否';
  if (Array.isArray(value)) {
    const parts = value.map(text).filter((part): part is string => Boolean(part));
    return parts.length > 0 ? parts.join('、') : undefined;
  }
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.name === 'string' && record.name) return record.name;
    if (typeof record.code === 'string' && record.code) return record.code;
    const json = JSON.stringify(value);
    return json.length > 120 ? `${json.slice(0, 117)}…` : json;
  }
  return String(value);
}
