import assert from 'node:assert/strict';
import { test } from 'node:test';

import { auditHash, auditHashOfText, canonicalJson, GENESIS_HASH, storedCanonicalJson } from './audit-hash';

const REDACTED = '[removed]';

/** What the store did before the one-pass writer: a JSON round trip, then the scrub, then canonical text. */
function reference(value: unknown, patientId: string | undefined): string | undefined {
  const text = JSON.stringify(value);
  if (text === undefined) return undefined;
  const scrub = (member: unknown): unknown => {
    if (Array.isArray(member)) return member.map(scrub);
    if (member !== null && typeof member === 'object') {
      const clean: Record<string, unknown> = {};
      // Defined, not assigned: an own "__proto__" member (JSON.parse makes one) stays a member.
      for (const [key, inner] of Object.entries(member)) {
        if (key !== 'patientId') Object.defineProperty(clean, key, { value: scrub(inner), enumerable: true, configurable: true, writable: true });
      }
      return clean;
    }
    return patientId !== undefined && member === patientId ? REDACTED : member;
  };
  return canonicalJson(scrub(JSON.parse(text)));
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ['patientId', 'a', 'b', 'Z', '10', '2', '__proto__', 'é', '𝒳', 'toJSON_', ''];
const STRINGS = ['P1', 'p1', '', 'x"y\\z', '\ud800', 'a\u0000b', '换行\n', '🙂', 'P1 '];

function randomValue(random: () => number, depth: number): unknown {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const roll = random();
  if (depth > 3 || roll < 0.35) {
    return pick<unknown>([
      pick(STRINGS),
      Math.floor(random() * 1000) - 500,
      random() * 1e6,
      -0,
      0.1 + 0.2,
      1e21,
      5e-324,
      NaN,
      Infinity,
      -Infinity,
      true,
      false,
      null,
      undefined,
      () => 1,
      Symbol('s'),
      new Date(Date.UTC(2026, 10, Math.floor(random() * 28) + 1)),
      new Date(NaN),
      new String('boxed'),
      new Number(7),
      new Boolean(false),
    ]);
  }
  if (roll < 0.6) {
    const array: unknown[] = [];
    const length = Math.floor(random() * 5);
    for (let index = 0; index < length; index += 1) array.push(randomValue(random, depth + 1));
    if (random() < 0.1) array.length += 2; // holes
    return array;
  }
  if (roll < 0.65) {
    const inner = randomValue(random, depth + 1);
    return { toJSON: (key: string) => ({ key, inner }) };
  }
  if (roll < 0.68) return new Map([['a', 1]]);
  const record: Record<string, unknown> = {};
  const count = Math.floor(random() * 6);
  for (let index = 0; index < count; index += 1) {
    Object.defineProperty(record, pick(KEYS), { value: randomValue(random, depth + 1), enumerable: true, configurable: true, writable: true });
  }
  if (random() < 0.1) Object.defineProperty(record, 'hidden', { value: 'not enumerable', enumerable: false });
  return record;
}

test('storedCanonicalJson writes what a JSON round trip, the patient-id scrub and canonicalJson wrote', () => {
  const random = seededRandom(42);
  let objects = 0;
  for (let round = 0; round < 20_000; round += 1) {
    const value = randomValue(random, 0);
    const patientId = random() < 0.8 ? 'P1' : undefined;
    assert.equal(storedCanonicalJson(value, patientId, REDACTED), reference(value, patientId), `round ${round}`);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) objects += 1;
  }
  assert.ok(objects > 1000, 'the generator reaches objects');
});

test('storedCanonicalJson refuses what JSON.stringify refuses, and drops or redacts the patient id at any depth', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = { back: cyclic };
  assert.throws(() => storedCanonicalJson(cyclic, undefined, REDACTED), /circular/);
  assert.throws(() => storedCanonicalJson({ big: 1n }, undefined, REDACTED), /BigInt/);
  // A shared (not cyclic) object is written twice, as JSON.stringify writes it.
  const shared = { x: 1 };
  assert.equal(storedCanonicalJson({ b: shared, a: shared }, undefined, REDACTED), '{"a":{"x":1},"b":{"x":1}}');
  assert.equal(
    storedCanonicalJson({ patientId: 'P9', patient: { id: 'P9', patientId: 'P9', names: ['P9', 'P90'] } }, 'P9', REDACTED),
    `{"patient":{"id":"${REDACTED}","names":["${REDACTED}","P90"]}}`,
  );
  assert.equal(storedCanonicalJson(undefined, undefined, REDACTED), undefined);
});

test('canonicalJson stays strict: what JSON cannot hold is an error, not a silent change', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: undefined, c: 2 }, undefined, null] }), '{"a":[{"c":2},null,null],"b":1}');
  assert.equal(canonicalJson({ patientId: 'kept' }), '{"patientId":"kept"}');
  assert.throws(() => canonicalJson({ a: NaN }), /NaN is not a JSON number/);
  assert.throws(() => canonicalJson({ a: () => 1 }), /function is not a JSON value/);
  assert.throws(() => canonicalJson(undefined), /not a JSON value/);
  assert.throws(() => canonicalJson(1n), /bigint/);
});

test('a hash over canonical data text equals the hash over the record', () => {
  const key = Buffer.alloc(32, 3);
  const data = { result: 'warn', items: [{ line: 1, code: 'X' }], note: '\ud800' };
  const content = { seq: 7, at: '2026-11-30T00:00:00.000Z', type: 'check', checkId: 'c-"1"', patientKey: null };
  for (const keyed of [key, undefined]) {
    assert.equal(auditHashOfText(GENESIS_HASH, content, canonicalJson(data), keyed), auditHash(GENESIS_HASH, { ...content, data }, keyed));
  }
});
