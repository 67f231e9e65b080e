/**
 * The fast path must never accept what zod rejects, and must return exactly zod's output for
 * what it accepts. Fed the example orders, generated orders, and thousands of seeded mutations
 * of them: wrong types, missing and extra keys, bounds just inside and outside, impossible
 * dates, codes to normalise, surrogate pairs at length limits, `__proto__` keys, duplicate lines.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { compileFastParser } from './fast-parse';
import { EventBatch, HistoryReply } from './hub';
import { Check, Commit, DoctorChoice } from './messages';
import { generateCheck, generateLibrary, patientId, seededRandom } from '../../../scripts/bench-data';
import { Rule } from '../../../rules-cache/model';

const examples = ['check-chronic.json', 'check-indication.json', 'check-repeat.json'].map(
  (name) => (JSON.parse(readFileSync(join(__dirname, '../../../examples', name), 'utf8')) as { message: Record<string, unknown> }).message,
);

/** Values a field can be set to: each kind of thing a careless or hostile HIS sends. */
const REPLACEMENTS: Array<(random: () => number) => unknown> = [
  () => undefined,
  () => null,
  () => '',
  () => ' ',
  () => 'x'.repeat(64),
  () => 'x'.repeat(65),
  () => 'x'.repeat(129),
  () => '😀'.repeat(64), // 64 code points, 128 UTF-16 units: zod counts code points
  () => '😀'.repeat(65),
  () => '\ud800',
  () => ' c 09 aa ',
  () => 0,
  () => -1,
  () => 1.5,
  () => 3650,
  () => 3651,
  () => 1e9,
  () => 1e9 + 1,
  () => Number.NaN,
  () => Number.POSITIVE_INFINITY,
  () => 2 ** 53,
  () => true,
  () => [],
  () => ({}),
  () => '2024-02-29',
  () => '2023-02-29',
  () => '0000-01-01',
  () => '1899-12-31',
  () => '2199-12-31',
  () => '2200-01-01',
  () => '2024-13-01',
  () => 'M',
  () => 'popup',
  () => 'selfpay',
  () => 'granule',
  () => '  主任医师  ',
  (random) => Math.floor(random() * 1000),
  (random) => String(Math.floor(random() * 5)),
  () => JSON.parse('{"__proto__": {"polluted": true}, "code": "X1"}'),
];

/** Every path to a value inside `value`, objects and arrays alike. */
function paths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Array.isArray(value) ? value.map((_, index) => index) : Object.keys(value);
  return [prefix, ...children.flatMap((key) => paths((value as Record<string | number, unknown>)[key], [...prefix, key]))];
}

function mutate(original: unknown, random: () => number): unknown {
  const copy = structuredClone(original) as Record<string | number, unknown>;
  const all = paths(copy).filter((path) => path.length > 0);
  const steps = 1 + Math.floor(random() * 3);
  for (let step = 0; step < steps; step += 1) {
    const path = all[Math.floor(random() * all.length)]!;
    let parent: Record<string | number, unknown> = copy;
    for (const key of path.slice(0, -1)) {
      const next = parent[key];
      if (next === null || typeof next !== 'object') return copy;
      parent = next as Record<string | number, unknown>;
    }
    const key = path[path.length - 1]!;
    const choice = random();
    if (choice < 0.1) delete parent[key];
    else if (choice < 0.15) parent[`extra${step}`] = 'unknown key';
    else if (choice < 0.2 && Array.isArray(parent)) parent.push(structuredClone(parent[0]));
    else parent[key] = REPLACEMENTS[Math.floor(random() * REPLACEMENTS.length)]!(random);
  }
  return copy;
}

/** Asserts the fast path agrees with zod on `value`; says whether it vouched for it. */
function agrees(schema: z.ZodType, fast: (value: unknown) => unknown, value: unknown): boolean {
  const expected = schema.safeParse(value);
  const actual = fast(value);
  if (!expected.success) {
    assert.equal(actual, undefined, `accepted what zod rejects: ${JSON.stringify(value)?.slice(0, 400)}\n${expected.error.message.slice(0, 400)}`);
    return false;
  }
  if (actual === undefined) return false;
  assert.deepStrictEqual(actual, expected.data);
  return true;
}

describe('the fast parser compiled from a zod schema', { timeout: 120_000 }, () => {
  const fastCheck = compileFastParser(Check);
  const library = generateLibrary(500);
  const random = seededRandom(99);
  const generated = Array.from({ length: 20 }, (_, index) => generateCheck(library, random, `g-${index}`, patientId(index), 5, 20));
  const originals: unknown[] = [...examples, ...generated];

  test('vouches for every valid order, with exactly what zod returns', () => {
    for (const value of originals) assert.equal(agrees(Check, fastCheck, value), true, JSON.stringify(value).slice(0, 200));
  });

  test('never accepts a mutated order that zod rejects, and matches zod on those it accepts', () => {
    const mutationRandom = seededRandom(7);
    let rejected = 0;
    let vouched = 0;
    for (let round = 0; round < 6000; round += 1) {
      const value = mutate(originals[round % originals.length], mutationRandom);
      if (agrees(Check, fastCheck, value)) vouched += 1;
      else if (!Check.safeParse(value).success) rejected += 1;
    }
    // Both sides of the comparison were exercised, not just one.
    assert.ok(rejected > 1000, `only ${rejected} mutations were invalid`);
    assert.ok(vouched > 500, `only ${vouched} valid mutations went the fast way`);
  });

  test('strips unknown keys, fills defaults, normalises codes and trims titles as zod does', () => {
    const value = structuredClone(examples[0]!) as { visit: { doctor?: unknown }; items: Array<Record<string, unknown>>; extra?: string };
    value.extra = 'dropped';
    value.visit.doctor = { code: 'D1', title: '  主任医师 ' };
    value.items[0] = { line: '1', code: ' x c09 aa ', name: '药', unknown: 1 };
    const parsed = fastCheck(value)!;
    assert.deepStrictEqual(parsed, Check.parse(value));
    assert.equal(parsed.items[0]!.code, 'XC09AA');
    assert.equal(parsed.items[0]!.category, 'drug');
    assert.equal(parsed.visit.doctor!.title, '主任医师');
    assert.equal('extra' in parsed, false);
  });

  test('a `__proto__` key in a frame reaches neither the output nor its prototype', () => {
    const value = JSON.parse(
      JSON.stringify(examples[0]).replace('"patient":{', '"patient":{"__proto__":{"polluted":true},'),
    ) as unknown;
    const parsed = fastCheck(value) as Record<string, unknown> | undefined;
    assert.ok(parsed);
    assert.equal(Object.getPrototypeOf(parsed.patient), Object.prototype);
    assert.equal((parsed.patient as { polluted?: boolean }).polluted, undefined);
  });

  test('rules: strict objects, a discriminated union, refinements; shipped, generated and mutated', () => {
    const fastRule = compileFastParser(Rule);
    const shipped = (JSON.parse(readFileSync(join(__dirname, '../../../examples/rules.json'), 'utf8')) as { rules: unknown[] }).rules;
    const rules = [...shipped, ...generateLibrary(300).rules, ...generateLibrary(300, 5, true).rules];
    for (const rule of rules) assert.equal(agrees(Rule, fastRule, rule), true, JSON.stringify(rule).slice(0, 300));
    const mutationRandom = seededRandom(17);
    let rejected = 0;
    for (let round = 0; round < 4000; round += 1) {
      const value = mutate(rules[round % rules.length], mutationRandom);
      if (!agrees(Rule, fastRule, value) && !Rule.safeParse(value).success) rejected += 1;
    }
    assert.ok(rejected > 1000, `only ${rejected} mutations were invalid`);
  });

  test('other messages: commit, the doctor’s choice, a hub event batch, the hub’s history reply', () => {
    const mutationRandom = seededRandom(3);
    for (const [schema, sample] of [
      [Commit, { type: 'commit', id: 'c-1', items: [{ line: '1', code: 'X1', name: '药' }] }],
      [DoctorChoice, { id: 'c-1', outcome: 'proceed', lines: [], reasons: [] }],
      [
        EventBatch,
        {
          events: [
            {
              id: 'e-1', seq: 1, at: '2026-11-30T01:00:00.000Z', type: 'order',
              order: {
                checkId: 'k-1', patientId: 'P1', visitId: 'v-1',
                items: [{ rxId: 'k-1#1', code: 'XC08CA0001', name: '苯磺酸氨氯地平片', category: 'drug', date: '2026-11-30', days: 14, qty: 2, amount: 25.6, deptCode: 'D1', deptName: '心内科', doctorCode: 'DR1', doctorName: '王医生', channel: 'insured' }],
              },
            },
            {
              id: 'e-2', seq: 2, at: '2026-11-30T01:00:01.000Z', type: 'decision',
              decision: {
                checkId: 'k-1', patientId: 'P1', outcome: 'proceed', source: 'popup', dept: { code: 'D1', name: '心内科' }, doctor: { code: 'DR1', name: '王医生' },
                findings: [{ findingId: 'f1', ruleId: 'R-1', kind: 'repeat', level: 'warn' }],
                actions: [{ findingId: 'f1', ruleId: 'R-1', level: 'warn', line: '1', itemName: '苯磺酸氨氯地平片', action: 'continue', reason: '病情需要' }],
              },
            },
            { id: 'e-3', seq: 3, at: '2026-11-30T01:00:02.000Z', type: 'status', status: { pcName: 'PC-1', agentVersion: '0.1.0', rulesVersion: 12, outboxBacklog: 0 } },
            { id: 'e-4', seq: 4, at: '2026-11-30T01:00:03.000Z', type: 'audit-head', head: { seq: 9, hash: '0'.repeat(64) } },
          ],
        },
      ],
      [
        HistoryReply,
        {
          rows: [
            { rxId: 'k-1#1', code: 'XC08CA0001', name: '苯磺酸氨氯地平片', category: 'drug', date: '2026-11-30', days: 14, qty: 2, amount: 25.6, deptCode: 'D1', deptName: '心内科', doctorCode: 'DR1', doctorName: '王医生', channel: 'insured', pcName: 'PC-1', checkId: 'k-1', recordedAt: '2026-11-30T01:00:00.000Z' },
            { rxId: 'k-2#1', hospCode: 'H-9', category: 'herbal', date: '2026-11-29', channel: 'selfpay', pcName: 'PC-2', checkId: 'k-2', recordedAt: '2026-11-29T08:00:00.000Z' },
          ],
        },
      ],
    ] as Array<[z.ZodType, unknown]>) {
      const fast = compileFastParser(schema);
      assert.equal(agrees(schema, fast, sample), true);
      for (let round = 0; round < 500; round += 1) agrees(schema, fast, mutate(sample, mutationRandom));
    }
  });
});
