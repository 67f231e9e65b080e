/**
 * The `rxgate` command line (shared/spec/cli.md). IT scripts and installers rely on these
 * names and exit codes: every command has --help, exits non-zero with a one-line reason on
 * failure, and never prints patient data (his-sim prints only what the user's own file holds).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { WebSocket } from 'ws';
import { openStore } from '../../rules-cache/store';
import { Agent } from './agent';
import { ConfigError, DEFAULT_PORT, defaultDataDir, loadConfig, readPublicKeys, resolveToken } from './config';
import { formatVerdict, formatDecision, formatNhsaResponse } from './format';
import { openAppWindow } from './open-browser';
import { syncOffline, wireSync } from './sync-wiring';
import { importRules } from './rules-import';
import { CliError } from './cli-error';
import { rulesBuild, rulesKeygen, rulesPublish } from './rules-commands';
import { AGENT_VERSION } from './version';
import { join } from 'node:path';


type Options = ParseArgsConfig['options'];

interface Command {
  usage: string;
  summary: string;
  options: Options;
  run(values: Record<string, unknown>, positionals: string[]): Promise<number | void>;
}

const dataDirOption = { 'data-dir': { type: 'string' } } as const;

const commands: Record<string, Command> = {
  agent: {
    usage:
      'rxgate agent [--data-dir DIR] [--port N] [--token T] [--allow-origin URL]… [--rules FILE] [--server URL]… [--public-key FILE]… [--no-open]',
    summary: '运行无界面代理 (界面在浏览器窗口中打开)',
    options: {
      ...dataDirOption,
      port: { type: 'string' },
      token: { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      rules: { type: 'string' },
      server: { type: 'string', multiple: true },
      'public-key': { type: 'string', multiple: true },
      'no-open': { type: 'boolean' },
      'ui-dir': { type: 'string' },
    },
    run: runAgent,
  },
  'rules import': {
    usage: 'rxgate rules import FILE [--data-dir DIR] [--public-key FILE]… [--force]',
    summary: '把签名规则包 (目录或 manifest.json) 或 JSON 规则库导入本机缓存, 校验方式与同步相同',
    options: { ...dataDirOption, force: { type: 'boolean' }, 'public-key': { type: 'string', multiple: true } },
    run: rulesImport,
  },
  'rules keygen': {
    usage: 'rxgate rules keygen --out DIR',
    summary: '生成 Ed25519 密钥对: DIR/private.pem (仅所有者可读) 和 DIR/public.pem',
    options: { out: { type: 'string' } },
    run: rulesKeygen,
  },
  'rules build': {
    usage: 'rxgate rules build SOURCES… --key PRIVATE --out DIR [--version N] [--expires DATE] [--min-agent-version X.Y.Z] [--catalogue FILE]',
    summary: '校验 CSV/XLSX/JSON 规则源并生成签名规则包 (有任何错误则不生成)',
    options: {
      key: { type: 'string' },
      out: { type: 'string' },
      version: { type: 'string' },
      expires: { type: 'string' },
      'min-agent-version': { type: 'string' },
      catalogue: { type: 'string' },
    },
    run: rulesBuild,
  },
  'rules publish': {
    usage: 'rxgate rules publish DIR --to WWWDIR [--public-key FILE]…',
    summary: '把规则包布置到静态网站目录或共享文件夹 (清单固定路径, 规则包按哈希命名)',
    options: { to: { type: 'string' }, 'public-key': { type: 'string', multiple: true } },
    run: rulesPublish,
  },
  status: {
    usage: 'rxgate status [--data-dir DIR] [--json]',
    summary: '显示版本、规则库与同步状态',
    options: { ...dataDirOption, json: { type: 'boolean' } },
    run: status,
  },
  sync: {
    usage: 'rxgate sync [--data-dir DIR]',
    summary: '立即同步规则',
    options: { ...dataDirOption },
    run: syncCommand,
  },
  'his-sim': {
    usage: 'rxgate his-sim FILE [--port N] [--token T] [--data-dir DIR] [--http] [--json] [--wait SECONDS] [--commit]',
    summary: '模拟 HIS: 发送 FILE 中的消息 (原生或 3101), 打印结果和医生的处理',
    options: {
      ...dataDirOption,
      port: { type: 'string' },
      token: { type: 'string' },
      http: { type: 'boolean' },
      json: { type: 'boolean' },
      wait: { type: 'string' },
      commit: { type: 'boolean' },
    },
    run: hisSim,
  },
};

/** Adds commands from other modules (rule packs) without this file knowing their internals. */
export function registerCommand(name: string, command: Command): void {
  commands[name] = command;
}

function usageText(): string {
  const lines = [`RxGate 医保事前提醒助手 ${AGENT_VERSION}`, '', '用法:'];
  for (const command of Object.values(commands)) lines.push(`  ${command.usage}`, `      ${command.summary}`);
  lines.push('', '每个命令都支持 --help。');
  return lines.join('\n');
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [first, second] = argv;
  if (!first || first === '--help' || first === '-h' || first === 'help') {
    console.log(usageText());
    return first ? 0 : 1;
  }
  // Required on demand: the hub's modules (pg, exceljs) are not loaded for the agent's commands.
  if (first === 'hub') return (require('../../hub/cli') as typeof import('../../hub/cli')).hubMain(argv.slice(1));
  if (first === '--version') {
    console.log(AGENT_VERSION);
    return 0;
  }
  const twoWords = second ? `${first} ${second}` : '';
  const name = commands[twoWords] ? twoWords : first;
  const command = commands[name];
  if (!command) {
    console.error(`rxgate: 未知命令 "${[first, second].filter(Boolean).join(' ')}" — 运行 rxgate --help 查看可用命令`);
    return 2;
  }
  const rest = argv.slice(name.split(' ').length);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`${command.usage}\n\n${command.summary}`);
    return 0;
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    console.error(`rxgate ${name}: ${(error as Error).message} — 用法: ${command.usage}`);
    return 2;
  }
  try {
    const code = await command.run(parsed.values, parsed.positionals);
    return typeof code === 'number' ? code : 0;
  } catch (error) {
    if (error instanceof CliError || error instanceof ConfigError) {
      console.error(`rxgate ${name}: ${error.message}`);
      return error instanceof CliError ? error.exitCode : 1;
    }
    const message = (error as Error).message ?? String(error);
    console.error(`rxgate ${name}: ${message.split('\n')[0]}`);
    if (process.env.RXGATE_DEBUG) console.error((error as Error).stack);
    return 1;
  }
}

function port(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw new CliError(`端口无效: ${String(value)}`);
  return number;
}

function dataDirOf(values: Record<string, unknown>): string {
  return (values['data-dir'] as string | undefined) ?? defaultDataDir();
}

async function runAgent(values: Record<string, unknown>): Promise<number> {
  const dataDir = dataDirOf(values);
  const config = loadConfig(dataDir, {
    port: values.port === undefined ? undefined : port(values.port, DEFAULT_PORT),
    token: values.token as string | undefined,
    allowOrigins: values['allow-origin'] as string[] | undefined,
    servers: values.server as string[] | undefined,
    publicKeys: values['public-key'] as string[] | undefined,
  });
  for (const origin of config.allowOrigins ?? []) {
    if (new URL(origin).origin !== origin) throw new CliError(`--allow-origin 应是不带路径的来源, 如 http://his.example:8080 (收到 ${origin})`);
  }
  const token = resolveToken(dataDir, config.token);
  const agent = await Agent.start({
    dataDir,
    port: config.port ?? DEFAULT_PORT,
    token,
    allowOrigins: config.allowOrigins,
    rulesFile: values.rules as string | undefined,
    uiDir: values['ui-dir'] as string | undefined,
    retentionDays: config.retentionDays,
    maxFrameBytes: config.maxFrameBytes,
    nhsaPopup: config.nhsaPopup,
    decisionTimeoutSeconds: config.decisionTimeoutSeconds,
    expiredHardLimitDays: config.expiredHardLimitDays,
    log: (line) => console.log(`[${new Date().toISOString()}] ${line}`),
  });
  const sync = wireSync(agent, {
    servers: config.servers ?? [],
    publicKeys: readPublicKeys(config.publicKeys ?? []),
    intervalMinutes: config.syncIntervalMinutes,
    reportUrl: config.reportUrl,
  });
  console.log(`RxGate ${AGENT_VERSION} 已启动`);
  console.log(`  HIS WebSocket: ${agent.url}   HTTP: http://127.0.0.1:${agent.port}/v1/`);
  console.log(`  令牌文件: ${join(dataDir, 'token')}`);
  console.log(`  数据目录: ${dataDir}`);
  console.log(`  界面: ${agent.uiUrl}`);
  if (!values['no-open']) {
    const opened = await openAppWindow(agent.uiUrl);
    if (!opened.opened) console.log(`  未能打开浏览器窗口 (${opened.reason}); 请手动打开上面的界面地址`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('正在停止…');
  await sync?.stop();
  await agent.stop();
  return 0;
}

/** Talks to a running agent on this PC, if there is one. */
async function callAgent(
  dataDir: string,
  path: string,
  method: 'GET' | 'POST',
  body?: unknown,
): Promise<{ status: number; json: unknown } | null> {
  const config = loadConfig(dataDir);
  const tokenFile = join(dataDir, 'token');
  const token = config.token ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  if (!token) return null;
  try {
    const response = await fetch(`http://127.0.0.1:${config.port ?? DEFAULT_PORT}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    return { status: response.status, json: await response.json().catch(() => null) };
  } catch {
    return null;
  }
}

async function rulesImport(values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const file = positionals[0];
  if (!file) throw new CliError('缺少规则库文件 — 用法: rxgate rules import FILE');
  if (!existsSync(file)) throw new CliError(`找不到文件: ${file}`);
  const dataDir = dataDirOf(values);
  const config = loadConfig(dataDir, { publicKeys: values['public-key'] as string[] | undefined });
  const outcome = await importRules(file, dataDir, { force: Boolean(values.force), publicKeys: readPublicKeys(config.publicKeys ?? []) });
  console.log(outcome.message);
  const reload = await callAgent(dataDir, '/v1/rules/reload', 'POST', {});
  if (reload && reload.status === 200) console.log('正在运行的代理已切换到新规则库');
  return 0;
}

async function status(values: Record<string, unknown>): Promise<number> {
  const dataDir = dataDirOf(values);
  const live = await callAgent(dataDir, '/v1/status', 'GET');
  let view: Record<string, unknown>;
  let running = false;
  if (live && live.status === 200 && live.json && typeof live.json === 'object') {
    view = live.json as Record<string, unknown>;
    running = true;
  } else {
    const dbFile = join(dataDir, 'rxgate.db');
    if (!existsSync(dbFile)) {
      view = { agentVersion: AGENT_VERSION, rules: null };
    } else {
      const store = openStore(dbFile);
      try {
        const active = store.libraryInfo().active;
        view = {
          agentVersion: AGENT_VERSION,
          rules: active
            ? { ...active, expired: active.expiresAt ? Date.parse(active.expiresAt) < Date.now() : false }
            : null,
          sync: store.getSetting('sync.status') ?? null,
        };
      } finally {
        store.close();
      }
    }
  }
  view.running = running;
  view.dataDir = dataDir;
  if (values.json) {
    console.log(JSON.stringify(view, null, 2));
    return 0;
  }
  const rules = view.rules as Record<string, unknown> | null;
  const sync = view.sync as Record<string, unknown> | null | undefined;
  console.log(`RxGate ${String(view.agentVersion)}  代理: ${running ? `运行中 (端口 ${String(view.port)})` : '未运行'}`);
  console.log(`数据目录: ${dataDir}`);
  if (!rules) console.log('规则库: 无 (首次启动时将载入内置演示规则库)');
  else {
    console.log(
      `规则库: 版本 ${String(rules.version)}  来源 ${sourceLabel(String(rules.source))}  共 ${String(rules.ruleCount)} 条` +
        `${rules.counts ? ` (${Object.entries(rules.counts as Record<string, number>).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`,
    );
    if (rules.publishedAt) console.log(`  发布时间: ${String(rules.publishedAt)}`);
    if (rules.appliedAt) console.log(`  应用时间: ${String(rules.appliedAt)}`);
    if (rules.expiresAt) console.log(`  有效期至: ${String(rules.expiresAt)}${rules.expired ? '  ⚠ 已过期! 请尽快同步或导入新规则包' : ''}`);
  }
  if (sync && sync.configured) {
    console.log(`同步: ${String(sync.lastResult ?? sync.state)}`);
    if (sync.lastAttemptAt) console.log(`  上次尝试: ${String(sync.lastAttemptAt)}`);
    if (sync.lastSuccessAt) console.log(`  上次成功: ${String(sync.lastSuccessAt)}`);
    if (sync.nextAttemptAt) console.log(`  下次尝试: ${String(sync.nextAttemptAt)}`);
  } else console.log('同步: 未配置规则服务器');
  return 0;
}

function sourceLabel(source: string): string {
  return ({ demo: '内置演示规则库', pack: '签名规则包', import: '导入', file: '文件' } as Record<string, string>)[source] ?? source;
}

async function syncCommand(values: Record<string, unknown>): Promise<number> {
  const dataDir = dataDirOf(values);
  const live = await callAgent(dataDir, '/v1/sync', 'POST', {});
  if (live && live.status === 200) {
    const result = live.json as { result: string; status?: { state?: string } };
    console.log(result.result);
    return result.status?.state === 'failed' ? 1 : 0;
  }
  const outcome = await syncOffline(dataDir);
  console.log(outcome.message);
  return outcome.ok ? 0 : 1;
}

async function hisSim(values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const file = positionals[0];
  if (!file) throw new CliError('缺少消息文件 — 用法: rxgate his-sim FILE');
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(`无法读取消息文件 ${file}: ${(error as Error).message}`);
  }
  // The shared examples wrap the message with a note; a bare message works too.
  const message = (document.message && typeof document.message === 'object' ? document.message : document) as Record<string, unknown>;
  const dataDir = dataDirOf(values);
  const config = loadConfig(dataDir);
  const targetPort = port(values.port, config.port ?? DEFAULT_PORT);
  const tokenFile = join(dataDir, 'token');
  const token = (values.token as string | undefined) ?? config.token ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  if (!token) throw new CliError(`没有令牌: 请用 --token 指定, 或先在数据目录 ${dataDir} 中启动过代理`);
  const waitSeconds = values.wait === undefined ? 300 : Number(values.wait);
  const json = Boolean(values.json);
  const print = (value: unknown, human: string) => console.log(json ? JSON.stringify(value) : human);
  const isNhsa = 'infno' in message;

  if (values.http) {
    const base = `http://127.0.0.1:${targetPort}`;
    const path = isNhsa ? `/nhsa/${String(message.infno)}` : '/v1/check';
    const response = await fetch(base + path, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(message),
    }).catch((error: Error) => {
      throw new CliError(`无法连接代理 ${base}: ${error.message}`);
    });
    const reply = (await response.json()) as Record<string, unknown>;
    if (isNhsa) {
      print(reply, formatNhsaResponse(reply));
      return reply.infcode === 0 ? 0 : 1;
    }
    if (reply.type === 'error') {
      print(reply, `错误 ${String(reply.code)}: ${String(reply.message)}${reply.path ? ` (${String(reply.path)})` : ''}`);
      return 1;
    }
    print(reply, formatVerdict(reply));
    if (reply.pending && waitSeconds > 0) {
      if (!json) console.log('等待医生在弹窗中处理…');
      const deadline = Date.now() + waitSeconds * 1000;
      while (Date.now() < deadline) {
        const poll = await fetch(`${base}/v1/decisions/${encodeURIComponent(String(reply.id))}?wait=${Math.min(30, Math.ceil((deadline - Date.now()) / 1000))}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        if (poll.status === 204) continue;
        const body = (await poll.json()) as Record<string, unknown>;
        print(body, body.type === 'decision' ? formatDecision(body) : `没有得到处理结果: ${String(body.message)}`);
        break;
      }
    }
    return 0;
  }

  const socket = new WebSocket(`ws://127.0.0.1:${targetPort}/v1?token=${encodeURIComponent(token)}`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => reject(new CliError(`代理拒绝连接 (HTTP ${response.statusCode}): ${text}`)));
    });
    socket.once('error', (error) => reject(new CliError(`无法连接代理 ws://127.0.0.1:${targetPort}/v1: ${error.message} (代理是否在运行?)`)));
  });
  try {
    return await new Promise<number>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      socket.on('message', (data) => {
        const reply = JSON.parse(data.toString()) as Record<string, unknown>;
        if (isNhsa) {
          print(reply, formatNhsaResponse(reply));
          return resolve(reply.infcode === 0 ? 0 : 1);
        }
        if (reply.type === 'error') {
          print(reply, `错误 ${String(reply.code)}: ${String(reply.message)}${reply.path ? ` (${String(reply.path)})` : ''}`);
          return resolve(1);
        }
        if (reply.type === 'verdict') {
          print(reply, formatVerdict(reply));
          if (!reply.pending || waitSeconds <= 0) {
            if (values.commit && reply.result !== 'unchecked') socket.send(JSON.stringify({ type: 'commit', id: reply.id }));
            else return resolve(0);
            return;
          }
          if (!json) console.log('等待医生在弹窗中处理…');
          timer = setTimeout(() => {
            if (!json) console.log(`${waitSeconds} 秒内没有收到处理结果`);
            resolve(0);
          }, waitSeconds * 1000);
          return;
        }
        if (reply.type === 'decision') {
          if (timer) clearTimeout(timer);
          print(reply, formatDecision(reply));
          if (values.commit && reply.outcome === 'proceed') socket.send(JSON.stringify({ type: 'commit', id: reply.id }));
          else return resolve(0);
          return;
        }
        if (reply.type === 'ack') {
          print(reply, `已提交: 记录 ${String(reply.recorded)} 项到本机处方台账`);
          return resolve(0);
        }
      });
      socket.on('close', () => resolve(1));
      socket.send(JSON.stringify(message));
    });
  } finally {
    socket.close();
  }
}

