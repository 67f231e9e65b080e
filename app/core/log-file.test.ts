import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogFile } from './log-file';

test('lines are appended with a timestamp, one per line, and the file rotates by size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxgate-log-'));
  const path = join(dir, 'logs', 'rxgate.log');
  const log = createLogFile({ path, maxBytes: 100, now: () => new Date('2026-11-24T01:02:03Z') });
  log('启动\n第二行');
  assert.equal(readFileSync(path, 'utf8'), '[2026-11-24T01:02:03.000Z] 启动 ⏎ 第二行\n');
  for (let index = 0; index < 10; index += 1) log(`line ${index}`);
  assert.ok(existsSync(`${path}.1`));
  assert.ok(readFileSync(path, 'utf8').length <= 200);
});

test('the size is counted, not looked up for every line: a file grown behind its back rotates only by what was written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxgate-log-'));
  const path = join(dir, 'rxgate.log');
  const log = createLogFile({ path, maxBytes: 1000 });
  log('first');
  // Someone else appends a lot: the log does not stat the file per line, so it carries on.
  writeFileSync(path, 'x'.repeat(5000), { flag: 'a' });
  log('second');
  assert.equal(existsSync(`${path}.1`), false);
  assert.match(readFileSync(path, 'utf8'), /second\n$/);
});

test('a log that cannot be written does not throw', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxgate-log-'));
  const blocker = join(dir, 'not-a-folder');
  writeFileSync(blocker, '');
  const log = createLogFile({ path: join(blocker, 'logs', 'rxgate.log') });
  assert.doesNotThrow(() => log('x'));
});
