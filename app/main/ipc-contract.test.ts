import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventChannels, invokeChannels, isTrustedSender, validateArguments } from './ipc-contract';
import { rendererUrl } from './security';

test('decide accepts one well-formed choice and nothing else', () => {
  const choice = { id: 'c-1', outcome: 'proceed', lines: [{ line: '1', action: 'selfpay' }], reasons: [{ findingId: 'f2', reason: '患者病情需要' }] };
  const accepted = validateArguments('decide', [choice]);
  assert.equal(accepted.ok, true);
  assert.deepEqual(accepted.ok && accepted.value[0], choice);

  const refusals: unknown[][] = [
    [],
    [choice, 'extra'],
    [{ ...choice, outcome: 'approve' }],
    [{ ...choice, lines: [{ line: '1', action: 'delete' }] }],
    [{ ...choice, reasons: [{ findingId: 'f2', reason: '   ' }] }],
    [{ ...choice, id: '' }],
    [{ ...choice, id: 'x'.repeat(200) }],
    ['c-1'],
    [null],
  ];
  for (const args of refusals) {
    const result = validateArguments('decide', args);
    assert.equal(result.ok, false, JSON.stringify(args));
    assert.match(result.ok ? '' : result.error, /^参数无效/);
  }
});

test('the getters and sync take no arguments', () => {
  for (const name of ['getPending', 'getStatus', 'syncNow'] as const) {
    assert.equal(validateArguments(name, []).ok, true);
    assert.equal(validateArguments(name, [{}]).ok, false);
  }
});

test('only the top frame of our own window, at our own page, may call', () => {
  const good = { frameUrl: rendererUrl('popup'), isTopFrame: true, isOurWindow: true };
  assert.equal(isTrustedSender(good), true);
  assert.equal(isTrustedSender({ ...good, isTopFrame: false }), false);
  assert.equal(isTrustedSender({ ...good, isOurWindow: false }), false);
  assert.equal(isTrustedSender({ ...good, frameUrl: 'https://example.com/' }), false);
  assert.equal(isTrustedSender({ ...good, frameUrl: null }), false);
});

test('one channel per message, all distinct, and the preload spells the same names', () => {
  const all = [...Object.values(invokeChannels), ...Object.values(eventChannels)];
  assert.equal(new Set(all).size, all.length);
  const preload = readFileSync(join(__dirname, '..', 'preload', 'preload.ts'), 'utf8');
  for (const channel of all) assert.ok(preload.includes(`'${channel}'`), `preload lacks ${channel}`);
});

test('the preload requires nothing but electron at run time (a sandboxed preload cannot)', () => {
  const preload = readFileSync(join(__dirname, '..', 'preload', 'preload.ts'), 'utf8');
  const runtimeImports = [...preload.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'/gm)].map((match) => match[1]);
  assert.deepEqual(runtimeImports, ['electron']);
  assert.doesNotMatch(preload, /\brequire\s*\(/);
  assert.match(preload, /exposeInMainWorld\('rxgate', bridge\)/);
  assert.match(preload, /satisfies AgentBridge/);
});
