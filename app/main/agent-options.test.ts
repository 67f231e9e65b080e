import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { desktopAgentSettings } from './agent-options';

test('the desktop app reads the machine-wide config, then the data folder’s, like the headless agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxgate-desktop-'));
  const machine = join(dir, 'machine.json');
  const dataDir = join(dir, 'data');
  writeFileSync(
    machine,
    JSON.stringify({ port: 18000, token: 'machine-token-0123456789', allowOrigins: ['http://his.example:8080'], servers: ['https://rules.example/'], retentionDays: 90 }),
  );
  const previous = process.env.RXGATE_MACHINE_CONFIG;
  process.env.RXGATE_MACHINE_CONFIG = machine;
  try {
    const settings = desktopAgentSettings({ dataDir, uiDir: '/app/dist/renderer', log: () => undefined });
    assert.equal(settings.agent.port, 18000);
    assert.equal(settings.agent.token, 'machine-token-0123456789');
    assert.deepEqual(settings.agent.allowOrigins, ['http://his.example:8080']);
    assert.equal(settings.agent.retentionDays, 90);
    assert.equal(settings.agent.uiDir, '/app/dist/renderer');
    assert.deepEqual(settings.sync().servers, ['https://rules.example/']);

    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ port: 18001 }));
    assert.equal(desktopAgentSettings({ dataDir, uiDir: '/x', log: () => undefined }).agent.port, 18001);

    writeFileSync(machine, JSON.stringify({ servers: ['https://rules.example/'], publicKeys: [join(dir, 'missing.pem')] }));
    const withBadKey = desktopAgentSettings({ dataDir, uiDir: '/x', log: () => undefined });
    assert.equal(withBadKey.agent.port, 18001, 'a missing key file does not stop the agent settings');
    assert.throws(() => withBadKey.sync(), /missing\.pem/);

    writeFileSync(machine, JSON.stringify({}));
    const generated = desktopAgentSettings({ dataDir, uiDir: '/x', log: () => undefined }).agent.token;
    assert.ok(generated.length >= 16, 'a token is generated at first start');
    assert.equal(readFileSync(join(dataDir, 'token'), 'utf8').trim(), generated);
  } finally {
    if (previous === undefined) delete process.env.RXGATE_MACHINE_CONFIG;
    else process.env.RXGATE_MACHINE_CONFIG = previous;
  }
});
