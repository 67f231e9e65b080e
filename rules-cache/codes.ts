/**
 * Code matching (shared/spec/rules.md "Codes"): diagnosis patterns against 医保版 ICD-10 codes,
 * and the drug-code segments a rule or a repeat check compares.
 *
 * Everything here is pure and allocation-light because the engine calls it on the hot path.
 */
import { normalizeCode } from './model';

/** The national drug code is 23 characters (中成药 20). */
export const DRUG_CODE_LENGTH = 23;

/** The longest item-code prefix a rule may name (service and material codes run longer than drugs). */
export const ITEM_PREFIX_LENGTH = 30;

/** An ICD-9-CM-3 procedure code as matched: upper case, no spaces and no dots (`81.51` → `8151`). */
export function normalizeProcedureCode(code: string): string {
  return normalizeCode(code).replace(/\./g, '');
}

/** Characters 1–10 of a drug code: one generic drug in every form and from every maker. */
export const GENERIC_CODE_LENGTH = 10;

/**
 * A diagnosis code as the matcher compares it: upper case, no spaces and no dots.
 *
 * Dots are dropped as well as spaces because some HIS send `E11900` for `E11.900`; the ICD-10
 * dot always follows the three-character category, so dropping it on both sides cannot make
 * two different codes equal.
 */
export function normalizeDiagnosisCode(code: string): string {
  return normalizeCode(code).replace(/\./g, '');
}

/**
 * The three-character ICD-10 category of a code (`I10.x00x002` → `I10`), or undefined when the
 * code does not start with a letter and two digits.
 */
export function diagnosisCategory(code: string): string | undefined {
  const normalized = normalizeDiagnosisCode(code);
  return /^[A-Z]\d\d/.test(normalized) ? normalized.slice(0, 3) : undefined;
}

/** One compiled diagnosis pattern: a prefix, or an inclusive range of three-character categories. */
export type CompiledDiagnosisPattern =
  | { readonly kind: 'prefix'; readonly pattern: string; readonly prefix: string }
  | { readonly kind: 'range'; readonly pattern: string; readonly from: string; readonly to: string };

const rangePattern = /^([A-Z]\d\d)-([A-Z]\d\d)$/;

/**
 * Compiles one pattern as rules.md writes it: `C34`, `E11.9`, `I10.x00` (a prefix) or
 * `C15-C26` (every category from C15 to C26, inclusive; ranges may cross letters, `C00-D48`).
 */
export function compileDiagnosisPattern(pattern: string): CompiledDiagnosisPattern {
  const normalized = normalizeCode(pattern);
  const range = rangePattern.exec(normalized);
  if (range) return { kind: 'range', pattern: normalized, from: range[1]!, to: range[2]! };
  return { kind: 'prefix', pattern: normalized, prefix: normalized.replace(/\./g, '') };
}

/**
 * Whether an already normalised code (see {@link normalizeDiagnosisCode}) matches a compiled
 * pattern. Categories compare as strings: `[A-Z]\d\d` sorts the way ICD-10 orders them.
 */
export function matchesCompiledPattern(pattern: CompiledDiagnosisPattern, normalizedCode: string): boolean {
  if (pattern.kind === 'prefix') return normalizedCode.startsWith(pattern.prefix);
  if (normalizedCode.length < 3) return false;
  const category = normalizedCode.slice(0, 3);
  return /^[A-Z]\d\d$/.test(category) && category >= pattern.from && category <= pattern.to;
}

/** Whether a diagnosis code matches one pattern; both sides ignore case, spaces and dots. */
export function diagnosisMatches(pattern: string, code: string): boolean {
  return matchesCompiledPattern(compileDiagnosisPattern(pattern), normalizeDiagnosisCode(code));
}

/**
 * A rule's list of diagnosis patterns, compiled once when the rules are compiled. A class
 * rather than closures so that a library of 100,000 rules does not allocate three functions
 * per rule.
 */
export class DiagnosisMatcher {
  readonly patterns: readonly CompiledDiagnosisPattern[];

  constructor(patterns: readonly string[]) {
    this.patterns = Object.freeze(patterns.map(compileDiagnosisPattern));
    Object.freeze(this);
  }

  /** True when the (already normalised, see {@link normalizeDiagnosisCode}) code matches any pattern. */
  matchesNormalized(normalizedCode: string): boolean {
    // Indexed: for-of over this frozen list made an iterator result per pattern on every call.
    const patterns = this.patterns;
    for (let index = 0; index < patterns.length; index += 1) if (matchesCompiledPattern(patterns[index]!, normalizedCode)) return true;
    return false;
  }

  /** True when the code matches any pattern. */
  matches(code: string): boolean {
    return this.matchesNormalized(normalizeDiagnosisCode(code));
  }

  /** Index of the first of the (already normalised) codes that matches any pattern, or -1. */
  firstMatch(normalizedCodes: readonly string[]): number {
    for (let index = 0; index < normalizedCodes.length; index += 1) {
      if (this.matchesNormalized(normalizedCodes[index]!)) return index;
    }
    return -1;
  }
}

/** Compiles a list of diagnosis patterns into one matcher. */
export function compileDiagnosisPatterns(patterns: readonly string[]): DiagnosisMatcher {
  return new DiagnosisMatcher(patterns);
}

/**
 * Every three-character category an inclusive range covers, in order (`C15-C17` → C15, C16, C17).
 * Used to index ranges by category so a lookup does not scan every rule.
 */
export function categoriesInRange(from: string, to: string): string[] {
  const categories: string[] = [];
  let letter = from.charCodeAt(0);
  let number = Number(from.slice(1));
  const lastLetter = to.charCodeAt(0);
  const lastNumber = Number(to.slice(1));
  while (letter < lastLetter || (letter === lastLetter && number <= lastNumber)) {
    categories.push(`${String.fromCharCode(letter)}${String(number).padStart(2, '0')}`);
    number += 1;
    if (number > 99) {
      number = 0;
      letter += 1;
    }
  }
  return categories;
}

/** A national drug code of a western (`X`) or Chinese patent (`Z`) medicine. */
export function isDrugCode(code: string): boolean {
  return code.length >= GENERIC_CODE_LENGTH && (code[0] === 'X' || code[0] === 'Z');
}

/**
 * The generic-drug key of a national code: its first 10 characters for `X` and `Z` codes.
 *
 * Chinese patent medicine codes carry the same layout as western ones (class in positions
 * 2–6, the generic-name code in 7–10, e.g. 紫龙金片 `ZA12AAZ017`), so the same 10 characters
 * name one 中成药 in every form and maker. Other codes (materials, services, 饮片) have no
 * generic segment and return undefined; callers compare those by the whole code.
 */
export function genericCode(code: string): string | undefined {
  return isDrugCode(code) ? code.slice(0, GENERIC_CODE_LENGTH) : undefined;
}

/**
 * The therapeutic class of a western drug: positions 2–6, its ATC level-4 group (`XC08CAA053…`
 * → `C08CA`, the dihydropyridine calcium-channel blockers).
 *
 * Only `X` codes have one. Positions 2–6 of a `Z` code are the 中成药 efficacy category
 * (e.g. 扶正剂), which groups formulas that are not interchangeable the way one ATC level-4
 * group is, so a class repeat rule would flag ordinary combined TCM treatment; same-generic
 * repeats of 中成药 are still caught through {@link genericCode}.
 */
export function therapeuticClass(code: string): string | undefined {
  return code.length >= 6 && code[0] === 'X' ? code.slice(1, 6) : undefined;
}

/** Whether a (normalised) code starts with any of the (normalised) prefixes. */
export function matchesAnyPrefix(code: string, prefixes: readonly string[]): boolean {
  for (const prefix of prefixes) if (code.startsWith(prefix)) return true;
  return false;
}

/**
 * Every prefix of a code a rule could name, shortest first, up to the 23 characters of a
 * national code: the keys the compiled index is looked up by.
 */
export function codePrefixes(code: string): string[] {
  const limit = Math.min(code.length, DRUG_CODE_LENGTH);
  const prefixes: string[] = [];
  for (let length = 1; length <= limit; length += 1) prefixes.push(code.slice(0, length));
  return prefixes;
}
