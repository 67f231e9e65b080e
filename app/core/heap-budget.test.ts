/**
 * The heap budget collects once the heap has grown past the budget, never more often than it
 * looks, and never twice at once; with V8's own collector the heap comes back down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { HeapBudget } from './heap-budget';

/**
 * A full collection, so that what earlier tests let go is not in a new budget's starting point:
 * V8 could collect it while the test allocates, and the heap would then never look grown.
 */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Allocates and keeps `megabytes` in small arrays, so that the heap really holds them. */
function hold(megabytes: number): unknown[] {
  return Array.from({ length: megabytes * 16 }, () => new Array<number>(8192).fill(1));
}

test('collects when the heap outgrows the budget, checking every hundred checks', { timeout: 60_000 }, async () => {
  collectGarbage();
  const calls: string[] = [];
  let finish!: () => void;
  const budget = new HeapBudget(() => {
    calls.push('collect');
    return new Promise<void>((resolve) => (finish = resolve));
  });
  for (let index = 0; index < 200; index += 1) budget.afterCheck();
  assert.deepEqual(calls, [], 'the heap has not grown: nothing to collect');
  const held = hold(96);
  for (let index = 0; index < 99; index += 1) budget.afterCheck();
  assert.deepEqual(calls, [], 'it looks only every hundredth check');
  budget.afterCheck();
  assert.deepEqual(calls, ['collect']);
  for (let index = 0; index < 300; index += 1) budget.afterCheck();
  assert.deepEqual(calls, ['collect'], 'not again while a collection is under way');
  finish();
  await new Promise((resolve) => setImmediate(resolve));
  // The heap still holds the arrays: the new baseline includes them, so no collection follows.
  for (let index = 0; index < 300; index += 1) budget.afterCheck();
  assert.deepEqual(calls, ['collect']);
  assert.ok(held.length > 0);
});

test('a new rule index makes it look at once, not a hundred checks later', { timeout: 60_000 }, () => {
  collectGarbage();
  const calls: string[] = [];
  const budget = new HeapBudget(() => {
    calls.push('collect');
  });
  budget.afterRulesChanged();
  assert.deepEqual(calls, [], 'nothing grown, nothing to collect');
  const held = hold(96);
  budget.afterCheck();
  assert.deepEqual(calls, [], 'one check is not the hundredth');
  budget.afterRulesChanged();
  assert.deepEqual(calls, ['collect']);
  assert.ok(held.length > 0);
});

test('while a rule pack is being applied it waits, and looks once the new index is in', { timeout: 60_000 }, () => {
  collectGarbage();
  const calls: string[] = [];
  let applying = true;
  const budget = new HeapBudget(
    () => {
      calls.push('collect');
    },
    () => applying,
  );
  const held = hold(96);
  for (let index = 0; index < 300; index += 1) budget.afterCheck();
  assert.deepEqual(calls, [], 'the growth is the new library: nothing forced meanwhile');
  budget.afterRulesChanged();
  assert.deepEqual(calls, ['collect'], 'the swap makes the old index garbage: it looks then, busy or not');
  applying = false;
  assert.ok(held.length > 0);
});

test('with V8’s collector the garbage goes', { timeout: 60_000 }, async () => {
  collectGarbage();
  const budget = new HeapBudget();
  let garbage: unknown[] | null = hold(96);
  const before = getHeapStatistics().used_heap_size;
  garbage = null;
  for (let index = 0; index < 100; index += 1) budget.afterCheck();
  // The collection is V8's own task; give it a few turns of the loop.
  for (let turn = 0; turn < 50 && getHeapStatistics().used_heap_size > before - 64 * 1024 * 1024; turn += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(garbage, null);
  assert.ok(getHeapStatistics().used_heap_size < before - 64 * 1024 * 1024, 'the 96 MB let go were collected');
});
