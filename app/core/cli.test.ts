/**
 * What hospital IT reads from `rxgate`: help that lists every flag with its meaning and
 * default, and mistakes reported in Chinese naming the flag or file and what to do. Runs the
 * command line in-process, capturing what it prints.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, TOKEN, startTestAgent } from '../../test/support';
import { main } from './cli';
import { CliError } from './cli-error';
import { checkExpires } from './rules-commands';

const dir = mkdtempSync(join(tmpdir(), 'rxgate-cli-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `rxgate …` and returns its exit code and what it printed. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => void out.push(parts.join(' '));
  console.error = (...parts: unknown[]) => void err.push(parts.join(' '));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const chinese = /[\u4e00-\u9fff]/;

describe('rxgate help', { timeout: 30_000 }, () => {
  it('rxgate rules --help lists the rule-pack subcommands; rxgate rules alone does too, exiting 2', async () => {
    const help = await run('rules', '--help');
    assert.equal(help.code, 0);
    for (const sub of ['import', 'keygen', 'build', 'publish']) assert.match(help.out, new RegExp(`rxgate rules ${sub}`));
    const bare = await run('rules');
    assert.equal(bare.code, 2);
    assert.match(bare.out, /rxgate rules build/);
    const unknown = await run('rules', 'bogus');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /未知命令 "rules bogus" — 运行 rxgate rules --help/);
  });

  it('each command’s help lists every flag with what it does and its default', async () => {
    const expected: Record<string, string[]> = {
      agent: ['data-dir', 'port', 'token', 'allow-origin', 'rules', 'server', 'public-key', 'no-open', 'ui-dir'],
      'rules import': ['data-dir', 'force', 'public-key'],
      'rules keygen': ['out'],
      'rules build': ['key', 'out', 'version', 'expires', 'min-agent-version', 'catalogue'],
      'rules publish': ['to', 'public-key'],
      status: ['data-dir', 'json'],
      sync: ['data-dir'],
      'his-sim': ['data-dir', 'port', 'token', 'http', 'json', 'wait', 'commit'],
    };
    for (const [command, flags] of Object.entries(expected)) {
      const { code, out } = await run(...command.split(' '), '--help');
      assert.equal(code, 0, command);
      for (const flag of flags) {
        const line = out.split('\n').find((candidate) => candidate.trimStart().startsWith(`--${flag}`));
        assert.ok(line, `${command} --help lists --${flag}`);
        assert.match(line.replace(`--${flag}`, ''), chinese, `${command} --${flag} says what it does`);
        if (!/必填/.test(line)) assert.match(line, /默认/, `${command} --${flag} states its default`);
      }
    }
    assert.match((await run('his-sim', '--help')).out, /--wait SECONDS .*默认: 120/);
  });
});

describe('rxgate mistakes, in Chinese naming the flag or file', { timeout: 30_000 }, () => {
  it('an unknown flag is named, with the nearest known one; a missing value and a switch with a value too', async () => {
    const unknown = await run('agent', '--prot', '5');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /^rxgate agent: 未知参数 --prot, 是不是 --port\? — 运行 rxgate agent --help 查看可用参数$/);
    assert.doesNotMatch(unknown.err, /Unknown option/);
    const missing = await run('status', '--data-dir');
    assert.match(missing.err, /参数 --data-dir 缺少取值/);
    const switchValue = await run('status', '--json=yes');
    assert.match(switchValue.err, /参数 --json 是开关, 不带取值/);
  });

  it('--token shorter than 16 characters is refused as config.json refuses it', async () => {
    const result = await run('agent', '--token', 'short', '--data-dir', join(dir, 'token'), '--no-open', '--port', '0');
    assert.equal(result.code, 2);
    assert.equal(result.err, 'rxgate agent: --token: 长度至少为 16 个字符 (收到 5 个字符)');
  });

  it('--allow-origin without a scheme names the flag and shows the form', async () => {
    const result = await run('agent', '--allow-origin', '127.0.0.1:28081', '--data-dir', join(dir, 'origin'), '--no-open', '--port', '0');
    assert.equal(result.code, 2);
    assert.match(result.err, /^rxgate agent: --allow-origin: 应是完整的来源, 带 http:\/\/ 或 https:\/\/.*收到 "127\.0\.0\.1:28081"/);
    assert.doesNotMatch(result.err, /Invalid URL/);
  });

  it('a data folder that cannot be written is named, with what to do', async () => {
    // A file where a folder should be: unwritable whoever runs the test, root included.
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, '');
    const data = join(blocker, 'data');
    for (const argv of [['agent', '--no-open', '--port', '0'], ['sync'], ['rules', 'import', join(EXAMPLES, 'rules.json')]]) {
      const result = await run(...argv, '--data-dir', data);
      assert.equal(result.code, 1, argv.join(' '));
      assert.ok(result.err.includes(`数据目录无法写入: ${data}`), result.err);
      assert.match(result.err, /--data-dir/);
      assert.doesNotMatch(result.err, /EACCES|ENOTDIR|unable to open/);
    }
  });

  it('a config file with a wrong value says which field, in Chinese', async () => {
    const data = join(dir, 'config');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'config.json'), JSON.stringify({ retentionDays: 'x' }));
    const result = await run('status', '--data-dir', data);
    assert.equal(result.code, 1);
    assert.match(result.err, /配置文件有误: .*config\.json: retentionDays: 类型不对, 应为数字/);
  });

  it('--expires: a date that is not on the calendar, not a date, or past is refused naming the flag', () => {
    const now = new Date('2026-11-30T00:00:00Z');
    assert.equal(checkExpires('2027-06-30', now), '2027-06-30');
    assert.equal(checkExpires('2027-06-30T12:00:00+08:00', now), '2027-06-30T12:00:00+08:00');
    for (const [value, pattern] of [
      ['2026-02-30', /--expires 2026-02-30 不是日历上的日期/],
      ['2026-13-45', /不是日历上的日期/],
      ['tomorrow', /--expires tomorrow 不是有效日期/],
      ['2026-1-5', /不是有效日期/],
      ['2026-11-01', /--expires 2026-11-01 已经过去/],
    ] as const) {
      assert.throws(() => checkExpires(value, now), (error: Error) => error instanceof CliError && pattern.test(error.message));
    }
  });

  it('his-sim given a rule library says so instead of complaining about a missing type', async () => {
    const result = await run('his-sim', join(EXAMPLES, 'rules.json'), '--token', TOKEN, '--port', '1');
    assert.equal(result.code, 1);
    assert.match(result.err, /rules\.json 是规则库, 不是 HIS 消息 — 导入规则库请用 rxgate rules import/);
  });
});

describe('rxgate without an agent', { timeout: 30_000 }, () => {
  it('his-sim says no agent runs on that port and what to do, over WebSocket and HTTP', async () => {
    // A loopback port that was free a moment ago and has nothing listening now.
    const probe = createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    for (const transport of [[], ['--http']]) {
      const result = await run('his-sim', join(EXAMPLES, 'check-indication.json'), '--port', String(port), '--token', TOKEN, ...transport);
      assert.equal(result.code, 1);
      assert.match(result.err, new RegExp(`端口 ${port} 上没有代理在运行 — 请先启动代理`));
    }
  });
});

describe('rxgate against a running agent', { timeout: 30_000 }, () => {
  it('his-sim --http says when its wait for the doctor runs out', async () => {
    const { agent, stop } = await startTestAgent({ rulesFile: join(EXAMPLES, 'rules.json') });
    try {
      const result = await run('his-sim', join(EXAMPLES, 'check-repeat.json'), '--http', '--port', String(agent.port), '--token', TOKEN, '--wait', '1');
      assert.equal(result.code, 0, result.err);
      assert.match(result.out, /等待医生在弹窗中处理/);
      assert.match(result.out, /1 秒内没有收到处理结果 \(弹窗仍在等待医生; 用 --wait 调整等待时间\)/);
    } finally {
      await stop();
    }
  });

  it('status prints rule kinds in Chinese', async () => {
    const { dataDir, agent } = await startTestAgent({ rulesFile: join(EXAMPLES, 'rules.json') });
    await agent.stop();
    try {
      const result = await run('status', '--data-dir', dataDir);
      assert.equal(result.code, 0, result.err);
      assert.match(result.out, /限定支付 \d+/);
      assert.doesNotMatch(result.out, /indication|chronic|herbal/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
