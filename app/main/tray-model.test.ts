import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import type { StatusView } from '../core/protocol/ui';
import { iconPng, trayModel, traySeverity } from './tray-model';

const status: StatusView = {
  agentVersion: '0.1.0',
  startedAt: '2026-11-24T00:00:00Z',
  port: 17380,
  rules: { version: 42, source: 'pack', ruleCount: 100, counts: {}, expired: false, ageDays: 3 },
  sync: { configured: true, servers: ['https://rules.example/'], state: 'ok', lastResult: '已是最新' },
  clients: [
    { id: 'a', transport: 'ws', kind: 'his', connectedAt: '2026-11-24T00:00:00Z' },
    { id: 'b', transport: 'ws', kind: 'ui', connectedAt: '2026-11-24T00:00:00Z' },
  ],
  checks: { total: 0, byResult: { pass: 0, warn: 0, block: 0, unchecked: 0 }, recent: [] },
  pendingCount: 2,
  integrity: { ok: true, problems: [], audit: { state: 'verified' } },
};
const options = { autoStart: true, autoStartAvailable: true };

test('the icon turns red when checks cannot be trusted and amber when IT should look', () => {
  assert.equal(traySeverity(status), 'ok');
  assert.equal(traySeverity(null), 'alarm');
  assert.equal(traySeverity({ ...status, rules: null }), 'alarm');
  assert.equal(traySeverity({ ...status, rules: { ...status.rules!, expired: true } }), 'alarm');
  assert.equal(traySeverity({ ...status, sync: { ...status.sync, state: 'failed' } }), 'notice');
  assert.equal(traySeverity({ ...status, rules: { ...status.rules!, source: 'demo' } }), 'notice');
});

test('the menu shows rule version and age, sync, HIS count, and what waits', () => {
  const model = trayModel(status, options);
  const labels = model.entries.map((entry) => ('label' in entry ? entry.label : '—'));
  assert.equal(labels[0], '规则库 v42 · 3 天前发布');
  const demo = trayModel({ ...status, rules: { ...status.rules!, version: 1, source: 'demo', ageDays: 0 } }, options);
  assert.equal('label' in demo.entries[0]! ? demo.entries[0].label : '', '规则库 v1 (演示)', 'the demo library is not "published 0 days ago"');
  assert.ok(labels.includes('同步: 同步正常 · 已是最新'));
  assert.ok(labels.includes('已连接 HIS: 1'), 'the UI socket is not a HIS');
  assert.ok(labels.includes('待处理提醒 (2)'));
  assert.ok(labels.includes('开机自动启动'));
  assert.match(model.tooltip, /RxGate 医保事前提醒\n规则库 v42/);
  assert.ok(model.tooltip.length < 128, 'Windows truncates tooltips at 128 characters');
});

test('actions that cannot work are disabled, and autostart is hidden in development', () => {
  const model = trayModel({ ...status, pendingCount: 0, sync: { configured: false, servers: [], state: 'disabled' } }, {
    autoStart: false,
    autoStartAvailable: false,
  });
  const enabled = (id: string) => model.entries.some((entry) => entry.type === 'action' && entry.id === id && entry.enabled);
  assert.equal(enabled('showPopup'), false);
  assert.equal(enabled('syncNow'), false);
  assert.equal(enabled('openStatus'), true);
  assert.equal(model.entries.some((entry) => entry.type === 'checkbox'), false);
});

test('the icon is a valid RGBA PNG of the asked size', () => {
  const png = iconPng('alarm', 32);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.readUInt32BE(16), 32);
  assert.equal(png.readUInt32BE(20), 32);
  const idatStart = png.indexOf('IDAT') + 4;
  const idatLength = png.readUInt32BE(idatStart - 8);
  const pixels = inflateSync(png.subarray(idatStart, idatStart + idatLength));
  assert.equal(pixels.length, 32 * (1 + 32 * 4));
  const centre = 16 * (1 + 32 * 4) + 1 + 16 * 4;
  assert.deepEqual([...pixels.subarray(centre, centre + 4)], [255, 255, 255, 255], 'white cross in the middle');
  const corner = 1;
  assert.equal(pixels[corner + 3], 0, 'transparent corner');
});
