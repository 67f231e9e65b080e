/**
 * `rxgate hub …`: the hub service and IT's commands for it (docs/hub.md). The connection
 * string may come from RXGATE_HUB_DATABASE instead of --database, so a password in it does
 * not show in the process list.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { BUILT_CONSOLE_DIR, packageRoot } from './paths';
import {
  DEFAULT_RETENTION,
  MAXIMUM_RETENTION_DAYS,
  MINIMUM_REVIEW_RETENTION_DAYS,
  describePurge,
  purgeExpired,
  retentionProblem,
  type RetentionSettings,
} from './retention';
import { loadOrCreateKeyFile, hashPassword, patientKeyer } from './security';
import { issueEnrolmentCode, startHubServer } from './server';
import { HubStore } from './store/hub-store';

/**
 * Database connections per hub process. Each batch and lookup holds one only for its own
 * statements, so a few per database core keep PostgreSQL busy; more just queue inside it.
 */
const DEFAULT_DB_CONNECTIONS = 8;

/** The hub's port when --port is not given. */
export const DEFAULT_HUB_PORT = 8720;

const USAGE = `用法:
  rxgate hub --database postgres://… [--listen ADDR] [--port N] [--tls-cert F --tls-key F] [--key-file F] [--console-dir DIR] [--db-connections N] [保留期限参数]
      运行院端中心 (默认监听 127.0.0.1:${DEFAULT_HUB_PORT}; 局域网请用 --listen 0.0.0.0 并配置 TLS);
      启动时和之后每天清除过期记录
  rxgate hub purge --database postgres://… [保留期限参数]
      立即清除过期记录并报告清除了多少
  rxgate hub enrol-code --database postgres://… [--hours N]
      生成一次性登记码, 在工作站上用它登记代理
  rxgate hub user add NAME --role reviewer|admin --database postgres://…
      新建控制台用户 (密码从标准输入读一行)
  rxgate hub user passwd NAME --database postgres://…
      修改控制台用户的密码 (从标准输入读一行)
  rxgate hub revoke AGENT_ID --database postgres://…
      吊销一个代理的凭据

保留期限参数 (天):
  --retention-days N            处方台账和事件记录, 默认 ${DEFAULT_RETENTION.ledgerDays} (与代理本机一致)
  --review-retention-days N     复核记录和规则触发记录, 默认 ${DEFAULT_RETENTION.decisionDays}, 至少 ${MINIMUM_REVIEW_RETENTION_DAYS}
  --audit-retention-days N      控制台访问审计, 默认 ${DEFAULT_RETENTION.consoleAuditDays}, 至少 ${MINIMUM_REVIEW_RETENTION_DAYS}

--database 也可用环境变量 RXGATE_HUB_DATABASE 给出。`;

const OPTIONS = {
  database: { type: 'string' },
  listen: { type: 'string' },
  port: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'key-file': { type: 'string' },
  'retention-days': { type: 'string' },
  'review-retention-days': { type: 'string' },
  'audit-retention-days': { type: 'string' },
  'console-dir': { type: 'string' },
  'db-connections': { type: 'string' },
  hours: { type: 'string' },
  role: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

/** Runs `rxgate hub …` with the arguments after `hub`; resolves to the exit code. */
export async function hubMain(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    console.error(`rxgate hub: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const [verb, ...rest] = positionals;
    if (verb === undefined) return await serve(values);
    if (verb === 'enrol-code') {
      const hours = integer(values.hours, 24, 1, 24 * 30, '--hours');
      return await withStore(values, async (store) => {
        const issued = await issueEnrolmentCode(store, 'cli', hours);
        console.log(`登记码: ${issued.code}\n有效期至: ${issued.expiresAt} (只能用一次)`);
        return 0;
      });
    }
    if (verb === 'user' && (rest[0] === 'add' || rest[0] === 'passwd') && rest[1]) {
      const username = rest[1];
      if (rest[0] === 'add' && values.role !== 'reviewer' && values.role !== 'admin') throw new UsageError('--role 应为 reviewer (医保办) 或 admin (信息科)');
      const password = await readPassword();
      if (password.length < 10) throw new UsageError('密码至少 10 位');
      return await withStore(values, async (store) => {
        const hash = await hashPassword(password);
        if (rest[0] === 'add') {
          if (await store.userByName(username)) throw new UsageError(`用户 ${username} 已存在`);
          await store.addUser(username, hash, values.role as 'reviewer' | 'admin');
          await store.audit('cli', 'user-add', { username, role: values.role });
          console.log(`已新建用户 ${username} (${values.role})`);
        } else {
          if (!(await store.setPassword(username, hash))) throw new UsageError(`没有用户 ${username}`);
          await store.audit('cli', 'user-passwd', { username });
          console.log(`已修改 ${username} 的密码`);
        }
        return 0;
      });
    }
    if (verb === 'purge' && rest.length === 0) {
      const retention = retentionSettings(values);
      return await withStore(values, async (store) => {
        console.log(describePurge(await purgeExpired(store, retention, new Date(), 'cli'), retention));
        return 0;
      });
    }
    if (verb === 'revoke' && rest[0]) {
      return await withStore(values, async (store) => {
        if (!(await store.revokeAgent(rest[0]!))) throw new UsageError(`没有代理 ${rest[0]}`);
        await store.audit('cli', 'revoke', { agent: rest[0] });
        console.log(`已吊销代理 ${rest[0]}`);
        return 0;
      });
    }
    throw new UsageError(`未知的子命令 "${positionals.join(' ')}"`);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`rxgate hub: ${error.message}`);
      return 2;
    }
    console.error(`rxgate hub: ${(error as Error).message.split('\n')[0]}`);
    return 1;
  }
}

type Values = Record<string, string | boolean | undefined>;

function databaseUrl(values: Values): string {
  const url = (values.database as string | undefined) ?? process.env.RXGATE_HUB_DATABASE;
  if (!url) throw new UsageError('需要 --database postgres://… (或环境变量 RXGATE_HUB_DATABASE)');
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UsageError('--database 应为 postgres://… 连接串');
  return url;
}

async function withStore(values: Values, work: (store: HubStore) => Promise<number>): Promise<number> {
  const store = await HubStore.open(databaseUrl(values), { maxConnections: 2 });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function integer(value: unknown, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) throw new UsageError(`${name} 无效: ${String(value)}`);
  return number;
}

function retentionSettings(values: Values): RetentionSettings {
  const days = (name: string, fallback: number): number => integer(values[name], fallback, 1, MAXIMUM_RETENTION_DAYS, `--${name}`);
  const settings = {
    ledgerDays: days('retention-days', DEFAULT_RETENTION.ledgerDays),
    decisionDays: days('review-retention-days', DEFAULT_RETENTION.decisionDays),
    consoleAuditDays: days('audit-retention-days', DEFAULT_RETENTION.consoleAuditDays),
  };
  const problem = retentionProblem(settings);
  if (problem) throw new UsageError(problem);
  return settings;
}

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('密码: ');
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line.trim();
  }
  return '';
}

/** The built console; built from source on first start in a checkout. */
async function consoleDirectory(values: Values, log: (line: string) => void): Promise<string | undefined> {
  if (values['console-dir']) return resolve(values['console-dir'] as string);
  const root = packageRoot();
  const built = join(root, BUILT_CONSOLE_DIR);
  if (existsSync(join(built, 'index.html'))) return built;
  if (!existsSync(join(root, 'hub', 'console', 'main.tsx'))) return undefined;
  // Required on demand: esbuild is a build tool, needed only when the console was not built yet.
  const { buildConsole } = require('./console/build') as typeof import('./console/build');
  await buildConsole({ outDir: built, log });
  return built;
}

async function serve(values: Values): Promise<number> {
  const log = (line: string): void => console.log(`[${new Date().toISOString()}] ${line}`);
  const port = integer(values.port, DEFAULT_HUB_PORT, 0, 65535, '--port');
  const retention = retentionSettings(values);
  const certFile = values['tls-cert'] as string | undefined;
  const keyFile = values['tls-key'] as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--tls-cert 和 --tls-key 要一起给出');
  const keyPath = resolve((values['key-file'] as string | undefined) ?? process.env.RXGATE_HUB_KEY_FILE ?? 'rxgate-hub.key');
  const { key, created } = loadOrCreateKeyFile(keyPath);
  if (created) log(`已生成患者标识密钥 ${keyPath} — 请备份; 其他院端进程须使用同一文件`);
  const keyer = patientKeyer(key);
  const connections = integer(values['db-connections'], DEFAULT_DB_CONNECTIONS, 1, 200, '--db-connections');
  const store = await HubStore.open(databaseUrl(values), { maxConnections: connections });
  if (!(await store.checkKeyFingerprint(keyer.fingerprint))) {
    await store.close();
    throw new Error(`患者标识密钥 ${keyPath} 与数据库中记录的不一致: 同一数据库的所有院端进程须使用同一密钥文件`);
  }
  const consoleDir = await consoleDirectory(values, log);
  const hub = await startHubServer({
    store,
    keyer,
    consoleDir,
    host: (values.listen as string | undefined) ?? '127.0.0.1',
    port,
    tls: certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined,
    log,
  });
  const purge = async (): Promise<void> => {
    try {
      const counts = await purgeExpired(store, retention, new Date(), 'hub');
      if (Object.values(counts).some((count) => count > 0)) log(describePurge(counts, retention));
    } catch (error) {
      log(`清除过期记录失败: ${(error as Error).message}`);
    }
  };
  await purge();
  const daily = setInterval(() => void purge(), 86_400_000);
  daily.unref();
  // Tests and service managers read this line to learn the address.
  console.log(`院端中心已启动: ${hub.url}`);
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  clearInterval(daily);
  await hub.close();
  await store.close();
  log('院端中心已停止');
  return 0;
}
