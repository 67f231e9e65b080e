/**
 * Shared pieces of a finding: the draft each rule kind produces, the actions a doctor is
 * offered, message templates, and the Chinese words the popup shows.
 */
import type { Level, Rule, RuleKind } from '../../../rules-cache/model';
import type { Action, Finding } from '../protocol/messages';
import type { ItemView } from './context';

/** A finding before it gets its id: the sort keys decide the order the doctor reads them in. */
export interface DraftFinding extends Omit<Finding, 'findingId'> {
  /** Position of the first line in the order. */
  readonly firstItem: number;
  /** Position of the rule in the library. */
  readonly ruleOrder: number;
}

/** Values a message template may name as `{placeholder}`. */
export type TemplateValues = Readonly<Record<string, string | number | undefined>>;

/**
 * Fills a rule's `message` template, or uses the built-in message when the rule has none.
 * A placeholder with no value is left as written so a typo in a rule shows instead of
 * silently vanishing.
 */
export function renderMessage(template: string | undefined, fallback: string, values: TemplateValues): string {
  if (template === undefined || template.trim() === '') return fallback;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = values[name];
    return value === undefined ? whole : String(value);
  });
}

/** Kinds where dropping the line fixes it; an oversized herbal prescription is fixed by revising it. */
const removeFixes: ReadonlySet<RuleKind> = new Set<RuleKind>(['indication', 'chronic', 'repeat', 'days', 'limit']);

/**
 * Whether 转自费 fixes a finding of this rule: only for the insurance-scope rules (indication,
 * chronic, quantity caps, and per-drug days limits, which are the 医保目录's 限疗程 payment limits), and only
 * where the rule allows it. A repeat, a general days-supply limit or an oversized herbal
 * prescription is just as wrong when the patient pays, so paying privately fixes nothing.
 */
export function selfPayFixes(rule: Rule): boolean {
  if (!rule.selfPay) return false;
  if (rule.kind === 'indication' || rule.kind === 'chronic' || rule.kind === 'limit') return true;
  return rule.kind === 'days' && (rule.drugs !== undefined || rule.codes !== undefined);
}

/**
 * The actions offered for a finding: `continue` past a warning (with a reason), `selfpay`
 * where paying privately fixes it, `remove` the line, or go back and `revise` the order.
 */
export function actionsFor(rule: Rule, level: Level): Action[] {
  const actions: Action[] = [];
  if (level === 'warn') actions.push('continue');
  if (selfPayFixes(rule)) actions.push('selfpay');
  if (removeFixes.has(rule.kind)) actions.push('remove');
  actions.push('revise');
  return actions;
}

/** Builds a draft finding for a rule with the fields every kind fills the same way. */
export function draft(
  compiled: { readonly rule: Rule; readonly order: number },
  level: Level,
  items: readonly ItemView[],
  message: string,
  details: Record<string, unknown>,
): DraftFinding {
  const rule = compiled.rule;
  return {
    ruleId: rule.id,
    kind: rule.kind,
    level,
    lines: items.map((view) => view.item.line),
    title: rule.title,
    message,
    basis: rule.basis,
    actions: actionsFor(rule, level),
    details,
    firstItem: items.length > 0 ? Math.min(...items.map((view) => view.index)) : Number.MAX_SAFE_INTEGER,
    ruleOrder: compiled.order,
  };
}

/** The item as the details of a finding name it. */
export function describeItem(view: ItemView): Record<string, unknown> {
  return {
    line: view.item.line,
    name: view.item.name,
    code: view.code,
    hospCode: view.hospCode,
    days: view.item.days,
    qty: view.item.qty,
    channel: view.item.channel,
  };
}

/** Names of items for a message: `氨氯地平片、硝苯地平片`. */
export function itemNames(items: readonly ItemView[]): string {
  return [...new Set(items.map((view) => view.item.name))].join('、');
}

/** Line numbers for a message: `1、2`. */
export function lineList(items: readonly ItemView[]): string {
  return items.map((view) => view.item.line).join('、');
}

export const visitTypeNames: Readonly<Record<string, string>> = {
  outpatient: '门诊',
  emergency: '急诊',
  inpatient: '住院',
};

/**
 * 险种 names of the national 医保 dictionary (insutype). Codes outside it are shown as codes:
 * regions disagree on some of them (人社's 410 is 工伤保险, 医保's is 长期护理保险).
 */
export const insuranceNames: Readonly<Record<string, string>> = {
  '310': '职工基本医疗保险',
  '320': '公务员医疗补助',
  '330': '大额医疗费用补助',
  '340': '离休人员医疗保障',
  '390': '城乡居民基本医疗保险',
  '392': '城乡居民大病医疗保险',
  '510': '生育保险',
};

export function insuranceName(code: string): string {
  const name = insuranceNames[code];
  return name ? `${name}(${code})` : code;
}

export const hospitalLevelNames: Readonly<Record<number, string>> = { 1: '一级', 2: '二级', 3: '三级' };

export function genderName(gender: 'M' | 'F'): string {
  return gender === 'M' ? '男性' : '女性';
}

/** Money for people: at most two decimals, no trailing zeros. */
export function money(value: number): number {
  return Math.round(value * 100) / 100;
}
