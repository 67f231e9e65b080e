import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandForKey, keyHints, keyForAction } from '../../../renderer/logic/keyboard';

test('number keys pick actions with fixed keys on the focused item', () => {
  assert.deepEqual(commandForKey({ key: '1' }, 'other'), { type: 'pick', action: 'selfpay' });
  assert.deepEqual(commandForKey({ key: '2' }, 'other'), { type: 'pick', action: 'remove' });
  assert.deepEqual(commandForKey({ key: '3' }, 'other'), { type: 'pick', action: 'continue' });
  assert.deepEqual(commandForKey({ key: '4' }, 'other'), { type: 'pick', action: 'attest' });
  assert.equal(commandForKey({ key: '5' }, 'other'), null);
  assert.deepEqual(keyForAction, { selfpay: '1', remove: '2', continue: '3', attest: '4' });
});

test('digits typed into a reason field stay text; in a reason choice they still pick', () => {
  assert.equal(commandForKey({ key: '1' }, 'text'), null);
  assert.deepEqual(commandForKey({ key: '1' }, 'control'), { type: 'pick', action: 'selfpay' });
  assert.deepEqual(commandForKey({ key: '1' }, 'choice'), { type: 'pick', action: 'selfpay' });
});

test('in the reason choices, arrows, Space and Enter are the group’s own: Enter never confirms there', () => {
  assert.equal(commandForKey({ key: 'ArrowRight' }, 'choice'), null);
  assert.equal(commandForKey({ key: 'ArrowDown' }, 'choice'), null);
  assert.equal(commandForKey({ key: ' ' }, 'choice'), null);
  assert.equal(commandForKey({ key: 'Enter' }, 'choice'), null);
});

test('Enter confirms, except on a control that needs its own Enter', () => {
  assert.deepEqual(commandForKey({ key: 'Enter' }, 'other'), { type: 'confirm' });
  assert.deepEqual(commandForKey({ key: 'Enter' }, 'text'), { type: 'confirm' });
  assert.equal(commandForKey({ key: 'Enter' }, 'control'), null);
});

test('Esc goes back to editing from anywhere', () => {
  for (const target of ['other', 'text', 'control'] as const) {
    assert.deepEqual(commandForKey({ key: 'Escape' }, target), { type: 'revise' });
  }
});

test('nothing fires while an input method is composing', () => {
  assert.equal(commandForKey({ key: 'Enter', isComposing: true }, 'text'), null);
  assert.equal(commandForKey({ key: 'Escape', isComposing: true }, 'text'), null);
  assert.equal(commandForKey({ key: 'Process' }, 'other'), null);
});

test('modified keys are left to the system (copy, window switching)', () => {
  assert.equal(commandForKey({ key: '1', ctrlKey: true }, 'other'), null);
  assert.equal(commandForKey({ key: 'Enter', altKey: true }, 'other'), null);
  assert.equal(commandForKey({ key: '1', shiftKey: true }, 'other'), null);
});

test('Tab is left to the browser; arrows and Space act only on item cards', () => {
  assert.equal(commandForKey({ key: 'Tab' }, 'other'), null);
  assert.equal(commandForKey({ key: 'Tab', shiftKey: true }, 'other'), null);
  assert.deepEqual(commandForKey({ key: 'ArrowDown' }, 'other'), { type: 'moveItem', delta: 1 });
  assert.deepEqual(commandForKey({ key: 'ArrowUp' }, 'other'), { type: 'moveItem', delta: -1 });
  assert.equal(commandForKey({ key: 'ArrowDown' }, 'control'), null);
  assert.deepEqual(commandForKey({ key: ' ' }, 'other'), { type: 'toggleBasis' });
  assert.equal(commandForKey({ key: ' ' }, 'text'), null);
});

test('PageUp/PageDown page through queued checks', () => {
  assert.deepEqual(commandForKey({ key: 'PageDown' }, 'other'), { type: 'moveCheck', delta: 1 });
  assert.deepEqual(commandForKey({ key: 'PageUp' }, 'text'), { type: 'moveCheck', delta: -1 });
});

test('footer hints list only what the popup on screen offers', () => {
  const block = keyHints({ actions: new Set(['selfpay', 'remove']), reasons: false, queued: false });
  assert.deepEqual(block.slice(0, 2), [
    { key: '1', label: '转自费' },
    { key: '2', label: '删除' },
  ]);
  assert.ok(!block.some((hint) => hint.key === '3'), 'no 3 继续 on a block');
  assert.ok(!block.some((hint) => hint.key === 'Tab'), 'no reason hint without a reason to give');
  assert.ok(!block.some((hint) => hint.key.startsWith('PageUp')));

  const warn = keyHints({ actions: new Set(['continue', 'selfpay', 'remove']), reasons: true, queued: true });
  assert.deepEqual(warn.slice(0, 3).map((hint) => hint.key), ['1', '2', '3']);
  assert.match(warn.find((hint) => hint.key === 'Tab')?.label ?? '', /Enter 选中理由/);
  assert.ok(warn.some((hint) => hint.key === 'PageUp/PageDown'));
});
