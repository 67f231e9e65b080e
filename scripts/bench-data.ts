/**
 * Well-shaped synthetic data for the benchmark: a rule library of any size with every kind,
 * orders that hit it, and ledger rows. Seeded, so two runs measure the same work.
 */
import type { CheckInput } from '../app/core/protocol/messages';
import type { RuleInput } from '../rules-cache/model';
import type { LedgerOrder } from '../rules-cache/store-contract';

/** mulberry32: small, fast, and good enough to spread synthetic codes. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const classLetters = 'ABCDGHJLMNPRSV';
/** Generics in the synthetic catalogue that orders and history draw from. */
const CATALOGUE = 400_000;
const upper = 'ABCDEFGHJKLMNPQRSTUVWXYZ';

/** The `index`-th ATC-level-4-like class, e.g. `C09AA`. */
function therapeuticClass(index: number): string {
  const letter = classLetters[index % classLetters.length]!;
  const group = String(Math.floor(index / classLetters.length) % 100).padStart(2, '0');
  const sub = upper[Math.floor(index / 1400) % upper.length]! + upper[Math.floor(index / 7) % upper.length]!;
  return `${letter}${group}${sub}`;
}

/** The `index`-th generic: a 10-character prefix `X` + class + `W` + 3 digits. */
export function genericCode(index: number): string {
  return `X${therapeuticClass(Math.floor(index / 40))}W${String(index % 1000).padStart(3, '0')}`;
}

/** A full 23-character national code of that generic. */
export function productCode(index: number, maker = 1): string {
  return `${genericCode(index)}A001010${String(maker).padStart(6, '0')}`;
}

const diagnosisPool = ['C34', 'C15-C26', 'J44', 'J45', 'N18', 'I50', 'E11', 'I10-I15', 'M05', 'K74', 'D61', 'G20', 'F20', 'B18.1', 'Z94'];
const visitDiagnoses = ['J18.900', 'I10.x00', 'E11.900', 'C34.900', 'J44.900', 'N18.500', 'K29.700', 'M54.500', 'C16.900', 'J45.900', 'I50.900', 'M05.900'];

export interface BenchLibrary {
  version: number;
  rules: RuleInput[];
  /** Generic indexes that carry an indication rule, so orders can be made to hit them. */
  indicationGenerics: number[];
  diseaseCodes: string[];
  /** For each disease, the therapeutic-class indexes its scope allows. */
  diseaseClasses: number[][];
}

/**
 * Rules v2 conditions in the proportions measured on 535 real restriction rows (issue 9):
 * a clinical condition to confirm in 31 %, prior drugs 20 %, labs 18 %, a procedure 4.5 %,
 * OR between condition types 4.3 %, prescriber 2.6 %; the rest of a rule's share stays v1.
 */
function withV2Conditions(require: Record<string, unknown>, random: () => number): Record<string, unknown> {
  const result: Record<string, unknown> = { ...require };
  if (random() < 0.31) result.confirm = '重度';
  if (random() < 0.2) result.priorDrugs = { drugs: [`X${therapeuticClass(Math.floor(random() * 3000))}`], name: '一线用药', withinDays: 365 };
  if (random() < 0.18) result.labs = [{ codes: ['ALB'], name: '白蛋白', op: '<', value: 30, unit: 'g/L' }];
  if (random() < 0.045) result.procedures = { codes: ['81.5'], name: '关节置换术' };
  if (random() < 0.026) result.prescriber = { titleMin: 'attending' };
  if (random() < 0.043) return { anyOf: [result, { diagnoses: ['C00-C97'], confirm: '晚期' }] };
  return result;
}

/**
 * `count` rules: 70% indication, 15% chronic, 10% per-drug days (限疗程), 5% per-drug repeat,
 * plus the general days/repeat/herbal rules a real library has. With `v2`, indication rules
 * carry rules v2 conditions (see {@link withV2Conditions}), a third of the course limits count
 * from the first use or per admission, one in five per-drug repeat rules is a `limit` instead,
 * and a herbal `notAlone` rule joins the general ones; same seed, same drugs.
 */
export function generateLibrary(count: number, seed = 42, v2 = false): BenchLibrary {
  const random = seededRandom(seed);
  const rules: RuleInput[] = [
    { id: 'REP-G', kind: 'repeat', level: 'warn', title: '重复开药(同通用名)', match: 'generic', toleranceDays: 3 },
    { id: 'REP-C', kind: 'repeat', level: 'warn', title: '同类药重复使用', match: 'class', toleranceDays: 3 },
    { id: 'DAY-O', kind: 'days', level: 'warn', title: '门诊处方超7日用量', maxDays: 7, scope: { medTypes: ['11'] } },
    { id: 'DAY-C', kind: 'days', level: 'warn', title: '门慢处方超30日用量', maxDays: 30, scope: { medTypes: ['14'] } },
    { id: 'HRB', kind: 'herbal', level: 'warn', title: '中药饮片超20味', maxItems: 20, except: { diagnoses: ['C00-C97'], maxItems: 25 } },
  ];
  if (v2) rules.push({ id: 'HRB-NA', kind: 'herbal', level: 'block', title: '单味不予支付', notAlone: ['T0001'] });
  // A second stream for the v2 choices, so the v1 draws (and so the drugs) stay the same.
  const v2Random = seededRandom(seed + 1000);
  const indicationGenerics: number[] = [];
  const diseaseCodes: string[] = [];
  const diseaseClasses: number[][] = [];
  let generic = 0;
  const remaining = count - rules.length;
  for (let index = 0; rules.length < count; index += 1) {
    const share = index / remaining;
    if (share < 0.7) {
      indicationGenerics.push(generic);
      const diagnoses = [diagnosisPool[Math.floor(random() * diagnosisPool.length)]!, diagnosisPool[Math.floor(random() * diagnosisPool.length)]!];
      rules.push({
        id: `IND-${index}`,
        kind: 'indication',
        level: random() < 0.5 ? 'block' : 'warn',
        title: `限定支付范围 ${index}`,
        basis: '医保药品目录 限定支付范围',
        drugs: [genericCode(generic)],
        require: ((require) => (v2 ? withV2Conditions(require, v2Random) : require))(
          random() < 0.1 ? { ageMax: 17 } : { diagnoses: [...new Set(diagnoses)] },
        ),
      } as RuleInput);
      generic += 1;
    } else if (share < 0.85) {
      const code = `M${String(index).padStart(5, '0')}`;
      diseaseCodes.push(code);
      const classes = Array.from({ length: 20 }, () => Math.floor(random() * 3000));
      diseaseClasses.push(classes);
      const allow = classes.map((index) => `X${therapeuticClass(index)}`);
      rules.push({
        id: `CHR-${index}`,
        kind: 'chronic',
        level: 'block',
        title: `慢特病用药范围 ${code}`,
        disease: { code, name: `慢特病${index}`, diagnoses: [diagnosisPool[index % diagnosisPool.length]!] },
        allow: [...new Set(allow)],
        caps: { yearAmount: 5000, warnRatio: 0.8 },
      });
    } else if (share < 0.95) {
      const drugs = [genericCode(Math.floor(random() * generic + 1))];
      const window = v2 ? (['rolling', 'rolling', 'fromFirstUse', 'admission'] as const)[Math.floor(v2Random() * 4)]! : undefined;
      rules.push(
        window === 'fromFirstUse' || window === 'admission'
          ? { id: `DAY-${index}`, kind: 'days', level: 'warn', title: `限疗程 ${index}`, maxDays: 14, drugs, window }
          : { id: `DAY-${index}`, kind: 'days', level: 'warn', title: `限疗程 ${index}`, maxDays: 14, drugs, cumulative: true, lookbackDays: 60 },
      );
    } else {
      const drugs = [genericCode(Math.floor(random() * generic + 1))];
      rules.push(
        v2 && v2Random() < 0.2
          ? { id: `LIM-${index}`, kind: 'limit', level: 'warn', title: `限数量 ${index}`, drugs, maxQty: 10, per: 'year' }
          : { id: `REP-${index}`, kind: 'repeat', level: 'warn', title: `重复开药 ${index}`, drugs, toleranceDays: 0 },
      );
    }
  }
  return { version: 2, rules, indicationGenerics, diseaseCodes, diseaseClasses };
}

function isoDate(base: string, daysBack: number): string {
  return new Date(Date.parse(`${base}T00:00:00Z`) - daysBack * 86_400_000).toISOString().slice(0, 10);
}

export const VISIT_DATE = '2026-11-24';

/** Patient ids the ledger holds rows for. */
export function patientId(index: number): string {
  return `P${String(index).padStart(7, '0')}`;
}

/** A 20-item order with 200 history items for `patient`, about half of it hitting rules. */
export function generateCheck(library: BenchLibrary, random: () => number, id: string, patient: string, items = 20, historyItems = 200): CheckInput {
  const chronic = random() < 0.5;
  const disease = Math.floor(random() * library.diseaseCodes.length);
  const pick = () => library.indicationGenerics[Math.floor(random() * library.indicationGenerics.length)]!;
  // At a chronic-disease visit most drugs are within the disease's scope, as they are in practice.
  const inScope = () => {
    const classes = library.diseaseClasses[disease]!;
    return classes[Math.floor(random() * classes.length)]! * 40 + Math.floor(random() * 40);
  };
  // About one line in seven is a restricted drug; the rest come from a catalogue about six
  // times the size of the restricted list, as in the national list.
  const generics = Array.from({ length: items }, (_, index) =>
    chronic && random() < 0.9 ? inScope() : index % 7 === 0 ? pick() : Math.floor(random() * CATALOGUE),
  );
  const lines = generics.map((generic, index) => {
    return {
      line: String(index + 1),
      code: productCode(generic, 1 + (index % 3)),
      name: `药品${generic}`,
      category: 'drug' as const,
      qty: 1 + Math.floor(random() * 3),
      price: Math.round(random() * 20000) / 100,
      // Mostly within the outpatient 7-day limit, as real orders are; some longer ones.
      days: random() < 0.85 ? 3 + Math.floor(random() * 5) : 14 + Math.floor(random() * 16),
      channel: 'insured' as const,
    };
  });
  const history = Array.from({ length: historyItems }, (_, index) => {
    // Every 40th history line repeats a drug of this order, so repeat rules have work to do.
    const generic = index % 40 === 0 ? generics[(index / 40) % items]! : Math.floor(random() * CATALOGUE);
    return {
      rxId: `H${id}-${index}`,
      code: productCode(generic),
      name: `药品${generic}`,
      date: isoDate(VISIT_DATE, Math.floor(random() * 120)),
      days: 7 + Math.floor(random() * 30),
      qty: 1,
      amount: Math.round(random() * 10000) / 100,
      dept: { code: '0402', name: '心内科' },
      doctor: { code: 'D019', name: '王医生' },
    };
  });
  return {
    type: 'check',
    id,
    ui: 'none',
    patient: {
      id: patient,
      name: '测试',
      gender: random() < 0.5 ? 'M' : 'F',
      birthDate: `19${50 + Math.floor(random() * 50)}-0${1 + Math.floor(random() * 9)}-15`,
      insurance: '310',
      chronicDiseases: chronic ? [{ code: library.diseaseCodes[disease]!, name: '慢特病' }] : undefined,
    },
    visit: {
      id: `V${id}`,
      type: 'outpatient',
      medType: chronic ? '14' : '11',
      date: VISIT_DATE,
      dept: { code: '0301', name: '呼吸内科' },
      doctor: { code: 'D007', name: '李医生' },
      hospitalLevel: 3,
    },
    // Several diagnoses, as a real visit has; most restricted drugs then find their indication.
    diagnoses: Array.from({ length: 5 }, (_, index) => ({ code: visitDiagnoses[Math.floor(random() * visitDiagnoses.length)]!, main: index === 0 })),
    items: lines,
    history,
    // Rules v2 data a HIS may send; rules v1 ignore it.
    labs: [{ code: 'ALB', name: '白蛋白', value: 28 + Math.floor(random() * 10), unit: 'g/L', date: isoDate(VISIT_DATE, Math.floor(random() * 20)) }],
  };
}

/** `perPatient` committed lines for one patient, spread over the last 300 days. */
export function generateLedgerOrder(patient: number, perPatient: number, random: () => number): LedgerOrder {
  return {
    checkId: `L${patient}`,
    patientId: patientId(patient),
    visitId: `LV${patient}`,
    items: Array.from({ length: perPatient }, (_, index) => {
      const generic = Math.floor(random() * CATALOGUE);
      return {
        rxId: `LV${patient}/L${patient}#${index}`,
        code: productCode(generic),
        name: `药品${generic}`,
        category: 'drug',
        // Within the 180-day retention: what a ledger holds in steady state.
        date: isoDate(VISIT_DATE, Math.floor(random() * 170)),
        days: 7 + Math.floor(random() * 30),
        qty: 1,
        amount: Math.round(random() * 10000) / 100,
        deptCode: '0402',
        deptName: '心内科',
        doctorCode: 'D019',
        doctorName: '王医生',
        channel: 'insured' as const,
      };
    }),
  };
}
