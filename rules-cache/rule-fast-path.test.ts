/**
 * The fast path may only ever say what zod says. Every rule the repository ships, a spread of
 * generated rules of every kind and condition, and thousands of mutations of them (each field
 * removed, set to hostile values, to values at every limit the published JSON Schema names,
 * extra and prototype-polluting keys) go through both; wherever the fast path accepts, zod must
 * accept with the identical output, key order included; and `validateRules` must report exactly
 * what a zod-only validation reports.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { generateLibrary } from '../scripts/bench-data';
import { Rule, validateRules, type RuleProblem } from './model';
import { acceptRule } from './rule-fast-path';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function rulesOf(file: string): Json[] {
  return (JSON.parse(readFileSync(join(__dirname, '..', file), 'utf8')) as { rules: Json[] }).rules;
}

/** Every path to a value inside a rule, objects and arrays alike. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const found: (string | number)[][] = [];
  if (Array.isArray(value)) {
    value.forEach((element, index) => {
      found.push([...prefix, index], ...paths(element, [...prefix, index]));
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [key, element] of Object.entries(value)) found.push([...prefix, key], ...paths(element, [...prefix, key]));
  }
  return found;
}

/** Rules of distinct shapes (the set of paths with array positions folded), so each shape is mutated once. */
function distinctShapes(rules: Json[]): Json[] {
  const seen = new Set<string>();
  return rules.filter((rule) => {
    const shape = paths(rule)
      .map((path) => path.map((part) => (typeof part === 'number' ? '#' : part)).join('.'))
      .sort()
      .join(' ');
    if (seen.has(shape)) return false;
    seen.add(shape);
    return true;
  });
}

/** Every limit the published JSON Schema of a rule names, with what it limits. */
function schemaLimits(): { numbers: number[]; lengths: number[] } {
  const numbers = new Set<number>();
  const lengths = new Set<number>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (typeof value === 'number' && ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'].includes(key)) numbers.add(value);
      else if (typeof value === 'number' && ['minLength', 'maxLength'].includes(key)) lengths.add(value);
      else walk(value);
    }
  };
  walk(z.toJSONSchema(Rule, { io: 'input', unrepresentable: 'any' }));
  return { numbers: [...numbers], lengths: [...lengths] };
}

function probes(): { any: unknown[]; numbers: unknown[]; strings: unknown[] } {
  const limits = schemaLimits();
  const numbers = limits.numbers.flatMap((limit) => [limit - 1, limit - 0.5, limit, limit + 0.5, limit + 1]);
  const strings = limits.lengths.flatMap((length) =>
    [length - 1, length, length + 1]
      .filter((size) => size >= 0 && size < 5000)
      .flatMap((size) => ['A'.repeat(size), ` ${'A'.repeat(size)} `, '药'.repeat(size), '1'.repeat(size)]),
  );
  const sparse: unknown[] = [];
  sparse[1] = 'XA01';
  class Boxed {
    code = 'XA01';
  }
  const any: unknown[] = [
    undefined,
    null,
    true,
    false,
    0,
    -0,
    -1,
    1.5,
    NaN,
    Infinity,
    -Infinity,
    2 ** 53,
    '',
    ' ',
    'x',
    ' xa01 ',
    'xa 01',
    '\uFEFFXA01',
    'C26-C15',
    'c15 - c26',
    'C15-C26',
    'I10.x00',
    '81.51',
    'X'.repeat(31),
    '2024-02-29',
    '2023-02-29',
    '2024-13-01',
    '0000-01-01',
    'warn',
    'block',
    'generic',
    'class',
    'fromFirstUse',
    'admission',
    'rolling',
    'year',
    'attending',
    'pregnant',
    'F',
    '<=',
    'indication',
    'limit',
    [],
    [''],
    [' '],
    [null],
    ['xa01'],
    ['XA01', 'XA01'],
    [1],
    [[]],
    [{}],
    sparse,
    {},
    { diagnoses: ['C34'] },
    { depts: ['0402'] },
    { from: '2026-01-01' },
    Object.create(null) as unknown,
    new Boxed(),
    new Date(0),
    JSON.parse('{"__proto__": {"polluted": true}}'),
  ];
  return { any, numbers, strings };
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function setAt(rule: Json, path: (string | number)[], value: unknown, remove = false): unknown {
  const copy = clone(rule) as Record<string | number, unknown>;
  let parent: Record<string | number, unknown> = copy;
  for (const part of path.slice(0, -1)) parent = parent[part] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else {
    parent[last] = value;
  }
  return copy;
}

/** Extra keys at an object inside a rule (the rule itself when `path` is empty). */
function withKey(rule: Json, path: (string | number)[], key: string): unknown {
  const copy = clone(rule);
  let target = copy as Record<string | number, unknown>;
  for (const part of path) target = target[part] as Record<string | number, unknown>;
  if (key === '__proto__') {
    // The way a JSON document carries it: an own property named __proto__.
    Object.defineProperty(target, '__proto__', { value: { enabled: false }, enumerable: true, configurable: true, writable: true });
  } else {
    target[key] = 'extra';
  }
  return copy;
}

/**
 * Each field of each kind (array positions folded) gets every probe once; a field met again in
 * another rule is only removed, which keeps the run to tens of thousands of candidates.
 */
function mutations(base: Json[]): unknown[] {
  const { any, numbers, strings } = probes();
  const candidates: unknown[] = [];
  const probed = new Set<string>();
  for (const rule of base) {
    candidates.push(clone(rule));
    const objectPaths: (string | number)[][] = [[]];
    for (const path of paths(rule)) {
      const current = path.reduce<unknown>((value, part) => (value as Record<string | number, unknown>)[part], rule);
      candidates.push(setAt(rule, path, undefined, true));
      const field = `${String((rule as { kind?: unknown }).kind)}:${path.map((part) => (typeof part === 'number' ? '#' : part)).join('.')}`;
      if (probed.has(field)) continue;
      probed.add(field);
      for (const value of any) candidates.push(setAt(rule, path, value));
      if (typeof current === 'number') for (const value of numbers) candidates.push(setAt(rule, path, value));
      if (typeof current === 'string') for (const value of strings) candidates.push(setAt(rule, path, value));
      if (current !== null && typeof current === 'object' && !Array.isArray(current)) objectPaths.push(path);
    }
    for (const path of objectPaths) {
      for (const key of ['extra', '__proto__', 'constructor', 'toString', 'anyOf', 'kind']) candidates.push(withKey(rule, path, key));
    }
    candidates.push(Object.assign(Object.create(null) as object, clone(rule)));
    candidates.push(Object.assign(Object.create({ level: 'warn' }) as object, clone(rule)));
  }
  return candidates;
}

/** What validateRules reported before the fast path: zod alone. */
function validateWithZodOnly(raw: unknown[]): { rules: Rule[]; problems: RuleProblem[] } {
  return validateRules(raw, (candidate) => Rule.safeParse(candidate));
}

const shipped = [...rulesOf('examples/rules.json'), ...rulesOf('rules-cache/demo/demo-rules.json'), ...rulesOf('rules-cache/sources/samples/rules.json')];
const generated = [...generateLibrary(3000, 42, false).rules, ...generateLibrary(3000, 7, true).rules] as unknown as Json[];

describe('the rule fast path', { timeout: 240_000 }, () => {
  it('accepts every shipped and generated rule, with exactly the output zod gives', { timeout: 60_000 }, () => {
    for (const rule of [...shipped, ...generated]) {
      const fast = acceptRule(clone(rule));
      const parsed = Rule.safeParse(clone(rule));
      assert.ok(parsed.success, `zod refuses ${JSON.stringify(rule)}`);
      assert.ok(fast !== undefined, `the fast path does not take ${JSON.stringify(rule)}`);
      assert.deepStrictEqual(fast, parsed.data);
      assert.equal(JSON.stringify(fast), JSON.stringify(parsed.data));
    }
  });

  it('never accepts what zod refuses, and never differs from zod where both accept', { timeout: 200_000 }, () => {
    const candidates = mutations(distinctShapes([...shipped, ...generated]));
    let accepted = 0;
    let refusedByZod = 0;
    for (const candidate of candidates) {
      const fast = acceptRule(candidate);
      const parsed = Rule.safeParse(candidate);
      if (!parsed.success) refusedByZod += 1;
      if (fast === undefined) continue;
      accepted += 1;
      assert.ok(parsed.success, `the fast path took what zod refuses: ${JSON.stringify(candidate)}: ${parsed.error?.message}`);
      assert.deepStrictEqual(fast, parsed.data, JSON.stringify(candidate));
      assert.equal(JSON.stringify(fast), JSON.stringify(parsed.data));
    }
    // Both sides of the comparison were exercised, in bulk.
    assert.ok(accepted > 1000, `only ${accepted} mutated rules took the fast path`);
    assert.ok(refusedByZod > 10_000, `only ${refusedByZod} mutated rules were invalid`);
    // validateRules as a whole: same rules, same problems in the same words, duplicates included.
    const withDuplicates = [...candidates, ...candidates.slice(0, 500)];
    assert.deepStrictEqual(validateRules(withDuplicates), validateWithZodOnly(withDuplicates));
  });
});
