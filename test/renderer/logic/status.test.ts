import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RulesStatus } from '../../../app/core/protocol/ui';
import { rulesHealth } from '../../../renderer/logic/status';

const now = new Date('2026-11-24T00:00:00Z');
const rules = (partial: Partial<RulesStatus>): RulesStatus => ({
  version: 42,
  source: 'pack',
  ruleCount: 10,
  counts: {},
  expired: false,
  ageDays: 3,
  expiresAt: '2027-06-30T00:00:00Z',
  ...partial,
});

test('an expired or missing library is an alarm', () => {
  assert.equal(rulesHealth(null, now).severity, 'alarm');
  const expired = rulesHealth(rules({ expired: true, expiresAt: '2026-11-01T00:00:00Z' }), now);
  assert.equal(expired.severity, 'alarm');
  assert.match(expired.text, /已过期/);
});

test('the demo library, an expiry within a week and an old library are notices', () => {
  assert.equal(rulesHealth(rules({ source: 'demo' }), now).severity, 'notice');
  assert.match(rulesHealth(rules({ expiresAt: '2026-11-28T00:00:00Z' }), now).text, /将于 .* 过期/);
  assert.match(rulesHealth(rules({ ageDays: 45 }), now).text, /45 天未更新/);
});

test('a current library is fine', () => {
  assert.equal(rulesHealth(rules({}), now).severity, 'ok');
});
