/**
 * What the engine works out once per check before any rule runs: the visit's normalised
 * diagnoses, the patient's age, each item's code segments and the rules its codes reach, and
 * the earlier prescriptions indexed by generic, class and hospital code.
 */
import { genericCode, normalizeDiagnosisCode, therapeuticClass } from '../../../rules-cache/codes';
import type {
  CompiledDaysRule,
  CompiledDrugRule,
  CompiledIndicationRule,
  CompiledLimitRule,
  CompiledRepeatRule,
  CompiledRules,
} from '../../../rules-cache/compile';
import { normalizeCode, type Rule, type Scope } from '../../../rules-cache/model';
import type { Check, Item } from '../protocol/messages';
import { ageAt, dayNumber } from './dates';
import type { PriorPrescription } from './history';

/** An item of the order with what the rules compare already worked out. */
export interface ItemView {
  readonly item: Item;
  /** Position in the order, for stable ordering of findings. */
  readonly index: number;
  readonly code?: string;
  readonly hospCode?: string;
  /** Same-generic key: first 10 characters of a drug code, else the whole code, else `H:` + hospital code. */
  readonly identity: string;
  readonly therapeuticClass?: string;
  readonly insured: boolean;
  /** Line total: `amount`, else price × qty, else 0. */
  readonly amount: number;
  /** Rules the item's codes reach, de-duplicated, in library order. */
  readonly rules: ItemRules;
}

export interface ItemRules {
  readonly indication: readonly CompiledIndicationRule[];
  readonly repeat: readonly CompiledRepeatRule[];
  readonly days: readonly CompiledDaysRule[];
  readonly limit: readonly CompiledLimitRule[];
}

/** An earlier prescription with its supply window worked out. */
export interface PriorView {
  readonly prior: PriorPrescription;
  readonly identity: string;
  readonly therapeuticClass?: string;
  /** Day number of the start of supply. */
  readonly day: number;
  /** Days from that start to the visit: 0 the same day, negative when dated after the visit. */
  readonly daysAgo: number;
}

export interface EvaluationContext {
  readonly rules: CompiledRules;
  readonly check: Check;
  readonly visitDate: string;
  readonly visitDay: number;
  /** Visit diagnoses normalised for matching (upper case, no spaces or dots). */
  readonly diagnoses: readonly string[];
  /** Whole years at the visit date; undefined without a birth date. */
  readonly age?: number;
  readonly items: readonly ItemView[];
  /**
   * The merged history without this order's own committed lines, newest first. The few rules
   * that read lines of other drugs (caps over a period, `priorDrugs`) take a view of those they
   * count with {@link priorView}.
   */
  readonly history: readonly PriorPrescription[];
  /**
   * Same-generic key → earlier prescriptions, newest first. Like the two maps below, it holds
   * only the keys of this order's items: the rules look up nothing else.
   */
  readonly priorsByIdentity: ReadonlyMap<string, readonly PriorView[]>;
  /** Hospital code → earlier prescriptions, for lines that have no national code on one side. */
  readonly priorsByHospCode: ReadonlyMap<string, readonly PriorView[]>;
  /** Therapeutic class → earlier prescriptions of western drugs. */
  readonly priorsByClass: ReadonlyMap<string, readonly PriorView[]>;
}

const noRules: ItemRules = Object.freeze({
  indication: Object.freeze([]),
  repeat: Object.freeze([]),
  days: Object.freeze([]),
  limit: Object.freeze([]),
});

/** The same-generic key of a code or hospital code (see {@link ItemView.identity}). */
export function identityOf(code: string | undefined, hospCode: string | undefined): string {
  if (code !== undefined) return genericCode(code) ?? code;
  return `H:${hospCode ?? ''}`;
}

/**
 * Looks up the rules an item's codes reach: one map lookup per prefix length that some rule
 * names, and one for the hospital code. Never a scan of the library.
 */
export function rulesForCodes(rules: CompiledRules, code: string | undefined, hospCode: string | undefined): ItemRules {
  let found: CompiledDrugRule[] | undefined;
  let lists = 0;
  const add = (list: readonly CompiledDrugRule[] | undefined) => {
    if (!list) return;
    lists += 1;
    if (found) found.push(...list);
    else found = [...list];
  };
  if (code !== undefined) {
    // Indexed loops here and below: for-of over the compiled (frozen) lists made an iterator
    // result per step, on every item of every check.
    const lengths = rules.prefixLengths;
    for (let index = 0; index < lengths.length; index += 1) {
      const length = lengths[index]!;
      if (length > code.length) break;
      add(rules.byDrugPrefix.get(code.slice(0, length)));
    }
  }
  if (hospCode !== undefined) add(rules.byHospCode.get(hospCode));
  if (!found) return noRules;
  // Several prefixes of one code may lead to the same rule; each rule counts once, in library order.
  const ordered = lists > 1 ? [...new Set(found)].sort((a, b) => a.order - b.order) : found;
  const indication: CompiledIndicationRule[] = [];
  const repeat: CompiledRepeatRule[] = [];
  const days: CompiledDaysRule[] = [];
  const limit: CompiledLimitRule[] = [];
  for (let index = 0; index < ordered.length; index += 1) {
    const compiled = ordered[index]!;
    switch (compiled.kind) {
      case 'indication':
        indication.push(compiled);
        break;
      case 'repeat':
        repeat.push(compiled);
        break;
      case 'days':
        days.push(compiled);
        break;
      case 'limit':
        limit.push(compiled);
        break;
    }
  }
  return { indication, repeat, days, limit };
}


function lineAmount(item: Item): number {
  if (item.amount !== undefined) return item.amount;
  if (item.price !== undefined && item.qty !== undefined) return item.price * item.qty;
  return 0;
}

/** An earlier line with its keys and supply window worked out, as of the visit's day. */
export function priorView(
  prior: PriorPrescription,
  visitDay: number,
  identity = identityOf(prior.code, prior.hospCode),
  therapeutic = prior.code === undefined ? undefined : therapeuticClass(prior.code),
): PriorView {
  const day = dayNumber(prior.date);
  return { prior, identity, therapeuticClass: therapeutic, day, daysAgo: visitDay - day };
}

/** Builds the per-check context. `prior` is the merged history, newest first. */
export function buildContext(rules: CompiledRules, check: Check, prior: readonly PriorPrescription[]): EvaluationContext {
  const visitDate = check.visit.date;
  const visitDay = dayNumber(visitDate);
  const items: ItemView[] = check.items.map((item, index) => {
    const hospCode = item.hospCode === undefined ? undefined : normalizeCode(item.hospCode);
    return {
      item,
      index,
      code: item.code,
      hospCode,
      identity: identityOf(item.code, hospCode),
      therapeuticClass: item.code === undefined ? undefined : therapeuticClass(item.code),
      insured: item.channel !== 'selfpay',
      amount: lineAmount(item),
      rules: rulesForCodes(rules, item.code, hospCode),
    };
  });

  // A re-check of an order that was already committed on this PC must not find itself in the
  // ledger. The agent writes `visitId/checkId#line` (check ids may repeat across visits); the
  // store contract's plain `checkId#line` is recognised too.
  const ownPrefix = `${check.visit.id}/${check.id}#`;
  const ownPlainPrefix = `${check.id}#`;
  const history: PriorPrescription[] = [];
  // Keyed in advance by the items' own keys: most of a long history is other drugs, and lists
  // for them would be built for nothing on every check.
  const priorsByIdentity = new Map<string, PriorView[]>();
  const priorsByHospCode = new Map<string, PriorView[]>();
  const priorsByClass = new Map<string, PriorView[]>();
  for (const view of items) {
    if (!priorsByIdentity.has(view.identity)) priorsByIdentity.set(view.identity, []);
    if (view.hospCode !== undefined && !priorsByHospCode.has(view.hospCode)) priorsByHospCode.set(view.hospCode, []);
    if (view.therapeuticClass !== undefined && !priorsByClass.has(view.therapeuticClass)) priorsByClass.set(view.therapeuticClass, []);
  }
  for (const entry of prior) {
    const rxId = entry.rxId;
    if (entry.source === 'ledger' && rxId !== undefined && (rxId.startsWith(ownPrefix) || rxId.startsWith(ownPlainPrefix))) continue;
    history.push(entry);
    // A view only for the lines some item of this order looks up: the rest of a long history
    // is other drugs, and a view of each was most of what building the context allocated.
    const identity = identityOf(entry.code, entry.hospCode);
    const therapeutic = entry.code === undefined ? undefined : therapeuticClass(entry.code);
    const byIdentity = priorsByIdentity.get(identity);
    const byHospCode = entry.hospCode === undefined ? undefined : priorsByHospCode.get(entry.hospCode);
    const byClass = therapeutic === undefined ? undefined : priorsByClass.get(therapeutic);
    if (!byIdentity && !byHospCode && !byClass) continue;
    const view = priorView(entry, visitDay, identity, therapeutic);
    byIdentity?.push(view);
    byHospCode?.push(view);
    byClass?.push(view);
  }
  const birthDate = check.patient.birthDate;
  return {
    rules,
    check,
    visitDate,
    visitDay,
    diagnoses: check.diagnoses.map((diagnosis) => normalizeDiagnosisCode(diagnosis.code)),
    age: birthDate === undefined ? undefined : ageAt(birthDate, visitDate),
    items,
    history,
    priorsByIdentity,
    priorsByHospCode,
    priorsByClass,
  };
}

/** Whether a rule is in effect on the visit date (both ends inclusive). */
export function inEffect(rule: Rule, visitDate: string): boolean {
  const effective = rule.effective;
  if (!effective) return true;
  if (effective.from !== undefined && visitDate < effective.from) return false;
  if (effective.to !== undefined && visitDate > effective.to) return false;
  return true;
}

/**
 * Whether the visit is inside a rule's scope. A scope names where a rule applies, so a visit
 * that does not say its medical type, insurance, hospital level or department is outside any
 * scope that restricts that field: the engine does not guess.
 */
export function inScope(scope: Scope | undefined, check: Check, medTypes?: readonly string[]): boolean {
  const visit = check.visit;
  const requiredMedTypes = medTypes ?? scope?.medTypes;
  if (requiredMedTypes && (visit.medType === undefined || !requiredMedTypes.includes(visit.medType))) return false;
  if (!scope) return true;
  if (scope.visitTypes && !scope.visitTypes.includes(visit.type)) return false;
  if (scope.insurance && (check.patient.insurance === undefined || !scope.insurance.includes(check.patient.insurance))) return false;
  if (scope.hospitalLevels && (visit.hospitalLevel === undefined || !scope.hospitalLevels.includes(visit.hospitalLevel))) return false;
  if (scope.depts && (visit.dept === undefined || !scope.depts.includes(visit.dept.code))) return false;
  return true;
}

/** Whether a compiled rule applies at this visit: in effect and in scope. */
export function applies(compiled: { rule: Rule; medTypes?: readonly string[] }, context: EvaluationContext): boolean {
  return inEffect(compiled.rule, context.visitDate) && inScope(compiled.rule.scope, context.check, compiled.medTypes);
}
