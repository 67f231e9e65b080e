/**
 * The patterns and cross-field conditions of the rule model, in one place, so that the zod
 * schemas (model.ts) and the fast path that spares them the common case (rule-fast-path.ts)
 * test the very same expressions instead of two copies that could drift apart.
 */
import { z } from 'zod';

/** Matching ignores case and spaces, so codes are normalised once, at the edge. */
export function normalizeCode(code: string): string {
  // Most codes arrive normalised already (printable ASCII, no space, no lower case), and every
  // history row passes here: those are returned as they are, without a copy.
  return ALREADY_NORMAL.test(code) ? code : code.replace(/\s+/g, '').toUpperCase();
}

/** Printable ASCII other than the space and a–z: what neither step above would change. */
const ALREADY_NORMAL = /^[\x21-\x60\x7b-\x7e]*$/;

/** A national drug-code prefix: a category letter then up to 22 more letters or digits. */
export const DRUG_PREFIX_PATTERN = /^[A-Z][A-Z0-9]{0,22}$/;

/** A national code prefix of any item (drug, service, material): 1–30 letters or digits. */
export const ITEM_PREFIX_PATTERN = /^[A-Z0-9][A-Z0-9]{0,29}$/;

/** An ICD-9-CM-3 procedure prefix (`81.51`). */
export const PROCEDURE_PREFIX_PATTERN = /^[0-9A-Z][0-9A-Z.]{0,15}$/;

/** An ICD-10 prefix (`C34`, `E11.9`, `I10.X00`) or a range of three-character categories (`C15-C26`). */
export const DIAGNOSIS_PATTERN = /^(?:[A-Z](?:\d{1,2}(?:\.[0-9A-Z]*)?)?|[A-Z]\d{2}-[A-Z]\d{2})$/;

/** What a rule id may contain. */
export const RULE_ID_PATTERN = /^[\w.\-:]+$/;

/** The calendar dates `z.iso.date()` accepts (month lengths and leap years included). */
export const ISO_DATE_PATTERN: RegExp = z.regexes.date;

/** A diagnosis range must not run backwards (`C26-C15`). */
export function diagnosisRangeInOrder(pattern: string): boolean {
  const range = /^([A-Z]\d{2})-([A-Z]\d{2})$/.exec(pattern);
  return !range || range[1]! <= range[2]!;
}

/** `effective`: the start is not after the end. */
export function effectiveInOrder(value: { from?: string; to?: string }): boolean {
  return !value.from || !value.to || value.from <= value.to;
}

/** A prescriber requirement names departments or a lowest title. */
export function prescriberNamesSomething(value: { depts?: unknown; titleMin?: unknown }): boolean {
  return value.depts !== undefined || value.titleMin !== undefined;
}

/** An indication rule names at least one item, by prefix, code or hospital code. */
export function indicationNamesItems(rule: { drugs: readonly unknown[]; hospCodes: readonly unknown[]; codes?: readonly unknown[] }): boolean {
  return rule.drugs.length + rule.hospCodes.length + (rule.codes?.length ?? 0) > 0;
}

/** A course window other than `rolling` needs the drugs it counts. */
export function daysWindowHasDrugs(rule: { window?: string; drugs?: unknown; codes?: unknown }): boolean {
  return rule.window === undefined || rule.window === 'rolling' || rule.drugs !== undefined || rule.codes !== undefined;
}

/** `gapDays` only means something for a course counted from the first use. */
export function daysGapFitsWindow(rule: { window?: string; gapDays?: unknown }): boolean {
  return rule.gapDays === undefined || rule.window === 'fromFirstUse';
}

/** A herbal rule limits the number of pieces or names pieces not paid alone. */
export function herbalLimitsSomething(rule: { maxItems?: unknown; notAlone?: unknown }): boolean {
  return rule.maxItems !== undefined || rule.notAlone !== undefined;
}

/** A herbal `except` only raises a `maxItems` the rule has. */
export function herbalExceptHasMax(rule: { maxItems?: unknown; except?: unknown }): boolean {
  return rule.except === undefined || rule.maxItems !== undefined;
}

/** A limit rule names at least one item. */
export function limitNamesItems(rule: { drugs?: readonly unknown[]; codes?: readonly unknown[]; hospCodes?: readonly unknown[] }): boolean {
  return (rule.drugs?.length ?? 0) + (rule.codes?.length ?? 0) + (rule.hospCodes?.length ?? 0) > 0;
}

/** A limit rule caps quantity or count, exactly one of them. */
export function limitCapsOne(rule: { maxQty?: unknown; maxCount?: unknown }): boolean {
  return (rule.maxQty === undefined) !== (rule.maxCount === undefined);
}

/** The age bounds of a requirement, in years, do not cross. */
export function requirementYearsInOrder(value: { ageMin?: number; ageMax?: number }): boolean {
  return value.ageMin === undefined || value.ageMax === undefined || value.ageMin <= value.ageMax;
}

/** The age bounds of a requirement, in days, do not cross. */
export function requirementDaysInOrder(value: { ageDaysMin?: number; ageDaysMax?: number }): boolean {
  return value.ageDaysMin === undefined || value.ageDaysMax === undefined || value.ageDaysMin <= value.ageDaysMax;
}

/** A requirement restricts something: at least one of its fields has a value. */
export function requirementRestrictsSomething(value: object): boolean {
  return Object.values(value).some((field) => field !== undefined);
}
