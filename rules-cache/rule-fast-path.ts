/**
 * The common case of rule validation without zod's per-field machinery: loading 100,000 rules
 * spent most of its time in `Rule.safeParse`. This path only ever *accepts*: it returns the
 * very object `Rule.safeParse` would return (same values, same defaults, same key order) for
 * a rule it is certain zod accepts, and `undefined` for anything else, so that zod — still the
 * one definition of a rule — decides and words every error. It is written against the schemas
 * in model.ts and shares their patterns and cross-field conditions (rule-patterns.ts);
 * rule-fast-path.test.ts feeds both the same valid and hostile rules, with probes at every limit
 * the published JSON Schema names, and requires identical results.
 *
 * Conservative where zod is lenient: only plain objects (prototype `Object.prototype`) and
 * arrays are read, so a getter or an exotic prototype goes to zod.
 */
import {
  DIAGNOSIS_PATTERN,
  DRUG_PREFIX_PATTERN,
  ISO_DATE_PATTERN,
  ITEM_PREFIX_PATTERN,
  PROCEDURE_PREFIX_PATTERN,
  RULE_ID_PATTERN,
  daysGapFitsWindow,
  daysWindowHasDrugs,
  diagnosisRangeInOrder,
  effectiveInOrder,
  herbalExceptHasMax,
  herbalLimitsSomething,
  indicationNamesItems,
  limitCapsOne,
  limitNamesItems,
  normalizeCode,
  prescriberNamesSomething,
  requirementDaysInOrder,
  requirementRestrictsSomething,
  requirementYearsInOrder,
} from './rule-patterns';

type Fields = Record<string, unknown>;

/**
 * Thrown (one preallocated value, no stack) the moment a candidate leaves the common case;
 * caught once per rule. Rejections are rare in a real library, so the happy path pays nothing.
 */
const NOT_CERTAIN = Object.freeze({ notCertain: true });

function refuse(): never {
  throw NOT_CERTAIN;
}

function plainObject(value: unknown): Fields {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) refuse();
  return value as Fields;
}

/**
 * A strict object: every enumerable key, own or inherited (zod walks `for…in`), is known. A key
 * present with the value `undefined` (zod keeps such a key in its output) is left to zod, so
 * that below, `undefined` means absent and each field is read by name — a generic keyed read
 * would be one slow lookup per field and rule.
 */
function strictObject(value: unknown, keys: ReadonlySet<string>): Fields {
  const object = plainObject(value);
  for (const key in object) if (!keys.has(key) || object[key] === undefined) refuse();
  return object;
}

/**
 * A checked copy of an array. `slice` sizes the copy exactly: a list grown by `push` keeps room
 * for 16 more entries, which over the one-prefix lists of 100,000 rules is 15 MB of nothing.
 */
function list<T>(value: unknown, min: number, item: (value: unknown) => T): T[] {
  if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype || value.length < min) refuse();
  const result = (value as unknown[]).slice() as T[];
  for (let index = 0; index < result.length; index += 1) result[index] = item(result[index]);
  return result;
}

function text(value: unknown, min: number, max: number): string {
  if (typeof value !== 'string' || value.length < min || value.length > max) refuse();
  return value;
}

/** `z.string().trim().min().max()`: trimmed first, then measured. */
function trimmed(value: unknown, min: number, max: number): string {
  if (typeof value !== 'string') refuse();
  const result = value.trim();
  if (result.length < min || result.length > max) refuse();
  return result;
}

function integer(value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) refuse();
  return value;
}

/** A finite number above `above` and at most `max`. */
function positive(value: unknown, above: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value > above) || value > max) refuse();
  return value;
}

function finite(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) refuse();
  return value;
}

function boolean(value: unknown): boolean {
  if (typeof value !== 'boolean') refuse();
  return value;
}

function oneOf<T extends string>(values: ReadonlySet<string>): (value: unknown) => T {
  return (value) => {
    if (typeof value !== 'string' || !values.has(value)) refuse();
    return value as T;
  };
}

/** A code normalised then matched: a code that already matches is its own normal form. */
function normalizedMatching(pattern: RegExp): (value: unknown) => string {
  return (value) => {
    if (typeof value !== 'string') refuse();
    if (pattern.test(value)) return value;
    const normal = normalizeCode(value);
    if (!pattern.test(normal)) refuse();
    return normal;
  };
}

const drugPrefix = normalizedMatching(DRUG_PREFIX_PATTERN);
const itemPrefix = normalizedMatching(ITEM_PREFIX_PATTERN);
const procedurePrefix = normalizedMatching(PROCEDURE_PREFIX_PATTERN);
const diagnosisPatternOf = normalizedMatching(DIAGNOSIS_PATTERN);

function diagnosisPattern(value: unknown): string {
  const pattern = diagnosisPatternOf(value);
  if (!diagnosisRangeInOrder(pattern)) refuse();
  return pattern;
}

function isoDate(value: unknown): string {
  if (typeof value !== 'string' || !ISO_DATE_PATTERN.test(value)) refuse();
  return value;
}

const nonEmptyText = (value: unknown) => text(value, 1, Infinity);
const hospCode = (value: unknown) => trimmed(value, 1, 64);
const visitType = oneOf(new Set(['outpatient', 'emergency', 'inpatient']));
const level = oneOf(new Set(['warn', 'block']));
const doctorTitle = oneOf(new Set(['assistant', 'physician', 'attending', 'associateChief', 'chief']));
const pregnancy = oneOf(new Set(['pregnant', 'lactating', 'none']));
const gender = oneOf(new Set(['M', 'F']));
const labOp = oneOf(new Set(['<', '<=', '>', '>=']));
const repeatMatch = oneOf(new Set(['generic', 'class']));
const daysWindow = oneOf(new Set(['rolling', 'fromFirstUse', 'admission']));
const limitPeriod = oneOf(new Set(['day', 'visit', 'admission', 'year', 'lifetime']));
const hospitalLevel = (value: unknown) => integer(value, 1, 3);

const scopeKeys = new Set(['visitTypes', 'medTypes', 'insurance', 'hospitalLevels', 'depts']);
function scope(value: unknown): Fields {
  const input = strictObject(value, scopeKeys);
  const result: Fields = {};
  if (input.visitTypes !== undefined) result.visitTypes = list(input.visitTypes, 1, visitType);
  if (input.medTypes !== undefined) result.medTypes = list(input.medTypes, 1, nonEmptyText);
  if (input.insurance !== undefined) result.insurance = list(input.insurance, 1, nonEmptyText);
  if (input.hospitalLevels !== undefined) result.hospitalLevels = list(input.hospitalLevels, 1, hospitalLevel);
  if (input.depts !== undefined) result.depts = list(input.depts, 1, nonEmptyText);
  return result;
}

const effectiveKeys = new Set(['from', 'to']);
function effective(value: unknown): Fields {
  const input = strictObject(value, effectiveKeys);
  const result: Fields = {};
  if (input.from !== undefined) result.from = isoDate(input.from);
  if (input.to !== undefined) result.to = isoDate(input.to);
  if (!effectiveInOrder(result as { from?: string; to?: string })) refuse();
  return result;
}

const confirmText = (value: unknown) => trimmed(value, 1, 200);
const groupName = (value: unknown) => trimmed(value, 1, 100);

function confirm(value: unknown): string | string[] {
  return Array.isArray(value) ? list(value, 1, confirmText) : confirmText(value);
}

const labKeys = new Set(['codes', 'name', 'op', 'value', 'unit', 'withinDays']);
function lab(value: unknown): Fields {
  const input = strictObject(value, labKeys);
  const result: Fields = {
    codes: list(input.codes, 1, (code) => normalizeCode(trimmed(code, 1, 64))),
    name: groupName(input.name),
    op: labOp(input.op),
    value: finite(input.value),
  };
  if (input.unit !== undefined) result.unit = trimmed(input.unit, 0, 32);
  if (input.withinDays !== undefined) result.withinDays = integer(input.withinDays, 0, 3650);
  return result;
}

const priorDrugsKeys = new Set(['drugs', 'name', 'withinDays', 'minDays']);
function priorDrugs(value: unknown): Fields {
  const input = strictObject(value, priorDrugsKeys);
  const result: Fields = { drugs: list(input.drugs, 1, itemPrefix) };
  if (input.name !== undefined) result.name = groupName(input.name);
  if (input.withinDays !== undefined) result.withinDays = integer(input.withinDays, 1, 3650);
  if (input.minDays !== undefined) result.minDays = integer(input.minDays, 1, 3650);
  return result;
}

const proceduresKeys = new Set(['codes', 'name', 'withinDays']);
function procedures(value: unknown): Fields {
  const input = strictObject(value, proceduresKeys);
  const result: Fields = { codes: list(input.codes, 1, procedurePrefix) };
  if (input.name !== undefined) result.name = groupName(input.name);
  if (input.withinDays !== undefined) result.withinDays = integer(input.withinDays, 0, 3650);
  return result;
}

const prescriberKeys = new Set(['depts', 'deptNames', 'titleMin']);
function prescriber(value: unknown): Fields {
  const input = strictObject(value, prescriberKeys);
  const result: Fields = {};
  if (input.depts !== undefined) result.depts = list(input.depts, 1, hospCode);
  if (input.deptNames !== undefined) result.deptNames = groupName(input.deptNames);
  if (input.titleMin !== undefined) result.titleMin = doctorTitle(input.titleMin);
  if (!prescriberNamesSomething(result)) refuse();
  return result;
}

const coPrescribedKeys = new Set(['drugs', 'name']);
function coPrescribed(value: unknown): Fields {
  const input = strictObject(value, coPrescribedKeys);
  const result: Fields = { drugs: list(input.drugs, 1, itemPrefix) };
  if (input.name !== undefined) result.name = groupName(input.name);
  return result;
}

const requirementFieldKeys = [
  'diagnoses',
  'gender',
  'ageMin',
  'ageMax',
  'visitTypes',
  'insurance',
  'hospitalLevelMin',
  'confirm',
  'priorDrugs',
  'procedures',
  'labs',
  'prescriber',
  'ageDaysMin',
  'ageDaysMax',
  'pregnancy',
  'coPrescribed',
  'excludeDiagnoses',
];
const alternativeKeys = new Set(requirementFieldKeys);
const requirementKeys = new Set([...requirementFieldKeys, 'anyOf']);

function alternative(value: unknown): Fields {
  return requirement(value, false);
}

function requirement(value: unknown, withAlternatives: boolean): Fields {
  const input = strictObject(value, withAlternatives ? requirementKeys : alternativeKeys);
  const result: Fields = {};
  if (input.diagnoses !== undefined) result.diagnoses = list(input.diagnoses, 1, diagnosisPattern);
  if (input.gender !== undefined) result.gender = gender(input.gender);
  if (input.ageMin !== undefined) result.ageMin = integer(input.ageMin, 0, 150);
  if (input.ageMax !== undefined) result.ageMax = integer(input.ageMax, 0, 150);
  if (input.visitTypes !== undefined) result.visitTypes = list(input.visitTypes, 1, visitType);
  if (input.insurance !== undefined) result.insurance = list(input.insurance, 1, nonEmptyText);
  if (input.hospitalLevelMin !== undefined) result.hospitalLevelMin = hospitalLevel(input.hospitalLevelMin);
  if (input.confirm !== undefined) result.confirm = confirm(input.confirm);
  if (input.priorDrugs !== undefined) result.priorDrugs = priorDrugs(input.priorDrugs);
  if (input.procedures !== undefined) result.procedures = procedures(input.procedures);
  if (input.labs !== undefined) result.labs = list(input.labs, 1, lab);
  if (input.prescriber !== undefined) result.prescriber = prescriber(input.prescriber);
  if (input.ageDaysMin !== undefined) result.ageDaysMin = integer(input.ageDaysMin, 0, 55_000);
  if (input.ageDaysMax !== undefined) result.ageDaysMax = integer(input.ageDaysMax, 0, 55_000);
  if (input.pregnancy !== undefined) result.pregnancy = list(input.pregnancy, 1, pregnancy);
  if (input.coPrescribed !== undefined) result.coPrescribed = coPrescribed(input.coPrescribed);
  if (input.excludeDiagnoses !== undefined) result.excludeDiagnoses = list(input.excludeDiagnoses, 1, diagnosisPattern);
  if (withAlternatives && input.anyOf !== undefined) result.anyOf = list(input.anyOf, 1, alternative);
  if (
    !requirementYearsInOrder(result as { ageMin?: number; ageMax?: number }) ||
    !requirementDaysInOrder(result as { ageDaysMin?: number; ageDaysMax?: number }) ||
    !requirementRestrictsSomething(result)
  ) {
    refuse();
  }
  return result;
}

const commonKeys = ['id', 'level', 'title', 'message', 'basis', 'scope', 'selfPay', 'effective', 'enabled', 'kind'];
const keysOf = (...more: string[]) => new Set([...commonKeys, ...more]);
const indicationKeys = keysOf('drugs', 'hospCodes', 'codes', 'require');
const chronicKeys = keysOf('disease', 'allow', 'allowHospCodes', 'caps');
const repeatKeys = keysOf('match', 'toleranceDays', 'lookbackDays', 'drugs', 'codes', 'exclude', 'sameOrder');
const daysKeys = keysOf('maxDays', 'drugs', 'codes', 'cumulative', 'lookbackDays', 'window', 'gapDays');
const herbalKeys = keysOf('maxItems', 'except', 'notAlone', 'countGranules');
const limitKeys = keysOf('drugs', 'codes', 'hospCodes', 'maxQty', 'maxCount', 'per', 'lookbackDays');

/** The fields every kind has, in the schema's order, up to and including `kind`. */
function common(input: Fields, kind: string): Fields {
  const id = trimmed(input.id, 1, 64);
  if (!RULE_ID_PATTERN.test(id)) refuse();
  const result: Fields = { id, level: level(input.level), title: trimmed(input.title, 1, 200) };
  if (input.message !== undefined) result.message = text(input.message, 0, 1000);
  result.basis = input.basis === undefined ? '' : text(input.basis, 0, 2000);
  if (input.scope !== undefined) result.scope = scope(input.scope);
  result.selfPay = input.selfPay === undefined ? true : boolean(input.selfPay);
  if (input.effective !== undefined) result.effective = effective(input.effective);
  result.enabled = input.enabled === undefined ? true : boolean(input.enabled);
  result.kind = kind;
  return result;
}

const drugPrefixes = (value: unknown) => list(value, 0, drugPrefix);
const itemPrefixes = (value: unknown) => list(value, 0, itemPrefix);
const hospCodes = (value: unknown) => list(value, 0, hospCode);

function indication(input: Fields): Fields {
  const result = common(input, 'indication');
  result.drugs = input.drugs === undefined ? [] : drugPrefixes(input.drugs);
  result.hospCodes = input.hospCodes === undefined ? [] : hospCodes(input.hospCodes);
  if (input.codes !== undefined) result.codes = itemPrefixes(input.codes);
  result.require = requirement(input.require, true);
  if (!indicationNamesItems(result as { drugs: unknown[]; hospCodes: unknown[]; codes?: unknown[] })) refuse();
  return result;
}

const diseaseKeys = new Set(['code', 'name', 'diagnoses']);
const capsKeys = new Set(['yearAmount', 'yearQuantity', 'warnRatio']);

function chronic(input: Fields): Fields {
  const result = common(input, 'chronic');
  const disease = strictObject(input.disease, diseaseKeys);
  result.disease = {
    code: trimmed(disease.code, 1, 32),
    name: trimmed(disease.name, 1, 100),
    diagnoses: disease.diagnoses === undefined ? [] : list(disease.diagnoses, 0, diagnosisPattern),
  };
  result.allow = input.allow === undefined ? [] : drugPrefixes(input.allow);
  result.allowHospCodes = input.allowHospCodes === undefined ? [] : hospCodes(input.allowHospCodes);
  if (input.caps !== undefined) {
    const caps = strictObject(input.caps, capsKeys);
    const checked: Fields = {};
    if (caps.yearAmount !== undefined) checked.yearAmount = positive(caps.yearAmount, 0, Infinity);
    if (caps.yearQuantity !== undefined) checked.yearQuantity = positive(caps.yearQuantity, 0, Infinity);
    checked.warnRatio = caps.warnRatio === undefined ? 0.8 : positive(caps.warnRatio, 0, 1);
    result.caps = checked;
  }
  return result;
}

function repeat(input: Fields): Fields {
  const result = common(input, 'repeat');
  result.match = input.match === undefined ? 'generic' : repeatMatch(input.match);
  result.toleranceDays = input.toleranceDays === undefined ? 0 : integer(input.toleranceDays, 0, 365);
  result.lookbackDays = input.lookbackDays === undefined ? 90 : integer(input.lookbackDays, 1, 3650);
  if (input.drugs !== undefined) result.drugs = drugPrefixes(input.drugs);
  if (input.codes !== undefined) result.codes = itemPrefixes(input.codes);
  if (input.exclude !== undefined) result.exclude = drugPrefixes(input.exclude);
  result.sameOrder = input.sameOrder === undefined ? true : boolean(input.sameOrder);
  return result;
}

function days(input: Fields): Fields {
  const result = common(input, 'days');
  result.maxDays = integer(input.maxDays, 1, 3650);
  if (input.drugs !== undefined) result.drugs = drugPrefixes(input.drugs);
  if (input.codes !== undefined) result.codes = itemPrefixes(input.codes);
  result.cumulative = input.cumulative === undefined ? false : boolean(input.cumulative);
  result.lookbackDays = input.lookbackDays === undefined ? 90 : integer(input.lookbackDays, 1, 3650);
  if (input.window !== undefined) result.window = daysWindow(input.window);
  if (input.gapDays !== undefined) result.gapDays = integer(input.gapDays, 0, 3650);
  const shaped = result as { window?: string; drugs?: unknown; codes?: unknown; gapDays?: unknown };
  if (!daysWindowHasDrugs(shaped) || !daysGapFitsWindow(shaped)) refuse();
  return result;
}

const exceptKeys = new Set(['diagnoses', 'maxItems']);

function herbal(input: Fields): Fields {
  const result = common(input, 'herbal');
  if (input.maxItems !== undefined) result.maxItems = integer(input.maxItems, 1, 200);
  if (input.except !== undefined) {
    const except = strictObject(input.except, exceptKeys);
    result.except = { diagnoses: list(except.diagnoses, 1, diagnosisPattern), maxItems: integer(except.maxItems, 1, 200) };
  }
  if (input.notAlone !== undefined) result.notAlone = list(input.notAlone, 1, itemPrefix);
  if (input.countGranules !== undefined) result.countGranules = boolean(input.countGranules);
  if (!herbalLimitsSomething(result) || !herbalExceptHasMax(result)) refuse();
  return result;
}

function limit(input: Fields): Fields {
  const result = common(input, 'limit');
  if (input.drugs !== undefined) result.drugs = drugPrefixes(input.drugs);
  if (input.codes !== undefined) result.codes = itemPrefixes(input.codes);
  if (input.hospCodes !== undefined) result.hospCodes = hospCodes(input.hospCodes);
  if (input.maxQty !== undefined) result.maxQty = positive(input.maxQty, 0, 1e6);
  if (input.maxCount !== undefined) result.maxCount = integer(input.maxCount, 1, 100_000);
  result.per = limitPeriod(input.per);
  result.lookbackDays = input.lookbackDays === undefined ? 3650 : integer(input.lookbackDays, 1, 36_500);
  if (!limitNamesItems(result as { drugs?: unknown[]; codes?: unknown[]; hospCodes?: unknown[] }) || !limitCapsOne(result)) refuse();
  return result;
}

const kinds: Readonly<Record<string, { keys: ReadonlySet<string>; check: (input: Fields) => Fields }>> = {
  indication: { keys: indicationKeys, check: indication },
  chronic: { keys: chronicKeys, check: chronic },
  repeat: { keys: repeatKeys, check: repeat },
  days: { keys: daysKeys, check: days },
  herbal: { keys: herbalKeys, check: herbal },
  limit: { keys: limitKeys, check: limit },
};

/**
 * The output `Rule.safeParse(candidate)` would give, when the candidate is a rule this path is
 * certain zod accepts; `undefined` otherwise (zod then decides, and words the errors).
 */
export function acceptRule(candidate: unknown): Fields | undefined {
  try {
    const input = plainObject(candidate);
    const kind = input.kind;
    const shape = typeof kind === 'string' && Object.hasOwn(kinds, kind) ? kinds[kind] : undefined;
    if (!shape) return undefined;
    for (const key in input) if (!shape.keys.has(key) || input[key] === undefined) return undefined;
    return shape.check(input);
  } catch (error) {
    if (error === NOT_CERTAIN) return undefined;
    throw error;
  }
}
