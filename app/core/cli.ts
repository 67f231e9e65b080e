/**
 * The `rxgate` command line (shared/spec/cli.md). IT scripts and installers rely on these
 * names and exit codes: every command has --help, exits non-zero with a one-line reason on
 * failure, and never prints patient data (his-sim prints only what the user's own file holds).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { WebSocket } from 'ws';
import { DEFAULT_LIFETIME_DAYS } from '../../rules-cache/pack';
import { openStore } from '../../rules-cache/store';
import { Agent } from './agent';
import {
  ConfigError,
  DEFAULT_PORT,
  defaultDataDir,
  loadConfig,
  readPublicKeys,
  readRuntimeFile,
  removeRuntimeFile,
  resolveSettings,
  resolveUiToken,
  writeHubCredential,
  writeRuntimeFile,
  writeUiAddressFile,
} from './config';
import { formatVerdict, formatDecision, formatNhsaResponse, ruleKindLabel, anchorStateLabel } from './format';
import { openAppWindow } from './open-browser';
import { syncOffline, wireSync } from './sync-wiring';
import { importRules } from './rules-import';
import { CliError } from './cli-error';
import { auditVerify } from './audit-command';
import { HubClient } from './hub-client';
import { hostname } from 'node:os';
import { createLogFile, logFilePath } from './log-file';
import type { IntegrityStatus, StatusView } from './protocol/ui';
import { checkFlagSettings, commandHelp, explainArgsError, type FlagHelp } from './cli-help';
import { ensureWritableDataDir } from './data-dir';
import { rulesBuild, rulesKeygen, rulesPublish } from './rules-commands';
import { AGENT_VERSION } from './version';
import { join } from 'node:path';


type Options = ParseArgsConfig['options'];

interface Command {
  usage: string;
  summary: string;
  options: Options;
  /** Meaning and default of each option, for --help. */
  flags: Record<string, FlagHelp>;
  run(values: Record<string, unknown>, positionals: string[]): Promise<number | void>;
}

const dataDirOption = { 'data-dir': { type: 'string' } } as const;
const dataDirFlag: Record<string, FlagHelp> = {
  'data-dir': { value: 'DIR', text: `数据目录 (规则库缓存、令牌、处方台账)。默认: 环境变量 RXGATE_DATA_DIR, 否则 ${defaultDataDir()}` },
};
const publicKeyFlag: FlagHelp = { value: 'FILE', text: '校验规则包签名的 Ed25519 公钥 (PEM 文件)。默认: 配置文件 publicKeys' };

/** How long his-sim waits for the doctor by default: long enough to read a popup and answer it. */
const HIS_SIM_DEFAULT_WAIT_SECONDS = 120;

const commands: Record<string, Command> = {
  agent: {
    usage:
      'rxgate agent [--data-dir DIR] [--port N] [--token T] [--allow-origin URL]… [--rules FILE] [--server URL]… [--public-key FILE]… [--nhsa-auth token|loopback] [--no-open]',
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
      'nhsa-auth': { type: 'string' },
      hub: { type: 'string' },
    },
    flags: {
      ...dataDirFlag,
      port: { value: 'N', text: `监听端口 (只在 127.0.0.1)。默认: 配置文件 port, 否则 ${DEFAULT_PORT}` },
      token: { value: 'T', text: '本机 HIS 程序连接用的令牌, 16–256 个字符。默认: 配置文件 token, 否则首次启动时生成并存于数据目录的 token 文件' },
      'allow-origin': { value: 'URL', text: '允许连接的浏览器版 HIS 来源, 带 http(s)://, 写到端口为止, 如 http://his.hospital.local:8080。默认: 配置文件 allowOrigins, 否则不允许' },
      rules: { value: 'FILE', text: '启动时载入的 JSON 规则库 (测试用)。默认: 数据目录中的缓存, 否则内置演示规则库' },
      server: { value: 'URL', text: '规则服务器: 网址、共享文件夹 (\\\\server\\share) 或文件夹路径。默认: 配置文件 servers, 否则不同步' },
      'public-key': publicKeyFlag,
      'no-open': { text: '不自动打开浏览器窗口 (界面地址写入数据目录的 ui-address.txt)。默认: 打开' },
      'ui-dir': { value: 'DIR', text: '界面文件所在目录 (开发用)。默认: 随程序的 dist/renderer' },
      hub: { value: 'URL', text: '院端中心地址 (docs/hub.md); 本机须先用 rxgate enrol 登记。默认: 配置文件 hubUrl, 否则不连接' },
      'nhsa-auth': {
        value: 'token|loopback',
        text: '国家接口 /nhsa… 的认证: token 需要令牌; loopback 本机程序免令牌 (只用于单人使用的工作站, 见 docs/operations.md 第 12 节)。默认: 配置文件 nhsaAuth, 否则 token',
      },
    },
    run: runAgent,
  },
  'rules import': {
    usage: 'rxgate rules import FILE [--data-dir DIR] [--public-key FILE]… [--force]',
    summary: '把签名规则包 (目录或 manifest.json) 或 JSON 规则库导入本机缓存, 校验方式与同步相同',
    options: { ...dataDirOption, force: { type: 'boolean' }, 'public-key': { type: 'string', multiple: true } },
    flags: {
      ...dataDirFlag,
      force: { text: 'JSON 规则库版本不高于当前规则库也导入 (降级用; 签名规则包不能强制)。默认: 只导入更高版本' },
      'public-key': publicKeyFlag,
    },
    run: rulesImport,
  },
  'rules keygen': {
    usage: 'rxgate rules keygen --out DIR',
    summary: '生成 Ed25519 密钥对: DIR/private.pem (仅所有者可读) 和 DIR/public.pem',
    options: { out: { type: 'string' } },
    flags: { out: { value: 'DIR', text: '密钥输出目录 (必填); 已有私钥时不会覆盖' } },
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
    flags: {
      key: { value: 'PRIVATE', text: '签名用的私钥文件 (rules keygen 生成的 private.pem), 必填' },
      out: { value: 'DIR', text: '规则包输出目录, 必填' },
      version: { value: 'N', text: '规则包版本号, 正整数, 须高于已发布的版本。默认: 构建时间 YYYYMMDDHHmm' },
      expires: { value: 'DATE', text: `有效期截止日 YYYY-MM-DD (当天 23:59 北京时间) 或完整时间。默认: 构建后 ${DEFAULT_LIFETIME_DAYS} 天` },
      'min-agent-version': { value: 'X.Y.Z', text: '需要的最低客户端版本。默认: 不限' },
      catalogue: { value: 'FILE', text: '本院在用的国家药品编码 (每行一个); 规则中的药品编码一个都对不上时给出提醒 (多为笔误)。默认: 不核对' },
    },
    run: rulesBuild,
  },
  'rules publish': {
    usage: 'rxgate rules publish DIR --to WWWDIR [--public-key FILE]…',
    summary: '把规则包布置到静态网站目录或共享文件夹 (清单固定路径, 规则包按哈希命名)',
    options: { to: { type: 'string' }, 'public-key': { type: 'string', multiple: true } },
    flags: {
      to: { value: 'WWWDIR', text: '静态网站根目录或共享文件夹, 必填; 写入其中的 rxgate/ 子目录' },
      'public-key': { value: 'FILE', text: '用这些公钥校验新包和已发布的清单。默认: 规则包目录中的 public.pem' },
    },
    run: rulesPublish,
  },
  status: {
    usage: 'rxgate status [--data-dir DIR] [--json]',
    summary: '显示版本、规则库与同步状态',
    options: { ...dataDirOption, json: { type: 'boolean' } },
    flags: { ...dataDirFlag, json: { text: '以 JSON 输出 (供脚本使用)。默认: 中文文字' } },
    run: status,
  },
  sync: {
    usage: 'rxgate sync [--data-dir DIR]',
    summary: '立即同步规则',
    options: { ...dataDirOption },
    flags: { ...dataDirFlag },
    run: syncCommand,
  },
  enrol: {
    usage: 'rxgate enrol --code CODE [--hub URL] [--data-dir DIR]',
    summary: '用信息科给的一次性登记码把本机登记到院端中心, 凭据存于数据目录 (hub-credential, 仅所有者可读)',
    options: { ...dataDirOption, code: { type: 'string' }, hub: { type: 'string' } },
    flags: {
      ...dataDirFlag,
      code: { value: 'CODE', text: '院端中心生成的一次性登记码, 必填' },
      hub: { value: 'URL', text: '院端中心地址。默认: 配置文件 hubUrl' },
    },
    run: enrolCommand,
  },
  'audit verify': {
    usage: 'rxgate audit verify [--data-dir DIR] [--json]',
    summary: '校验本机审计记录链 (密钥、锚点), 打印链头; 完整时退出码 0, 否则 1',
    options: { ...dataDirOption, json: { type: 'boolean' } },
    flags: { ...dataDirFlag, json: { text: '以 JSON 输出校验结果 (供脚本使用)。默认: 中文文字' } },
    run: (values) => auditVerify(values, dataDirOf(values)),
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
    flags: {
      ...dataDirFlag,
      port: { value: 'N', text: `代理端口。默认: 配置文件 port, 否则 ${DEFAULT_PORT}` },
      token: { value: 'T', text: '令牌。默认: 配置文件 token, 否则数据目录的 token 文件' },
      http: { text: '用 HTTP 发送 (3101 发到 /nhsa/3101)。默认: WebSocket' },
      json: { text: '原样打印收到的 JSON。默认: 中文摘要' },
      wait: { value: 'SECONDS', text: `等待医生在弹窗中处理的秒数, 0 表示不等。默认: ${HIS_SIM_DEFAULT_WAIT_SECONDS}` },
      commit: { text: '医生确认后发送 commit (记入本机处方台账)。默认: 不发送' },
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

/** `rxgate rules` and `rxgate rules --help`: the rule-pack commands. */
function groupText(group: string): string {
  const lines = [`rxgate ${group} 的子命令:`];
  for (const [name, command] of Object.entries(commands)) {
    if (name.startsWith(`${group} `)) lines.push(`  ${command.usage}`, `      ${command.summary}`);
  }
  lines.push('', `每个子命令都支持 --help, 如 rxgate ${group} build --help。`);
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
  const isGroup = Object.keys(commands).some((candidate) => candidate.startsWith(`${first} `));
  if (!command && isGroup) {
    const asksHelp = !second || second === '--help' || second === '-h' || second === 'help';
    if (asksHelp) console.log(groupText(first));
    else console.error(`rxgate: 未知命令 "${first} ${second}" — 运行 rxgate ${first} --help 查看 ${first} 的子命令`);
    return asksHelp && second ? 0 : 2;
  }
  if (!command) {
    console.error(`rxgate: 未知命令 "${[first, second].filter(Boolean).join(' ')}" — 运行 rxgate --help 查看可用命令`);
    return 2;
  }
  const rest = argv.slice(name.split(' ').length);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(commandHelp(command));
    return 0;
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    console.error(`rxgate ${name}: ${explainArgsError(error, name, command.options)}`);
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

function nhsaAuthOf(value: unknown): 'token' | 'loopback' | undefined {
  if (value === undefined || value === 'token' || value === 'loopback') return value;
  throw new CliError(`--nhsa-auth 只能是 token 或 loopback (收到 ${String(value)})`, 2);
}

function dataDirOf(values: Record<string, unknown>): string {
  return (values['data-dir'] as string | undefined) ?? defaultDataDir();
}

async function runAgent(values: Record<string, unknown>): Promise<number> {
  const dataDir = dataDirOf(values);
  const flagSettings = {
    port: values.port === undefined ? undefined : port(values.port, DEFAULT_PORT),
    token: values.token as string | undefined,
    allowOrigins: values['allow-origin'] as string[] | undefined,
    servers: values.server as string[] | undefined,
    publicKeys: values['public-key'] as string[] | undefined,
    nhsaAuth: nhsaAuthOf(values['nhsa-auth']),
    hubUrl: values.hub as string | undefined,
  };
  // The port was checked above: 0 (any free port) is fine on the command line.
  const flagProblem = checkFlagSettings({ ...flagSettings, port: undefined });
  if (flagProblem) throw new CliError(flagProblem, 2);
  ensureWritableDataDir(dataDir);
  const config = loadConfig(dataDir, flagSettings);
  for (const origin of config.allowOrigins ?? []) {
    const parsed = URL.canParse(origin) ? new URL(origin) : null;
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new CliError(`--allow-origin 应是带 http:// 或 https:// 、不带路径的来源, 如 http://his.example:8080 (收到 ${origin})`);
    }
  }
  const settings = resolveSettings(dataDir, config);
  // The same log file the desktop app keeps (docs/deployment.md): a service's console output
  // is often nowhere IT can find it.
  const logFile = createLogFile({ path: logFilePath(dataDir) });
  // A sync set-up IT got wrong (a key file that is not there, a server address that is not
  // one, servers without a key) stops the agent here, with the reason and a non-zero exit, so
  // that a service manager shows it failed instead of a PC running old rules for ever.
  const syncOptions = settings.sync();
  const agent = await Agent.start({
    ...settings.agent,
    rulesFile: values.rules as string | undefined,
    uiDir: values['ui-dir'] as string | undefined,
    uiToken: resolveUiToken(dataDir),
    log: (line) => {
      console.log(`[${new Date().toISOString()}] ${line}`);
      logFile(line);
    },
  });
  if (settings.hubNotEnrolled) {
    console.log(`已配置院端中心 ${config.hubUrl}, 但本机尚未登记, 暂不连接: 请运行 rxgate enrol --code 登记码 (登记码由信息科在院端中心生成)`);
  }
  let sync: ReturnType<typeof wireSync>;
  try {
    sync = wireSync(agent, syncOptions);
  } catch (error) {
    await agent.stop();
    throw new CliError(`规则同步设置有误, 代理未启动: ${(error as Error).message}`);
  }
  writeRuntimeFile(dataDir, { pid: process.pid, port: agent.port, startedAt: agent.startedAt.toISOString() });
  console.log(`RxGate ${AGENT_VERSION} 已启动`);
  console.log(`  HIS WebSocket: ${agent.url}   HTTP: http://127.0.0.1:${agent.port}/v1/`);
  console.log(`  令牌文件: ${join(dataDir, 'token')}`);
  console.log(`  数据目录: ${dataDir}`);
  // The UI's full address carries its token: it goes to an owner-only file, never to the
  // console, whose output ends up in service logs; the console shows the address without it.
  console.log(`  界面: http://127.0.0.1:${agent.port}/ui/ (含令牌的完整地址见 ${writeUiAddressFile(dataDir, agent.uiUrl)})`);
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
  removeRuntimeFile(dataDir);
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
  // The running agent says where it listens, whatever flags started it.
  const agentPort = readRuntimeFile(dataDir)?.port ?? config.port ?? DEFAULT_PORT;
  try {
    const response = await fetch(`http://127.0.0.1:${agentPort}${path}`, {
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
  ensureWritableDataDir(dataDir);
  const config = loadConfig(dataDir, { publicKeys: values['public-key'] as string[] | undefined });
  const outcome = await importRules(file, dataDir, { force: Boolean(values.force), publicKeys: readPublicKeys(config.publicKeys ?? []) });
  console.log(outcome.message);
  const reload = await callAgent(dataDir, '/v1/rules/reload', 'POST', {});
  if (reload && reload.status === 200) console.log('正在运行的代理已切换到新规则库');
  return 0;
}

async function enrolCommand(values: Record<string, unknown>): Promise<number> {
  const dataDir = dataDirOf(values);
  const code = values.code as string | undefined;
  if (!code) throw new CliError('缺少 --code: 请填写信息科在院端中心生成的一次性登记码', 2);
  const hubUrl = (values.hub as string | undefined) ?? loadConfig(dataDir).hubUrl;
  if (!hubUrl) throw new CliError('不知道院端中心的地址: 请用 --hub URL 指定, 或在配置文件中写 hubUrl', 2);
  const reply = await new HubClient({ url: hubUrl }).enrol({ code, pcName: hostname().slice(0, 128) || 'unknown', agentVersion: AGENT_VERSION });
  const file = writeHubCredential(dataDir, reply.credential);
  console.log(`已登记到院端中心 ${hubUrl} (本机编号 ${reply.agentId}); 凭据已存于 ${file}`);
  if (!loadConfig(dataDir).hubUrl && values.hub) console.log('请在配置文件中写上 hubUrl, 或启动代理时加 --hub, 代理才会连接院端中心');
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
        `${rules.counts ? ` (${Object.entries(rules.counts as Record<string, number>).map(([kind, count]) => `${ruleKindLabel(kind)} ${count}`).join(', ')})` : ''}`,
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
  const integrity = view.integrity as IntegrityStatus | undefined;
  if (integrity) {
    if (integrity.ok) {
      const head = integrity.audit.head ? ` 链头第 ${integrity.audit.head.seq} 条` : '';
      console.log(`数据完整性: 正常 (审计记录${integrity.audit.state === 'verified' ? '已校验' : '校验中'}${head})`);
    } else {
      console.log('数据完整性: ⚠ 有问题');
      for (const problem of integrity.problems) console.log(`  - ${problem}`);
    }
  }
  const hub = view.hub as StatusView['hub'];
  if (hub) {
    console.log(`院端中心: ${hub.state}, 待发送 ${hub.backlog} 条${hub.lastDeliveredAt ? `, 上次送达 ${hub.lastDeliveredAt}` : ''}`);
    if (hub.lastError) console.log(`  上次错误: ${hub.lastError.message}`);
    if (hub.anchor && hub.anchor.state !== 'ok' && hub.anchor.state !== 'none') {
      console.log(`  ⚠ 院端发现本机审计记录${anchorStateLabel(hub.anchor.state)}${hub.anchor.detail ? `: ${hub.anchor.detail}` : ''} (请信息科核查)`);
    }
  }
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
  ensureWritableDataDir(dataDir);
  const outcome = await syncOffline(dataDir);
  console.log(outcome.message);
  return outcome.ok ? 0 : 1;
}

/** Why a connection to the agent failed, in words IT can act on. */
function connectionFailure(error: Error, targetPort: number): string {
  const code = (error as NodeJS.ErrnoException).code ?? ((error as Error & { cause?: NodeJS.ErrnoException }).cause?.code);
  if (code === 'ECONNREFUSED') {
    return `端口 ${targetPort} 上没有代理在运行 — 请先启动代理 (rxgate agent 或桌面版), 或用 --port 指定它的端口`;
  }
  return `${error.message} (代理是否在运行?)`;
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
  if (Array.isArray(document.rules)) {
    throw new CliError(
      `${file} 是规则库, 不是 HIS 消息 — 导入规则库请用 rxgate rules import ${file}; his-sim 要的是 check 消息或 3101 请求, 如 examples/check-indication.json`,
    );
  }
  // The shared examples wrap the message with a note; a bare message works too.
  const message = (document.message && typeof document.message === 'object' ? document.message : document) as Record<string, unknown>;
  const dataDir = dataDirOf(values);
  const config = loadConfig(dataDir);
  const targetPort = port(values.port, readRuntimeFile(dataDir)?.port ?? config.port ?? DEFAULT_PORT);
  const tokenFile = join(dataDir, 'token');
  const token = (values.token as string | undefined) ?? config.token ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  if (!token) throw new CliError(`没有令牌: 请用 --token 指定, 或先在数据目录 ${dataDir} 中启动过代理`);
  const waitSeconds = values.wait === undefined ? HIS_SIM_DEFAULT_WAIT_SECONDS : Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new CliError(`--wait 应为不小于 0 的秒数, 收到 ${String(values.wait)}`, 2);
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
      throw new CliError(`无法连接代理 ${base}: ${connectionFailure(error, targetPort)}`);
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
      let answered = false;
      while (Date.now() < deadline) {
        const poll = await fetch(`${base}/v1/decisions/${encodeURIComponent(String(reply.id))}?wait=${Math.min(30, Math.ceil((deadline - Date.now()) / 1000))}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        if (poll.status === 204) continue;
        const body = (await poll.json()) as Record<string, unknown>;
        print(body, body.type === 'decision' ? formatDecision(body) : `没有得到处理结果: ${String(body.message)}`);
        answered = true;
        break;
      }
      if (!answered && !json) console.log(`${waitSeconds} 秒内没有收到处理结果 (弹窗仍在等待医生; 用 --wait 调整等待时间)`);
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
    socket.once('error', (error) => reject(new CliError(`无法连接代理 ws://127.0.0.1:${targetPort}/v1: ${connectionFailure(error, targetPort)}`)));
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
            if (!json) console.log(`${waitSeconds} 秒内没有收到处理结果 (弹窗仍在等待医生; 用 --wait 调整等待时间)`);
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

