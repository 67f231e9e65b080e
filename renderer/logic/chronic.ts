/**
 * Year-to-date chronic-disease figures against their caps, as the popup shows them even when
 * nothing fired: a bar per cap that turns amber at the warning ratio and red past the cap, the
 * same thresholds the chronic rule uses (rules.md: warn at `warnRatio`, block above the cap).
 */
import type { ChronicSummary } from '../../app/core/protocol/messages';
import { formatMoney, formatPercent, formatQuantity } from './format';

export type MeterState = 'ok' | 'near' | 'over';

export interface Meter {
  label: string;
  used: string;
  cap?: string;
  /** 0…1 for the bar; 1 when at or past the cap. */
  fill: number;
  /** The share of the cap used, in words ("41%"), when there is a cap. */
  share?: string;
  state: MeterState;
}

export function meterState(used: number, cap: number | undefined, warnRatio: number): MeterState {
  if (cap === undefined || cap <= 0) return 'ok';
  if (used > cap) return 'over';
  return used >= cap * warnRatio ? 'near' : 'ok';
}

/** The two meters (amount, quantity) for one registered disease. */
export function chronicMeters(summary: ChronicSummary): Meter[] {
  const meter = (label: string, used: number, cap: number | undefined, format: (value: number) => string): Meter => ({
    label,
    used: format(used),
    cap: cap !== undefined ? format(cap) : undefined,
    fill: cap && cap > 0 ? Math.min(1, used / cap) : 0,
    share: cap && cap > 0 ? formatPercent(used / cap) : undefined,
    state: meterState(used, cap, summary.warnRatio),
  });
  return [
    meter('金额', summary.amount, summary.capAmount, formatMoney),
    meter('数量', summary.quantity, summary.capQuantity, formatQuantity),
  ];
}

export const meterStateLabel: Record<MeterState, string> = { ok: '', near: '接近上限', over: '超出上限' };
