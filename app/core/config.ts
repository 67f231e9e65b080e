/**
 * Where the agent's settings come from, lowest to highest precedence: built-in defaults, the
 * machine-wide config written at install time, the config file in the data folder, then
 * command-line flags. IT scripts rely on this order (cli.md).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_RETENTION_DAYS } from '../../rules-cache/store';
import { isServerAddress, parseServerAddress } from '../../rules-cache/server-address';
import { describeIssue, issuePath } from './zod-messages';

export const DEFAULT_PORT = 17380;

const allowOriginMessage = '应是完整的来源, 带 http:// 或 https://, 写到端口为止, 如 http://his.hospital.local:8080';

/**
 * The value each setting has when no config file or flag gives one, beside the schema so that
 * the two are read together; the agent, the desktop app and docs/deployment.md take them from here.
 */
export const SETTING_DEFAULTS = {
  port: DEFAULT_PORT,
  retentionDays: DEFAULT_RETENTION_DAYS,
  maxFrameBytes: 1024 * 1024,
  nhsaPopup: false,
  nhsaAuth: 'token',
  nhsaTokenHeaders: [] as string[],
  nhsaExtraFields: false,
  titleCodes: 'standard',
  expiredHardLimitDays: 30,
  decisionTimeoutSeconds: 30 * 60,
  /** Unread bytes after which a WebSocket client is dropped. */
  maxBufferedBytes: 8 * 1024 * 1024,
  /** Popups held at once; beyond it the oldest is closed and its HIS told `decision_timeout`. */
  maxPending: 500,
} as const;

export const ConfigFile = z
  .object({
    port: z.number().int().min(1).max(65535).optional(),
    token: z.string().min(16).max(256).optional(),
    allowOrigins: z.array(z.string().url({ error: allowOriginMessage })).optional(),
    /** Rule servers: URLs, UNC paths or folder paths (rules-cache/server-address.ts). */
    servers: z
      .array(z.string().min(1).refine(isServerAddress, { error: (issue) => parseServerAddressError(String(issue.input)) }))
      .optional(),
    /** PEM text or paths of PEM files: the current key and the next one, for rotation. */
    publicKeys: z.array(z.string().min(1)).optional(),
    retentionDays: z.number().int().min(1).max(3650).optional(),
    maxFrameBytes: z.number().int().min(1024).max(16 * 1024 * 1024).optional(),
    syncIntervalMinutes: z.number().min(1).max(24 * 60).optional(),
    reportUrl: z.string().url().optional(),
    /** Whether 3101 requests also get RxGate's popup (a national-interface HIS usually shows its own). */
    nhsaPopup: z.boolean().optional(),
    /**
     * Who may call `/nhsa…`: `token` (Bearer, or a header in `nhsaTokenHeaders`) or
     * `loopback` (native processes on this PC need none; docs/operations.md says when that is safe).
     */
    nhsaAuth: z.enum(['token', 'loopback']).optional(),
    /** Headers that may carry the token on `/nhsa…` besides `Authorization: Bearer` (e.g. `apikey`). */
    nhsaTokenHeaders: z.array(z.string().regex(/^[A-Za-z0-9-]{1,64}$/)).max(10).optional(),
    /** Add RxGate's own top-level fields (`rxgate_result`, `rxgate_pending`) to national replies. */
    nhsaExtraFields: z.boolean().optional(),
    /** `reversed` where the HIS numbers doctors' titles 1–5 from 士级 up instead of from 正高 (rules.md v2). */
    titleCodes: z.enum(['standard', 'reversed']).optional(),
    /** Days a library may be past its expiry and still check; after that checks answer `unchecked`. */
    expiredHardLimitDays: z.number().int().min(0).max(3650).optional(),
    /** The hospital hub (docs/hub.md); the credential from `rxgate enrol` is in DATA/hub-credential. */
    hubUrl: z.string().url().optional(),
    /** How long a check waits for the patient's history from the hub, in ms; then it goes on without. */
    hubBudgetMs: z.number().int().min(1).max(1000).optional(),
    /** Unread bytes after which a WebSocket client that does not read is dropped. */
    maxBufferedBytes: z.number().int().min(64 * 1024).max(256 * 1024 * 1024).optional(),
    /** Popups held at once; beyond it the oldest is closed and its HIS told `decision_timeout`. */
    maxPending: z.number().int().min(1).max(5000).optional(),
    /** How long a held check waits for the doctor before the HIS is told it timed out. */
    decisionTimeoutSeconds: z.number().int().min(10).max(24 * 3600).optional(),
  })
  .strict();
export type ConfigFile = z.infer<typeof ConfigFile>;

function parseServerAddressError(address: string): string {
  const parsed = parseServerAddress(address);
  return 'error' in parsed ? parsed.error : '';
}

/** The user's data folder, matching where Electron keeps `userData` for the app. */
export function defaultDataDir(): string {
  if (process.env.RXGATE_DATA_DIR) return process.env.RXGATE_DATA_DIR;
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'RxGate');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'RxGate');
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'RxGate');
}

/** The machine-wide config the installer writes (docs/deployment.md). */
export function machineConfigPath(): string {
  if (process.env.RXGATE_MACHINE_CONFIG) return process.env.RXGATE_MACHINE_CONFIG;
  if (process.platform === 'win32') return join(process.env.ProgramData ?? 'C:\\ProgramData', 'RxGate', 'config.json');
  return '/etc/rxgate/config.json';
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates one config file; a missing file is simply empty. */
export function readConfigFile(path: string): ConfigFile {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new ConfigError(`配置文件不是有效的 JSON: ${path}: ${(error as Error).message}`);
  }
  const result = ConfigFile.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`配置文件有误: ${path}: ${issuePath(issue)}: ${describeIssue(issue)} — 请改正后重新启动 (字段说明见部署说明)`);
  }
  return result.data;
}

/** Merged configuration: machine-wide, then the data folder's, then explicit overrides. */
export function loadConfig(dataDir: string, overrides: ConfigFile = {}): ConfigFile {
  const merged: ConfigFile = {
    ...readConfigFile(machineConfigPath()),
    ...readConfigFile(join(dataDir, 'config.json')),
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined && !(Array.isArray(value) && value.length === 0)) {
      (merged as Record<string, unknown>)[key] = value;
    }
  }
  return merged;
}

/**
 * The native-client token: from configuration, else the one generated at first start and
 * kept in the data folder (owner-only), so the HIS integration keeps working across restarts.
 */
export function resolveToken(dataDir: string, configured: string | undefined): string {
  return configured || keptToken(join(dataDir, 'token'));
}

/**
 * The headless UI's token, kept in the data folder (owner-only) so that a browser window left
 * open reconnects after the agent restarts instead of knocking with a token that is gone.
 */
export function resolveUiToken(dataDir: string): string {
  return keptToken(join(dataDir, 'ui-token'));
}

/** The token saved in `file`, or a new random one saved there owner-only. */
function keptToken(file: string): string {
  if (existsSync(file)) {
    const saved = readFileSync(file, 'utf8').trim();
    if (saved.length >= 16) return saved;
  }
  const token = randomBytes(24).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** Where `rxgate enrol` keeps this PC's hub credential (owner-only). */
export function hubCredentialPath(dataDir: string): string {
  return join(dataDir, 'hub-credential');
}

export function readHubCredential(dataDir: string): string | undefined {
  const file = hubCredentialPath(dataDir);
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8').trim();
  return text === '' ? undefined : text;
}

export function writeHubCredential(dataDir: string, credential: string): string {
  const file = hubCredentialPath(dataDir);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${credential}\n`, { mode: 0o600 });
  return file;
}

/** Public keys may be given as PEM text or as paths to PEM files. */
export function readPublicKeys(entries: string[]): string[] {
  return entries.map((entry) => {
    if (entry.includes('BEGIN PUBLIC KEY')) return entry;
    if (!existsSync(entry)) throw new ConfigError(`找不到公钥文件: ${entry}`);
    return readFileSync(entry, 'utf8');
  });
}

/**
 * What the agent and the sync client are started with, from merged configuration: the one
 * place where each config key becomes an agent setting, for the headless agent and the
 * desktop app alike (a test checks that every key of {@link ConfigFile} arrives).
 */
/**
 * The agent's settings that come from configuration (the agent adds runtime ones: clock, log,
 * UI folder). Unset ones take {@link SETTING_DEFAULTS}.
 */
export interface AgentSettings {
  dataDir: string;
  /** 0 picks a free port (tests). */
  port?: number;
  token: string;
  allowOrigins?: string[];
  retentionDays?: number;
  maxFrameBytes?: number;
  /** Whether 3101 checks also get RxGate's popup. */
  nhsaPopup?: boolean;
  /** `/nhsa…` authentication (protocol.md "Drop-in national interface"). */
  nhsaAuth?: 'token' | 'loopback';
  /** Headers besides `Authorization: Bearer` that may carry the token on `/nhsa…` (e.g. `apikey`). */
  nhsaTokenHeaders?: string[];
  /** Add RxGate's own top-level fields to national replies. */
  nhsaExtraFields?: boolean;
  /** How the HIS numbers doctors' titles 1–5 (`standard`: 1 正高 … 5 士级). */
  titleCodes?: 'standard' | 'reversed';
  /** Unread bytes after which a WebSocket client is dropped. */
  maxBufferedBytes?: number;
  /** Popups held at once; beyond it the oldest is closed and its HIS told `decision_timeout`. */
  maxPending?: number;
  decisionTimeoutSeconds?: number;
  /** Days past its expiry after which a library no longer checks. */
  expiredHardLimitDays?: number;
}

export interface ResolvedSettings {
  agent: AgentSettings & { port: number; allowOrigins: string[]; hub?: { url: string; credential: string; budgetMs?: number } };
  /** `hubUrl` is set but this PC was never enrolled (no DATA/hub-credential): say so, run alone. */
  hubNotEnrolled: boolean;
  /**
   * The sync settings, read on demand: a missing key file is a sync problem to show in the
   * status, not a reason for the agent not to start.
   */
  sync: () => { servers: string[]; publicKeys: string[]; intervalMinutes?: number; reportUrl?: string };
}

export function resolveSettings(dataDir: string, config: ConfigFile): ResolvedSettings {
  const credential = config.hubUrl ? readHubCredential(dataDir) : undefined;
  return {
    hubNotEnrolled: config.hubUrl !== undefined && credential === undefined,
    agent: {
      dataDir,
      port: config.port ?? DEFAULT_PORT,
      token: resolveToken(dataDir, config.token),
      allowOrigins: config.allowOrigins ?? [],
      retentionDays: config.retentionDays,
      maxFrameBytes: config.maxFrameBytes,
      nhsaPopup: config.nhsaPopup,
      nhsaAuth: config.nhsaAuth,
      nhsaTokenHeaders: config.nhsaTokenHeaders,
      nhsaExtraFields: config.nhsaExtraFields,
      titleCodes: config.titleCodes,
      maxBufferedBytes: config.maxBufferedBytes,
      maxPending: config.maxPending,
      hub: config.hubUrl && credential ? { url: config.hubUrl, credential, budgetMs: config.hubBudgetMs } : undefined,
      decisionTimeoutSeconds: config.decisionTimeoutSeconds,
      expiredHardLimitDays: config.expiredHardLimitDays,
    },
    sync: () => ({
      servers: config.servers ?? [],
      publicKeys: readPublicKeys(config.publicKeys ?? []),
      intervalMinutes: config.syncIntervalMinutes,
      reportUrl: config.reportUrl,
    }),
  };
}

/**
 * The running agent's address, written to the data folder when it starts listening and
 * removed when it stops, so `rxgate status`, `sync` and `his-sim` find it whatever flags
 * started it. Holds no secret: the token stays in its own owner-only file.
 */
export const RuntimeFile = z.object({ pid: z.number().int(), port: z.number().int().min(1).max(65535), startedAt: z.string() });
export type RuntimeFile = z.infer<typeof RuntimeFile>;

export function runtimeFilePath(dataDir: string): string {
  return join(dataDir, 'agent.json');
}

export function writeRuntimeFile(dataDir: string, runtime: RuntimeFile): void {
  const path = runtimeFilePath(dataDir);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(runtime)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

export function removeRuntimeFile(dataDir: string, pid = process.pid): void {
  const current = readRuntimeFile(dataDir);
  if (current?.pid === pid) rmSync(runtimeFilePath(dataDir), { force: true });
}

/** The running agent's address, or null when none is recorded (or the file is unreadable). */
export function readRuntimeFile(dataDir: string): RuntimeFile | null {
  try {
    return RuntimeFile.parse(JSON.parse(readFileSync(runtimeFilePath(dataDir), 'utf8')));
  } catch {
    return null;
  }
}

/**
 * Where the UI's address (it carries the UI token) is written for the person who started
 * the agent: an owner-only file, because standard output ends up in service logs.
 */
export function writeUiAddressFile(dataDir: string, url: string): string {
  const path = join(dataDir, 'ui-address.txt');
  writeFileSync(path, `${url}\n`, { mode: 0o600 });
  return path;
}
