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
 * `count` rules: 70% indication, 15% chronic, 10% per-drug days (限疗程), 5% per-drug repeat,
 * plus the general days/repeat/herbal rules a real library has.
 */
export function generateLibrary(count: number, seed = 42): BenchLibrary {
  const random = seededRandom(seed);
  const rules: RuleInput[] = [
    { id: 'REP-G', kind: 'repeat', level: 'warn', title: '重复开药(同通用名)', match: 'generic', toleranceDays: 3 },
    { id: 'REP-C', kind: 'repeat', level: 'warn', title: '同类药重复使用', match: 'class', toleranceDays: 3 },
    { id: 'DAY-O', kind: 'days', level: 'warn', title: '门诊处方超7日用量', maxDays: 7, scope: { medTypes: ['11'] } },
    { id: 'DAY-C', kind: 'days', level: 'warn', title: '门慢处方超30日用量', maxDays: 30, scope: { medTypes: ['14'] } },
    { id: 'HRB', kind: 'herbal', level: 'warn', title: '中药饮片超20味', maxItems: 20, except: { diagnoses: ['C00-C97'], maxItems: 25 } },
  ];
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
        require: random() < 0.1 ? { ageMax: 17 } : { diagnoses: [...new Set(diagnoses)] },
      });
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
      rules.push({ id: `DAY-${index}`, kind: 'days', level: 'warn', title: `限疗程 ${index}`, maxDays: 14, drugs: [genericCode(Math.floor(random() * generic + 1))], cumulative: true, lookbackDays: 60 });
    } else {
      rules.push({ id: `REP-${index}`, kind: 'repeat', level: 'warn', title: `重复开药 ${index}`, drugs: [genericCode(Math.floor(random() * generic + 1))], toleranceDays: 0 });
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
