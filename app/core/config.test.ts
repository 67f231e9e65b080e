/**
 * Every configuration key reaches what it configures: the agent (as started, headless or in
 * the desktop app) or the sync client. A key added to the schema without being wired makes
 * this fail, first at compile time (the sample below must name every key) and then here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { startAgent } from './agent';
import { ConfigFile, loadConfig, readRuntimeFile, removeRuntimeFile, resolveSettings, writeHubCredential, writeRuntimeFile } from './config';
import { desktopAgentSettings } from '../main/agent-options';

test('every config key reaches the agent or the sync client, headless and desktop alike', { timeout: 60_000 }, async (context) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rxgate-config-'));
  context.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const publicKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  // Values that differ from every default, so a dropped key cannot pass by accident.
  const sample: Required<ConfigFile> = {
    port: 0,
    token: 'config-test-token-0123456789',
    allowOrigins: ['http://his.example:8080'],
    servers: ['http://127.0.0.1:9/rules/'],
    publicKeys: [publicKey],
    retentionDays: 91,
    maxFrameBytes: 65_536,
    syncIntervalMinutes: 7,
    reportUrl: 'http://127.0.0.1:9/report',
    nhsaPopup: true,
    nhsaAuth: 'loopback',
    nhsaTokenHeaders: ['apikey'],
    nhsaExtraFields: true,
    titleCodes: 'reversed',
    maxBufferedBytes: 4 * 1024 * 1024,
    maxPending: 50,
    hubUrl: 'http://127.0.0.1:9/hub/',
    hubBudgetMs: 40,
    expiredHardLimitDays: 3,
    decisionTimeoutSeconds: 77,
  };
  // port 0 is what tests use; the schema's minimum is for IT's files.
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ ...sample, port: 18099 }));
  // The hub is used once the PC is enrolled (rxgate enrol writes the credential).
  writeHubCredential(dataDir, 'agent-1.secret-secret-secret');
  const config = { ...loadConfig(dataDir), port: 0 };
  const resolved = resolveSettings(dataDir, config);
  const sync = resolved.sync();
  const where: Record<keyof ConfigFile, unknown> = {
    port: resolved.agent.port,
    token: resolved.agent.token,
    allowOrigins: resolved.agent.allowOrigins,
    servers: sync.servers,
    publicKeys: sync.publicKeys,
    retentionDays: resolved.agent.retentionDays,
    maxFrameBytes: resolved.agent.maxFrameBytes,
    syncIntervalMinutes: sync.intervalMinutes,
    reportUrl: sync.reportUrl,
    nhsaPopup: resolved.agent.nhsaPopup,
    nhsaAuth: resolved.agent.nhsaAuth,
    nhsaTokenHeaders: resolved.agent.nhsaTokenHeaders,
    nhsaExtraFields: resolved.agent.nhsaExtraFields,
    titleCodes: resolved.agent.titleCodes,
    maxBufferedBytes: resolved.agent.maxBufferedBytes,
    maxPending: resolved.agent.maxPending,
    hubUrl: resolved.agent.hub?.url,
    hubBudgetMs: resolved.agent.hub?.budgetMs,
    expiredHardLimitDays: resolved.agent.expiredHardLimitDays,
    decisionTimeoutSeconds: resolved.agent.decisionTimeoutSeconds,
  };
  assert.deepEqual(Object.keys(where).sort(), Object.keys(ConfigFile.shape).sort());
  for (const key of Object.keys(where) as Array<keyof ConfigFile>) {
    assert.deepEqual(where[key], sample[key], key);
  }

  // The desktop app resolves the same way (it used to drop expiredHardLimitDays).
  const desktop = desktopAgentSettings({ dataDir, uiDir: '/ui', log: () => undefined });
  for (const [key, value] of Object.entries(resolved.agent)) {
    if (key === 'port') continue;
    assert.deepEqual((desktop.agent as unknown as Record<string, unknown>)[key], value, `desktop ${key}`);
  }

  // And the agent started from them runs with them.
  const agent = await startAgent({ ...resolved.agent, log: () => undefined });
  try {
    for (const [key, value] of Object.entries(resolved.agent)) {
      assert.deepEqual((agent.options as unknown as Record<string, unknown>)[key], value, `agent ${key}`);
    }
  } finally {
    await agent.stop();
  }
});

test('the runtime file names the running agent’s port, owner-only, and only its own process removes it', (context) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rxgate-runtime-'));
  context.after(() => rmSync(dataDir, { recursive: true, force: true }));
  assert.equal(readRuntimeFile(dataDir), null);
  writeRuntimeFile(dataDir, { pid: process.pid, port: 27001, startedAt: '2026-11-30T00:00:00.000Z' });
  assert.equal(readRuntimeFile(dataDir)?.port, 27001);
  if (process.platform !== 'win32') assert.equal(statSync(join(dataDir, 'agent.json')).mode & 0o777, 0o600);
  removeRuntimeFile(dataDir, process.pid + 1);
  assert.equal(readRuntimeFile(dataDir)?.port, 27001, 'another process does not remove it');
  removeRuntimeFile(dataDir);
  assert.equal(readRuntimeFile(dataDir), null);
});
