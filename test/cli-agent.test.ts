/**
 * `rxgate agent` as IT's service manager runs it: a sync set-up that cannot work stops the
 * agent with the reason and a non-zero exit (never a PC that listens and checks on old rules
 * for ever); a working one writes its runtime file, keeps the UI token off the console, and
 * `rxgate status` finds it on whatever port it was started with.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startAgentProcess, stopGracefully } from '../scripts/reliability/harness';
import { temporaryDir } from './support';

const root = join(__dirname, '..');

function rxgate(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(root, 'bin', 'rxgate.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('rxgate agent', { timeout: 120_000 }, () => {
  test('a sync set-up that cannot work stops it with the reason', () => {
    const dir = temporaryDir();
    try {
      const cases: Array<[string[], RegExp]> = [
        [['--server', 'http://127.0.0.1:9/rules/', '--public-key', join(dir.path, 'nope.pem')], /找不到公钥文件/],
        [['--server', 'http://127.0.0.1:9/rules/'], /没有固定的公钥/],
      ];
      for (const [args, reason] of cases) {
        const result = rxgate(['agent', '--data-dir', join(dir.path, 'data'), '--port', '0', '--no-open', ...args]);
        assert.notEqual(result.status, 0, args.join(' '));
        assert.match(result.stderr, reason);
        assert.doesNotMatch(result.stdout, /已启动/);
      }
    } finally {
      dir.remove();
    }
  });

  test('started: its port in DATA/agent.json for the other commands, the UI token only in an owner-only file', async () => {
    const dir = temporaryDir();
    try {
      const agent = await startAgentProcess(dir.path, { generatedToken: true });
      try {
        const status = rxgate(['status', '--data-dir', dir.path, '--json']);
        assert.equal(status.status, 0, status.stderr);
        const view = JSON.parse(status.stdout) as { running: boolean; port: number };
        assert.equal(view.running, true);
        assert.equal(view.port, agent.port);
        const address = readFileSync(join(dir.path, 'ui-address.txt'), 'utf8').trim();
        const uiToken = new URL(address).hash.replace('#token=', '');
        assert.ok(uiToken.length >= 16);
        assert.ok(!agent.output().includes(uiToken), 'the UI token is not printed');
        if (process.platform !== 'win32') {
          for (const file of ['ui-address.txt', 'ui-token', 'token', 'agent.json']) assert.equal(statSync(join(dir.path, file)).mode & 0o777, 0o600, file);
        }
        // A refused browser request is logged, and the log is in the data folder as the docs say.
        const refused = await fetch(`http://127.0.0.1:${agent.port}/v1/status`, { headers: { Origin: 'http://evil.example' } });
        assert.equal(refused.status, 403);
        const logText = readFileSync(join(dir.path, 'logs', 'rxgate.log'), 'utf8');
        assert.match(logText, /规则库: 内置演示规则库/);
        assert.match(logText, /拒绝请求 GET \/v1\/status: .*来源 http:\/\/evil\.example/);
        if (process.platform !== 'win32') assert.equal(statSync(join(dir.path, 'logs', 'rxgate.log')).mode & 0o777, 0o600);
      } finally {
        assert.equal(await stopGracefully(agent), 0);
      }
      assert.equal(existsSync(join(dir.path, 'agent.json')), false, 'removed when it stops');
    } finally {
      dir.remove();
    }
  });
});
