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
}

/** Keys under which an engine may put the earlier prescription(s). */
const earlierKeys = ['earlier', 'previous', 'prior', 'history', 'prescription', 'prescriptions', 'existing'];

type Formatter = (value: unknown) => string | undefined;

const asDays: Formatter = (value) => (typeof value === 'number' ? `${formatQuantity(value)} 天` : text(value));
const asMoney: Formatter = (value) => (typeof value === 'number' ? formatMoney(value) : text(value));
const asNumber: Formatter = (value) => (typeof value === 'number' ? formatQuantity(value) : text(value));
const asText: Formatter = (value) => text(value);

/** Known keys in the order they read best, with their Chinese labels. */
const factFormats: Array<[key: string, label: string, format: Formatter]> = [
  ['requirement', '限定条件', asText],
  ['unmet', '未满足', asText],
  ['missing', '缺少', asText],
  ['diagnoses', '本次诊断', asText],
  ['disease', '慢特病', asText],
  ['diseases', '登记慢特病', asText],
  ['year', '年度', asText],
  ['amount', '年度累计金额', asMoney],
  ['yearAmount', '年度累计金额', asMoney],
  ['capAmount', '年度金额上限', asMoney],
  ['quantity', '年度累计数量', asNumber],
  ['yearQuantity', '年度累计数量', asNumber],
  ['capQuantity', '年度数量上限', asNumber],
  ['days', '本次天数', asDays],
  ['cumulativeDays', '累计天数', asDays],
  ['maxDays', '天数上限', asDays],
  ['daysLeft', '剩余天数', asDays],
  ['remainingDays', '剩余天数', asDays],
  ['count', '味数', asNumber],
  ['itemCount', '味数', asNumber],
  ['maxItems', '味数上限', asNumber],
  ['otherLines', '同处方重复行', asText],
  ['sameOrderLines', '同处方重复行', asText],
  ['generic', '通用名', asText],
  ['class', '药理类别', asText],
];

const factFormatByKey = new Map(factFormats.map(([key, label, format], index) => [key, { label, format, index }]));

/** Keys that are for machines (ids, codes) and would only clutter the popup. */
const hiddenKeys = new Set(['ruleId', 'findingId', 'code', 'codes', 'hospCode', 'rxId', 'lines', 'line', 'kind', 'level']);

/** Reads the popup-worthy parts of a finding's details. */
export function describeDetails(finding: Pick<Finding, 'kind' | 'details'>): FindingDetails {
  const details = finding.details ?? {};
  const earlier: EarlierPrescription[] = [];
  const usedKeys = new Set<string>();
  for (const key of earlierKeys) {
    const value = details[key];
    const entries = Array.isArray(value) ? value : value && typeof value === 'object' ? [value] : [];
    for (const entry of entries) {
      const prescription = readEarlier(entry);
      if (prescription) earlier.push(prescription);
    }
    if (entries.length > 0) usedKeys.add(key);
  }
  // Some engines flatten the one earlier prescription into the details themselves.
  if (earlier.length === 0 && finding.kind === 'repeat' && typeof details.date === 'string') {
    const flat = readEarlier(details);
    if (flat) {
      earlier.push(flat);
      for (const key of ['date', 'dept', 'doctor', 'days', 'daysLeft', 'remainingDays', 'endDate', 'name']) usedKeys.add(key);
    }
  }

  const facts: DetailFact[] = [];
  const unknown: DetailFact[] = [];
  for (const [key, value] of Object.entries(details)) {
    if (usedKeys.has(key) || hiddenKeys.has(key) || value === undefined || value === null) continue;
    const known = factFormatByKey.get(key);
    if (known) {
      const shown = known.format(value);
      if (shown) facts.push({ key, label: known.label, value: shown });
      continue;
    }
    const shown = text(value);
    if (shown) unknown.push({ key, label: key, value: shown });
  }
  facts.sort((a, b) => factFormatByKey.get(a.key)!.index - factFormatByKey.get(b.key)!.index);
  return { earlier, facts: [...facts, ...unknown] };
}

function readEarlier(value: unknown): EarlierPrescription | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  const prescription: EarlierPrescription = {
    name: text(record.name),
    date: text(record.date ?? record.startDate),
    dept: text(record.dept ?? record.deptName ?? record.department),
    doctor: text(record.doctor ?? record.doctorName),
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
