/**
 * Compiles a rule library into the in-memory indexes a check reads (architecture.md: "the hot
 * path reads memory, not SQLite"). A check never scans the whole library: it looks rules up
 * by the prefixes of each item's code, by hospital code, by chronic-disease code and by
 * diagnosis category; only rules that name no drug at all (general repeat, days and herbal
 * rules, a handful in any real library) are kept in plain lists.
 *
 * The result is frozen: the agent compiles a new library off to the side and swaps the whole
 * object in one assignment, so a check in flight always sees one consistent library.
 */
import {
  RULE_KINDS,
  normalizeCode,
  type ChronicRule,
  type DaysRule,
  type HerbalRule,
  type IndicationRule,
  type LimitRule,
  type RepeatRule,
  type RequirementAlternative,
  type Rule,
  type RuleKind,
  type RuleLibrary,
} from './model';
import {
  ITEM_PREFIX_LENGTH,
  categoriesInRange,
  compileDiagnosisPatterns,
  normalizeProcedureCode,
  type DiagnosisMatcher,
} from './codes';
import { SLICE_MS, TimeSlicer } from './time-slicer';

/** What every compiled rule carries: the rule as validated, and its position in the library. */
interface CompiledBase<R extends Rule> {
  /** The rule's kind again, at the top so that a union of compiled rules narrows on it. */
  readonly kind: R['kind'];
  readonly rule: R;
  /** Position in the library, so findings come out in the same order however a rule was found. */
  readonly order: number;
}

/**
 * One requirement (the fields of `require`, or one `anyOf` alternative) with its code lists
 * compiled once, so a check compares without parsing.
 */
export interface CompiledRequirement {
  /**
   * The rule's own `require` object (or alternative), not a copy: conditions read their own
   * fields by name, so the `anyOf` beside them is simply never read here.
   */
  readonly fields: RequirementAlternative;
  /** `diagnoses` compiled; undefined when the requirement does not restrict diagnoses. */
  readonly diagnoses?: DiagnosisMatcher;
  readonly excludeDiagnoses?: DiagnosisMatcher;
  /** `confirm` as a list, one text per condition to attest. */
  readonly confirm: readonly string[];
  /** `procedures.codes` without dots, for prefix matching. */
  readonly procedureCodes?: readonly string[];
}

export interface CompiledIndicationRule extends CompiledBase<IndicationRule> {
  /** The fields of `require` outside `anyOf`: they apply to every alternative. */
  readonly requirement: CompiledRequirement;
  /** `require.anyOf`, compiled; empty when the rule has a single alternative. */
  readonly alternatives: readonly CompiledRequirement[];
}

export interface CompiledChronicRule extends CompiledBase<ChronicRule> {
  /** The registration code as the check sends it, normalised. */
  readonly diseaseCode: string;
  readonly diagnoses: DiagnosisMatcher;
  /** `scope.medTypes`, defaulting to 门诊慢特病 (`14`) as rules.md says. */
  readonly medTypes: readonly string[];
  /**
   * `allow`, de-duplicated. Chronic rules are not indexed by drug prefix: a check asks "is
   * this drug in the scope of *this patient's* diseases", so it indexes only those rules' scopes,
   * and a broad prefix (`XC08`) that hundreds of diseases allow costs nothing elsewhere. A
   * list, not a set: a check only walks it, and a set per disease cost 10 MB at 15,000 diseases.
   */
  readonly allowPrefixes: readonly string[];
  /** `allowHospCodes`, normalised and de-duplicated. */
  readonly allowHospCodes: readonly string[];
}

export interface CompiledRepeatRule extends CompiledBase<RepeatRule> {
  readonly drugs?: readonly string[];
  readonly exclude: readonly string[];
}

export type CompiledDaysRule = CompiledBase<DaysRule>;

export interface CompiledHerbalRule extends CompiledBase<HerbalRule> {
  readonly except?: DiagnosisMatcher;
  /** `notAlone` prefixes; empty when the rule only limits the number of pieces. */
  readonly notAlone: readonly string[];
}

export interface CompiledLimitRule extends CompiledBase<LimitRule> {
  /** The group's code prefixes (`drugs` and `codes`) and hospital codes, normalised. */
  readonly prefixes: readonly string[];
  readonly hospCodes: readonly string[];
}

/** Any compiled rule a drug-code prefix or hospital code can lead to. */
export type CompiledDrugRule = CompiledIndicationRule | CompiledRepeatRule | CompiledDaysRule | CompiledLimitRule;

/** The compiled, immutable form of a {@link RuleLibrary}. */
export interface CompiledRules {
  readonly version: number;
  /** Where the library came from (`demo`, `import`, `pack`). */
  readonly source: string;
  readonly publishedAt?: string;
  readonly expiresAt?: string;
  /** Every rule of the library, enabled or not. */
  readonly ruleCount: number;
  /** Rules that can fire at all; a library with none cannot check anything. */
  readonly enabledCount: number;
  /** Rules of the library by kind, enabled or not. */
  readonly counts: Readonly<Record<RuleKind, number>>;
  /** Every rule by id, enabled or not (built on first use). */
  readonly byId: ReadonlyMap<string, Rule>;
  /**
   * Item-code prefix (normalised, 1–30 characters) → rules naming it (indication, repeat,
   * days and limit `drugs` and `codes`), in library order. One mixed list per key keeps a 100,000-rule
   * library to one small array per prefix. Chronic rules are reached by disease instead.
   */
  readonly byDrugPrefix: ReadonlyMap<string, readonly CompiledDrugRule[]>;
  /**
   * The lengths of the prefixes in `byDrugPrefix`, ascending: an item's code is looked up at
   * these lengths only (a library names a handful of lengths, not thirty).
   */
  readonly prefixLengths: readonly number[];
  /** Hospital code (normalised) → indication and limit rules naming it in `hospCodes`. */
  readonly byHospCode: ReadonlyMap<string, readonly CompiledDrugRule[]>;
  /** Chronic-disease registration code (normalised) → its chronic rules. */
  readonly chronicByDisease: ReadonlyMap<string, readonly CompiledChronicRule[]>;
  /**
   * Diagnosis key → chronic rules whose `disease.diagnoses` match it. Keys are normalised
   * prefixes (`I10`, `E119`) and, for ranges, every three-character category in the range.
   */
  readonly chronicByDiagnosis: ReadonlyMap<string, readonly CompiledChronicRule[]>;
  /** Every medical type some chronic rule applies at: a visit of another type is no chronic visit. */
  readonly chronicMedTypes: ReadonlySet<string>;
  /** Repeat rules without a `drugs` filter: they apply to every drug. */
  readonly repeatGeneral: readonly CompiledRepeatRule[];
  /** Days rules without `drugs`: the general limits (outpatient 7, emergency 3, …). */
  readonly daysGeneral: readonly CompiledDaysRule[];
  readonly herbal: readonly CompiledHerbalRule[];
}

/**
 * Appends to a keyed list. The same rule reaches one key twice only through consecutive
 * pushes (two patterns of one rule), so comparing with the last element de-duplicates without
 * making a popular key quadratic.
 */
function pushToList<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (!list) map.set(key, [value]);
  else if (list[list.length - 1] !== value) list.push(value);
}

/**
 * Drug prefixes arrive normalised (the `DrugPrefix` schema does it); hospital codes are only
 * trimmed there, so they are normalised here. Lists are short, and most have one entry.
 */
function unique(codes: readonly string[]): readonly string[] {
  if (codes.length < 2) return codes;
  const distinct = [...new Set(codes)];
  return distinct.length === codes.length ? codes : distinct;
}

function uniqueNormalized(codes: readonly string[]): readonly string[] {
  return codes.length === 0 ? NONE : unique(codes.map(normalizeCode));
}

/**
 * One empty list for every rule that has nothing to put in one (most rules have no `anyOf`,
 * nothing to confirm, no exclusions): 100,000 rules need not own 100,000 empty arrays.
 */
const NONE: readonly never[] = Object.freeze([]);

/** `scope.medTypes` of a chronic rule that names none: 门诊慢特病. */
const CHRONIC_MED_TYPES: readonly string[] = Object.freeze(['14']);

/**
 * Compiles a validated library. Disabled rules are counted but not indexed: they can never
 * fire. Effective dates and scope stay on the rules because they depend on the visit.
 */
export function compileRules(library: RuleLibrary): CompiledRules {
  const steps = compileSteps(library);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The same compile in slices of a few milliseconds, yielding to the event loop between them,
 * so an agent applying a new 100,000-rule library keeps answering checks meanwhile.
 */
export async function compileRulesSliced(library: RuleLibrary, sliceMs = SLICE_MS): Promise<CompiledRules> {
  const steps = compileSteps(library);
  const slicer = new TimeSlicer(sliceMs);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await slicer.pause();
  }
}

/** How many rules are indexed between two chances to pause. */
const RULES_PER_STEP = 256;

function* compileSteps(library: RuleLibrary): Generator<undefined, CompiledRules, undefined> {
  const counts = Object.fromEntries(RULE_KINDS.map((kind) => [kind, 0])) as Record<RuleKind, number>;
  const byDrugPrefix = new Map<string, CompiledDrugRule[]>();
  const byHospCode = new Map<string, CompiledDrugRule[]>();
  const chronicByDisease = new Map<string, CompiledChronicRule[]>();
  const chronicByDiagnosis = new Map<string, CompiledChronicRule[]>();
  const chronicMedTypes = new Set<string>();
  const repeatGeneral: CompiledRepeatRule[] = [];
  const daysGeneral: CompiledDaysRule[] = [];
  const herbal: CompiledHerbalRule[] = [];
  const prefixLengths = new Set<number>();
  let enabledCount = 0;
  // Real libraries repeat the same diagnosis lists (every 限肺癌 drug says `C34`), so each
  // distinct list is compiled, and each range expanded, once.
  const matchers = new Map<string, DiagnosisMatcher>();
  const matcherFor = (patterns: readonly string[]): DiagnosisMatcher => {
    const key = patterns.join('|');
    let matcher = matchers.get(key);
    if (!matcher) matchers.set(key, (matcher = compileDiagnosisPatterns(patterns)));
    return matcher;
  };
  const ranges = new Map<string, readonly string[]>();
  const categoriesOf = (from: string, to: string): readonly string[] => {
    const key = `${from}-${to}`;
    let categories = ranges.get(key);
    if (!categories) ranges.set(key, (categories = categoriesInRange(from, to)));
    return categories;
  };

  const indexPrefixes = (prefixes: readonly string[], compiled: CompiledDrugRule) => {
    for (const prefix of prefixes) {
      prefixLengths.add(Math.min(prefix.length, ITEM_PREFIX_LENGTH));
      pushToList(byDrugPrefix, prefix, compiled);
    }
  };
  const indexHospCodes = (codes: readonly string[], compiled: CompiledDrugRule) => {
    for (const code of codes) pushToList(byHospCode, code, compiled);
  };

  for (let order = 0; order < library.rules.length; order += 1) {
    if (order > 0 && order % RULES_PER_STEP === 0) yield;
    const rule = library.rules[order]!;
    counts[rule.kind] += 1;
    if (!rule.enabled) continue;
    enabledCount += 1;
    switch (rule.kind) {
      case 'indication': {
        const anyOf = rule.require.anyOf;
        const compiled: CompiledIndicationRule = Object.freeze({
          kind: rule.kind,
          rule,
          order,
          requirement: compileRequirement(rule.require, matcherFor),
          alternatives: anyOf ? Object.freeze(anyOf.map((alternative) => compileRequirement(alternative, matcherFor))) : NONE,
        });
        indexPrefixes(namedPrefixes(rule.drugs, rule.codes), compiled);
        indexHospCodes(uniqueNormalized(rule.hospCodes), compiled);
        break;
      }
      case 'chronic': {
        const compiled: CompiledChronicRule = Object.freeze({
          kind: rule.kind,
          rule,
          order,
          diseaseCode: normalizeCode(rule.disease.code),
          diagnoses: matcherFor(rule.disease.diagnoses),
          medTypes: rule.scope?.medTypes ?? CHRONIC_MED_TYPES,
          allowPrefixes: unique(rule.allow),
          allowHospCodes: uniqueNormalized(rule.allowHospCodes),
        });
        pushToList(chronicByDisease, compiled.diseaseCode, compiled);
        for (const pattern of compiled.diagnoses.patterns) {
          if (pattern.kind === 'prefix') pushToList(chronicByDiagnosis, pattern.prefix, compiled);
          else for (const category of categoriesOf(pattern.from, pattern.to)) pushToList(chronicByDiagnosis, category, compiled);
        }
        for (const medType of compiled.medTypes) chronicMedTypes.add(medType);
        break;
      }
      case 'repeat': {
        const drugs = rule.drugs || rule.codes ? namedPrefixes(rule.drugs ?? NONE, rule.codes) : undefined;
        const compiled: CompiledRepeatRule = Object.freeze({
          kind: rule.kind,
          rule,
          order,
          drugs,
          exclude: rule.exclude ?? NONE,
        });
        // An empty `drugs` list names no drug, so the rule can never fire; it is not general.
        if (drugs) indexPrefixes(drugs, compiled);
        else repeatGeneral.push(compiled);
        break;
      }
      case 'days': {
        const compiled: CompiledDaysRule = Object.freeze({ kind: rule.kind, rule, order });
        if (rule.drugs || rule.codes) indexPrefixes(namedPrefixes(rule.drugs ?? NONE, rule.codes), compiled);
        else daysGeneral.push(compiled);
        break;
      }
      case 'herbal': {
        herbal.push(
          Object.freeze({
            kind: rule.kind,
            rule,
            order,
            except: rule.except ? matcherFor(rule.except.diagnoses) : undefined,
            notAlone: rule.notAlone ?? NONE,
          }),
        );
        break;
      }
      case 'limit': {
        const compiled: CompiledLimitRule = Object.freeze({
          kind: rule.kind,
          rule,
          order,
          prefixes: namedPrefixes(rule.drugs ?? NONE, rule.codes),
          hospCodes: uniqueNormalized(rule.hospCodes ?? NONE),
        });
        indexPrefixes(compiled.prefixes, compiled);
        indexHospCodes(compiled.hospCodes, compiled);
        break;
      }
    }
  }

  // No check looks a rule up by id, so the map is built on first use instead of costing every
  // load 100,000 insertions and a 4 MB table; the library's own list (no copy) is all it needs.
  const rules = library.rules;
  let byId: Map<string, Rule> | undefined;
  return Object.freeze({
    version: library.version,
    source: library.source,
    publishedAt: library.publishedAt,
    expiresAt: library.expiresAt,
    ruleCount: library.rules.length,
    enabledCount,
    counts: Object.freeze(counts),
    get byId(): ReadonlyMap<string, Rule> {
      byId ??= new Map(rules.map((rule) => [rule.id, rule]));
      return byId;
    },
    byDrugPrefix: freezeLists(byDrugPrefix),
    prefixLengths: Object.freeze([...prefixLengths].sort((a, b) => a - b)),
    byHospCode: freezeLists(byHospCode),
    chronicByDisease: freezeLists(chronicByDisease),
    chronicByDiagnosis: freezeLists(chronicByDiagnosis),
    chronicMedTypes,
    repeatGeneral: Object.freeze(repeatGeneral),
    daysGeneral: Object.freeze(daysGeneral),
    herbal: Object.freeze(herbal),
  });
}

/** `drugs` and v2 `codes` name items the same way: one list of prefixes. */
function namedPrefixes(drugs: readonly string[], codes: readonly string[] | undefined): readonly string[] {
  return codes === undefined || codes.length === 0 ? unique(drugs) : unique([...drugs, ...codes]);
}

function compileRequirement(
  fields: RequirementAlternative,
  matcherFor: (patterns: readonly string[]) => DiagnosisMatcher,
): CompiledRequirement {
  const confirm = fields.confirm === undefined ? NONE : typeof fields.confirm === 'string' ? [fields.confirm] : fields.confirm;
  return Object.freeze({
    fields,
    diagnoses: fields.diagnoses ? matcherFor(fields.diagnoses) : undefined,
    excludeDiagnoses: fields.excludeDiagnoses ? matcherFor(fields.excludeDiagnoses) : undefined,
    confirm,
    procedureCodes: fields.procedures ? Object.freeze(fields.procedures.codes.map(normalizeProcedureCode)) : undefined,
  });
}

function freezeLists<T>(map: Map<string, T[]>): ReadonlyMap<string, readonly T[]> {
  for (const list of map.values()) Object.freeze(list);
  return map;
}
