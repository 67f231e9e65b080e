/** Config files as IT writes them, including the sample in docs/deployment.md. */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, readConfigFile } from './config';

const dir = mkdtempSync(join(tmpdir(), 'rxgate-config-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('config files', { timeout: 10_000 }, () => {
  it('accepts the sample config in docs/deployment.md as printed', () => {
    const markdown = readFileSync(join(__dirname, '..', '..', 'docs', 'deployment.md'), 'utf8');
    const sample = /## 2\.[^\n]*\n[\s\S]*?```json\n([\s\S]*?)\n```/.exec(markdown)?.[1];
    assert.ok(sample, 'docs/deployment.md section 2 has a json sample');
    const config = readConfigFile(write('deployment-sample.json', sample));
    assert.deepEqual(config.servers, ['https://rules.hospital.local/rxgate/', '\\\\fileserver\\rxgate\\rules']);
  });

  it('refuses a server that is no address, naming the file, the field and what to write', () => {
    const file = write('bad-server.json', { servers: ['https://rules.hospital.local/', 'notaurl'] });
    assert.throws(
      () => readConfigFile(file),
      (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.ok(error.message.includes(file), error.message);
        assert.match(error.message, /servers\.1/);
        assert.match(error.message, /规则服务器地址无效: "notaurl" — 请写网址/);
        return true;
      },
    );
  });
});
