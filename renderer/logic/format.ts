/**
 * Formatting for people: masked names, ages, money, dates. Pure functions, so the tests pin
 * down exactly what a doctor reads.
 */
import { genderLabel, medTypeLabel, visitTypeLabel } from './labels';

/**
 * Enough of the name to recognise the patient at the desk, not enough to identify them from a
 * glance at someone else's screen: 张三 → 张*, 欧阳娜娜 → 欧**娜.
 */
export function maskName(name: string | undefined): string {
  const characters = [...(name ?? '').trim()];
  if (characters.length === 0) return '(未提供姓名)';
  if (characters.length === 1) return characters[0]!;
  if (characters.length === 2) return `${characters[0]}*`;
  return `${characters[0]}${'*'.repeat(characters.length - 2)}${characters[characters.length - 1]}`;
}

/** "男 · 75岁", leaving out what the HIS did not send. */
export function describePatient(patient: { gender?: 'M' | 'F'; age?: number }): string {
  const parts: string[] = [];
  if (patient.gender) parts.push(genderLabel[patient.gender]);
  if (patient.age !== undefined) parts.push(patient.age < 1 ? '不足1岁' : `${patient.age}岁`);
  return parts.join(' · ');
}

/** "门诊 · 普通门诊", or the raw codes where they are not ones we know. */
export function describeVisit(visit: { type: string; medType?: string }): string {
  const parts = [visitTypeLabel[visit.type] ?? visit.type];
  if (visit.medType) parts.push(medTypeLabel[visit.medType] ?? `医疗类别 ${visit.medType}`);
  return parts.join(' · ');
}

const moneyFormat = new Intl.NumberFormat('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** ¥1,234.50 */
/**
 * Names an order line as the HIS numbers it ("第 2 行"), in words rather than a bare digit, so
 * it cannot be read as the 1 / 2 / 3 action keys and matches the line in the HIS window.
 */
export function describeLine(line: string): string {
  return /^\d{1,4}$/.test(line) ? `第 ${line} 行` : `行 ${line}`;
}

export function formatMoney(amount: number): string {
  return `¥${moneyFormat.format(amount)}`;
}

/** Quantities without trailing zeros: 2, 2.5, 0.25. */
export function formatQuantity(quantity: number): string {
  return String(Math.round(quantity * 1000) / 1000);
}

/** "2盒 · 7天 · ¥137.00" for an item line; parts the HIS left out are skipped. */
export function describeItemSupply(item: { qty?: number; unit?: string; days?: number; amount?: number }): string {
  const parts: string[] = [];
  if (item.qty !== undefined) parts.push(`${formatQuantity(item.qty)}${item.unit ?? ''}`);
  if (item.days !== undefined) parts.push(`${item.days}天`);
  if (item.amount !== undefined) parts.push(formatMoney(item.amount));
  return parts.join(' · ');
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/** Local "11-24 09:12" for recent events; the full date when it is not this year. */
export function formatDateTime(iso: string | undefined, now: Date = new Date()): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  const day = `${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  return date.getFullYear() === now.getFullYear() ? `${day} ${time}` : `${date.getFullYear()}-${day} ${time}`;
}

/** Local "2026-11-24" for dates that matter by day (expiry, publication). */
export function formatDate(iso: string | undefined): string {
  if (!iso) return '—';
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** "3 天前", "今天", "刚刚" — how long ago, coarse on purpose. */
export function formatAgo(iso: string | undefined, now: Date = new Date()): string {
  if (!iso) return '—';
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((now.getTime() - then) / 1000);
  if (seconds < 0) return formatDateTime(iso, now);
  if (seconds < 60) return '刚刚';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} 分钟前`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} 小时前`;
  return `${Math.floor(seconds / 86_400)} 天前`;
}

/** Whole days from now until `iso` (negative once past). */
export function daysUntil(iso: string, now: Date = new Date()): number {
  return Math.floor((new Date(iso).getTime() - now.getTime()) / 86_400_000);
}

/** 0.41 → "41%". */
export function formatPercent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}
