import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChoiceError, resolveChoice } from './decisions';
import type { Finding } from './protocol/messages';

function finding(overrides: Partial<Finding>): Finding {
  return {
    findingId: 'f1',
    ruleId: 'R',
    kind: 'indication',
    level: 'block',
    lines: ['1'],
    title: '规则',
    message: '',
    basis: '',
    actions: ['selfpay', 'remove', 'revise'],
    details: {},
    ...overrides,
  };
}

const block = finding({});
const warn = finding({ findingId: 'f2', kind: 'repeat', level: 'warn', lines: ['2'], actions: ['continue', 'remove', 'revise'] });

function code(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ChoiceError);
    return error.code;
  }
  return 'accepted';
}

test('revise needs nothing and drops picked actions', () => {
  assert.deepEqual(resolveChoice([block, warn], { id: 'c', outcome: 'revise', lines: [{ line: '1', action: 'selfpay' }], reasons: [] }), {
    outcome: 'revise',
    lines: [],
    reasons: [],
  });
});

test('a block must be fixed by an action it offers', () => {
  assert.equal(code(() => resolveChoice([block], { id: 'c', outcome: 'proceed', lines: [], reasons: [] })), 'block_not_resolved');
  assert.equal(
    code(() => resolveChoice([block], { id: 'c', outcome: 'proceed', lines: [{ line: '1', action: 'continue' }], reasons: [{ findingId: 'f1', reason: 'x' }] })),
    'action_not_offered',
  );
  const resolved = resolveChoice([block], { id: 'c', outcome: 'proceed', lines: [{ line: '1', action: 'selfpay' }], reasons: [] });
  assert.deepEqual(resolved.lines, [{ line: '1', action: 'selfpay' }]);
});

test('a warning continued (explicitly or by default) needs a reason', () => {
  assert.equal(code(() => resolveChoice([warn], { id: 'c', outcome: 'proceed', lines: [], reasons: [] })), 'reason_required');
  assert.equal(
    code(() => resolveChoice([warn], { id: 'c', outcome: 'proceed', lines: [{ line: '2', action: 'continue' }], reasons: [{ findingId: 'f2', reason: '   ' }] })),
    'reason_required',
  );
  const resolved = resolveChoice([warn], { id: 'c', outcome: 'proceed', lines: [], reasons: [{ findingId: 'f2', reason: '患者病情需要' }] });
  assert.deepEqual(resolved.lines, [{ line: '2', action: 'continue' }]);
  assert.deepEqual(resolved.reasons, [{ findingId: 'f2', reason: '患者病情需要' }]);
  const removed = resolveChoice([warn], { id: 'c', outcome: 'proceed', lines: [{ line: '2', action: 'remove' }], reasons: [] });
  assert.deepEqual(removed.lines, [{ line: '2', action: 'remove' }]);
});

test('on a line with a block and a warning, self-pay fixes the block but the warning still needs a reason', () => {
  const both = finding({ findingId: 'f3', kind: 'repeat', level: 'warn', lines: ['1'], actions: ['continue', 'remove', 'revise'] });
  assert.equal(
    code(() => resolveChoice([block, both], { id: 'c', outcome: 'proceed', lines: [{ line: '1', action: 'selfpay' }], reasons: [] })),
    'reason_required',
  );
  const ok = resolveChoice([block, both], { id: 'c', outcome: 'proceed', lines: [{ line: '1', action: 'selfpay' }], reasons: [{ findingId: 'f3', reason: '已核实' }] });
  assert.deepEqual(ok.lines, [{ line: '1', action: 'selfpay' }]);
  const removed = resolveChoice([block, both], { id: 'c', outcome: 'proceed', lines: [{ line: '1', action: 'remove' }], reasons: [] });
  assert.deepEqual(removed.lines, [{ line: '1', action: 'remove' }]);
});

test('unknown lines, findings, duplicate lines and per-line revise are refused', () => {
  assert.equal(code(() => resolveChoice([block], { id: 'c', outcome: 'proceed', lines: [{ line: '9', action: 'remove' }], reasons: [] })), 'unknown_line');
  assert.equal(
    code(() => resolveChoice([block], { id: 'c', outcome: 'proceed', lines: [{ line: '1', action: 'remove' }], reasons: [{ findingId: 'f9', reason: 'x' }] })),
    'unknown_finding',
  );
  assert.equal(
    code(() => resolveChoice([block], { id: 'c', outcome: 'proceed', lines: [{ line: '1', action: 'remove' }, { line: '1', action: 'selfpay' }], reasons: [] })),
    'duplicate_line',
  );
  assert.equal(code(() => resolveChoice([block], { id: 'c', outcome: 'proceed', lines: [{ line: '1', action: 'revise' }], reasons: [] })), 'bad_action');
});
