/**
 * The rule-pack sync client: polls the hospital's rule server(s), verifies what it finds and
 * hands a verified library to the agent (product.md "Rule distribution"; operations in
 * docs/operations.md).
 *
 * The order of one attempt, per server until one answers properly:
 * conditional GET of the manifest (304 → nothing to do) → signature → same version (nothing to
 * do) → declared size, newer, not expired, agent new enough → download the pack, capped →
 * hash, gunzip, schema → `apply`. Any failure leaves the active rules untouched (apply is never
 * called), is recorded in status in words IT can act on, and pushes the next attempt back.
 */
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { SyncStatus } from '../app/core/protocol/ui';
import type { RuleLibrary } from './model';
import { parseServerAddress } from './server-address';
import {
  DEFAULT_MAX_PACK_BYTES,
  MAX_MANIFEST_BYTES,
  MAX_SIGNATURE_BYTES,
  MANIFEST_FILE,
  PUBLISHED_FOLDER,
  PackError,
  checkManifest,
  currentAgentVersion,
  keyId,
  verifyManifest,
  verifyPack,
  type PackErrorCode,
  type VerifiedManifest,
} from './pack';

/** Why a sync attempt failed: a pack's own refusal, or a transport or local problem. */
export type SyncErrorCode =
  | PackErrorCode
  | 'unreachable'
  | 'timeout'
  | 'http_error'
  | 'apply_failed'
  | 'cancelled'
  | 'internal_error';

/** What survives a restart: ETags (so the first poll after a reboot can be a cheap 304) and results. */
export interface SyncState {
  /** Per manifest URL: the ETag last seen and the manifest version it stood for. */
  etags: Record<string, { etag: string; version: number }>;
  consecutiveFailures: number;
  lastAttemptAt?: string;
  lastSuccessAt?: string;
  lastResult?: string;
  lastErrorCode?: string;
  /** The last pack this client applied, so status can tell when it expires. */
  applied?: { version: number; packId: string; keyId: string; expiresAt: string; server: string; at: string };
}

/** How to reach the rule server and how to hand a verified library to the agent. */
export interface SyncOptions {
  /**
   * Base URLs of the rule server and its mirrors, tried in order: the web root that holds
   * `rxgate/manifest.json` (or that folder itself, or the manifest's own URL). `http:`,
   * `https:` and `file:` (a shared folder, e.g. `file://fileserver/rxgate-www/`), or a folder
   * path as IT writes it (`\\fileserver\rxgate-www`, `D:\rxgate-www`, `/mnt/rxgate-www`).
   */
  servers: readonly string[];
  /** Pinned Ed25519 public keys (PEM): normally the current key and the next one. */
  publicKeys: readonly string[];
  /** Version of the library active now. */
  activeVersion(): number;
  /** Expiry of the active library, when the agent knows it; used only to warn in status. */
  activeExpiresAt?(): string | undefined;
  /** Applies a verified library (the agent: one SQLite transaction, then swaps its index). */
  apply(library: RuleLibrary, manifest: VerifiedManifest): Promise<void> | void;
  loadState?(): SyncState | undefined | Promise<SyncState | undefined>;
  saveState?(state: SyncState): void | Promise<void>;
  /** Normal polling interval; default 15 minutes, each wait jittered ±20%. */
  intervalMs?: number;
  /** The first poll after `start()` comes at a random moment within this; default 60 s. */
  startDelayMaxMs?: number;
  /** First retry delay after a failure, doubled each further failure; default 60 s. */
  backoffBaseMs?: number;
  /** Cap on the retry delay; default 60 minutes. */
  backoffMaxMs?: number;
  /** Per request: until the response starts, and between any two chunks of its body; default 15 s. */
  timeoutMs?: number;
  /**
   * The whole attempt, every server and request included; default 5 minutes. A server that
   * trickles a byte just inside `timeoutMs` is given up on here, so an attempt, and every
   * `syncNow()` that joins it, always ends.
   */
  attemptDeadlineMs?: number;
  /** Largest pack (compressed) accepted; default 64 MiB. */
  maxPackBytes?: number;
  /** This agent's version (x.y.z), for `minAgentVersion` and reports; default the installed package's. */
  agentVersion?: string;
  /** Where to POST a small status JSON after each sync (no patient data). */
  reportUrl?: string;
  /** Names this PC in reports; default the host name. */
  agentId?: string;
  now?(): number;
  random?(): number;
  fetch?: typeof fetch;
  /** One line per attempt for the agent's log; never contains patient data. */
  log?(line: string): void;
}

/** One server that did not deliver. */
export interface ServerFailure {
  server: string;
  code: SyncErrorCode;
  message: string;
}

/** The result of one `syncNow()`. Every variant has a Chinese `message` for people. */
export type SyncOutcome =
  | { result: 'applied'; version: number; server: string; manifest: VerifiedManifest; message: string }
  | { result: 'up_to_date'; version: number; server: string; notModified: boolean; message: string }
  | { result: 'failed'; code: SyncErrorCode; message: string; failures: ServerFailure[] }
  | { result: 'disabled'; message: string };

/** A running sync client. */
export interface SyncClient {
  /** Syncs now; concurrent calls share one attempt. Never rejects. */
  syncNow(): Promise<SyncOutcome>;
  /** Starts polling (timers do not keep the process alive). */
  start(): void;
  /** Stops polling, cancels an attempt in progress before it applies, and waits for it. */
  stop(): Promise<void>;
  status(): SyncStatus;
}

const DEFAULTS = {
  intervalMs: 15 * 60 * 1000,
  startDelayMaxMs: 60 * 1000,
  backoffBaseMs: 60 * 1000,
  backoffMaxMs: 60 * 60 * 1000,
  timeoutMs: 15 * 1000,
  attemptDeadlineMs: 5 * 60 * 1000,
};
/** Status warns this long before the active library expires. */
const EXPIRY_WARNING_MS = 7 * 24 * 60 * 60 * 1000;

/** Why an attempt's signal fired: the deadline's own error, or the agent stopping. */
function abortReason(signal: AbortSignal): SyncError {
  return signal.reason instanceof SyncError ? signal.reason : new SyncError('cancelled', '同步已取消');
}

/** A failure with a code, raised inside one attempt and turned into status. */
class SyncError extends Error {
  constructor(
    readonly code: SyncErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

interface Endpoint {
  /** The base URL as configured, without any credentials, for status and logs. */
  display: string;
  manifestUrl: URL;
}

type Fetched = { notModified: true } | { notModified: false; bytes: Buffer; etag?: string };

/** What a request is for: decides the size cap, headers and how a broken body is named. */
interface RequestSpec {
  url: URL;
  what: string;
  maxBytes: number;
  /** The error when the body is larger than `maxBytes`. */
  overflow(): SyncError | PackError;
  etag?: string;
  /** A connection lost mid-body means an incomplete pack, which deserves its own code. */
  brokenBody: 'truncated' | 'unreachable';
  /** Manifests must be revalidated by any cache on the way; packs are immutable. */
  revalidate: boolean;
}

function endpointFor(server: string): Endpoint {
  const parsed = parseServerAddress(server);
  if ('error' in parsed) throw new Error(parsed.error);
  const url = parsed.url;
  const display = new URL(url.href);
  display.username = '';
  display.password = '';
  const manifestUrl = new URL(url.href);
  manifestUrl.hash = '';
  if (!manifestUrl.pathname.endsWith(`/${MANIFEST_FILE}`)) {
    if (!manifestUrl.pathname.endsWith('/')) manifestUrl.pathname += '/';
    manifestUrl.pathname += manifestUrl.pathname.endsWith(`/${PUBLISHED_FOLDER}/`) ? MANIFEST_FILE : `${PUBLISHED_FOLDER}/${MANIFEST_FILE}`;
  }
  if (manifestUrl.protocol === 'file:') {
    try {
      fileURLToPath(manifestUrl);
    } catch (error) {
      // e.g. a UNC host (file://server/share/) on a system that has no UNC paths.
      throw new Error(`共享文件夹地址在本系统上无法使用: ${server} (${(error as Error).message})`);
    }
  }
  return { display: display.href, manifestUrl };
}

function emptyState(): SyncState {
  return { etags: {}, consecutiveFailures: 0 };
}

/** Keeps only what is well-formed from a stored state: a damaged settings row must not stop sync. */
function sanitizeState(raw: unknown): SyncState {
  const state = emptyState();
  if (!raw || typeof raw !== 'object') return state;
  const source = raw as Record<string, unknown>;
  if (source.etags && typeof source.etags === 'object') {
    for (const [url, entry] of Object.entries(source.etags as Record<string, unknown>)) {
      const value = entry as { etag?: unknown; version?: unknown } | null;
      if (value && typeof value.etag === 'string' && Number.isSafeInteger(value.version)) {
        state.etags[url] = { etag: value.etag, version: value.version as number };
      }
    }
  }
  if (Number.isSafeInteger(source.consecutiveFailures) && (source.consecutiveFailures as number) >= 0) {
    state.consecutiveFailures = source.consecutiveFailures as number;
  }
  for (const key of ['lastAttemptAt', 'lastSuccessAt', 'lastResult', 'lastErrorCode'] as const) {
    if (typeof source[key] === 'string') state[key] = source[key];
  }
  const applied = source.applied as SyncState['applied'] | undefined;
  if (
    applied &&
    typeof applied === 'object' &&
    Number.isSafeInteger(applied.version) &&
    typeof applied.expiresAt === 'string' &&
    typeof applied.packId === 'string' &&
    typeof applied.keyId === 'string' &&
    typeof applied.server === 'string' &&
    typeof applied.at === 'string'
  ) {
    state.applied = { ...applied };
  }
  return state;
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown; errors?: Array<{ code?: unknown }> } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : typeof cause?.errors?.[0]?.code === 'string' ? cause.errors[0].code : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return '连接被拒绝(服务未启动, 或端口被防火墙拦截)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return '无法解析服务器名称(检查 DNS 或地址拼写)';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return '连接被对方断开';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return '连接超时(网络不通或被拦截)';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return '网络不可达';
    case 'CERT_HAS_EXPIRED':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `HTTPS 证书无法验证(${code}); 自签名证书请改用 http, 签名已保证规则包的真实性`;
    default:
      return `无法连接(${code ?? (error as Error).message})`;
  }
}

function formatLocalTime(ms: number): string {
  const date = new Date(ms);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/**
 * Creates a sync client. Throws at once on a configuration a person must fix (an unusable
 * server URL or public key), rather than failing quietly on every poll.
 */
export function createSyncClient(options: SyncOptions): SyncClient {
  const endpoints = options.servers.map(endpointFor);
  const publicKeys = [...options.publicKeys];
  const pinnedIds = publicKeys.map((pem) => keyId(pem));
  const configured = endpoints.length > 0 && publicKeys.length > 0;
  const intervalMs = options.intervalMs ?? DEFAULTS.intervalMs;
  const startDelayMaxMs = options.startDelayMaxMs ?? DEFAULTS.startDelayMaxMs;
  const backoffBaseMs = options.backoffBaseMs ?? DEFAULTS.backoffBaseMs;
  const backoffMaxMs = Math.max(options.backoffMaxMs ?? DEFAULTS.backoffMaxMs, backoffBaseMs);
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const attemptDeadlineMs = options.attemptDeadlineMs ?? DEFAULTS.attemptDeadlineMs;
  const maxPackBytes = options.maxPackBytes ?? DEFAULT_MAX_PACK_BYTES;
  const agentVersion = options.agentVersion ?? currentAgentVersion();
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const fetchImplementation = options.fetch ?? fetch;
  const log = options.log ?? (() => undefined);
  const reportUrl = options.reportUrl ? new URL(options.reportUrl) : undefined;
  if (reportUrl && reportUrl.protocol !== 'http:' && reportUrl.protocol !== 'https:') {
    throw new Error(`状态上报地址只支持 http 和 https: ${options.reportUrl}`);
  }
  const agentId = options.agentId ?? hostname();

  let state = emptyState();
  let stateLoaded: Promise<void> | undefined;
  let inFlight: Promise<SyncOutcome> | undefined;
  let cancelAttempt: AbortController | undefined;
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  let nextAttemptAt: number | undefined;
  const pendingReports = new Set<Promise<void>>();

  // Stores hand their settings back synchronously; take that path so status() is right at once.
  try {
    const loaded = options.loadState?.();
    if (loaded instanceof Promise) {
      stateLoaded = loaded.then(
        (value) => {
          state = sanitizeState(value);
        },
        (error: unknown) => log(`同步状态读取失败, 从头开始: ${(error as Error).message}`),
      );
    } else {
      state = sanitizeState(loaded);
    }
  } catch (error) {
    log(`同步状态读取失败, 从头开始: ${(error as Error).message}`);
  }

  function safeActiveVersion(): number {
    try {
      return options.activeVersion();
    } catch {
      return 0;
    }
  }

  async function persist(): Promise<void> {
    try {
      await options.saveState?.(structuredClone(state));
    } catch (error) {
      log(`同步状态保存失败: ${(error as Error).message}`);
    }
  }

  /** One GET, from a web server or a shared folder, capped in size and time. */
  async function get(spec: RequestSpec, signal: AbortSignal): Promise<Fetched> {
    if (spec.url.protocol === 'file:') return getFile(spec, signal);
    return getHttp(spec, signal);
  }

  async function getHttp(spec: RequestSpec, outer: AbortSignal): Promise<Fetched> {
    const controller = new AbortController();
    let timedOut = false;
    let idleTimer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
      idleTimer.unref();
    };
    const onCancel = () => controller.abort();
    outer.addEventListener('abort', onCancel, { once: true });
    const failure = (error: unknown, phase: 'connect' | 'body'): SyncError | PackError => {
      if (error instanceof SyncError || error instanceof PackError) return error;
      if (outer.aborted) return abortReason(outer);
      if (timedOut) return new SyncError('timeout', `${spec.what}请求超时: ${timeoutMs / 1000} 秒内没有数据`);
      if (phase === 'body' && spec.brokenBody === 'truncated') return new PackError('truncated', `${spec.what}下载中断(${networkReason(error)}), 内容不完整`);
      return new SyncError('unreachable', `${spec.what}: ${networkReason(error)}`);
    };
    try {
      arm();
      const headers: Record<string, string> = {
        // Bytes are hashed as published; a transparently decoded body would never match.
        'Accept-Encoding': 'identity',
        'User-Agent': `RxGate/${agentVersion}`,
      };
      if (spec.revalidate) headers['Cache-Control'] = 'no-cache';
      if (spec.etag) headers['If-None-Match'] = spec.etag;
      let response: Response;
      try {
        response = await fetchImplementation(spec.url, { method: 'GET', headers, signal: controller.signal, redirect: 'follow' });
      } catch (error) {
        throw failure(error, 'connect');
      }
      if (response.status === 304 && spec.etag) {
        await response.body?.cancel().catch(() => undefined);
        return { notModified: true };
      }
      if (response.status === 404 || response.status === 410) {
        await response.body?.cancel().catch(() => undefined);
        throw new PackError('not_found', `${spec.what}不存在(HTTP ${response.status}): 检查服务器地址, 或规则包是否已发布`);
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw new SyncError('http_error', `${spec.what}请求失败: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
      }
      const declared = Number(response.headers.get('content-length') ?? Number.NaN);
      if (Number.isFinite(declared) && declared > spec.maxBytes) {
        await response.body?.cancel().catch(() => undefined);
        throw spec.overflow();
      }
      const chunks: Uint8Array[] = [];
      let total = 0;
      if (response.body) {
        const reader = response.body.getReader();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            total += value.byteLength;
            if (total > spec.maxBytes) {
              await reader.cancel().catch(() => undefined);
              throw spec.overflow();
            }
            chunks.push(value);
            arm();
          }
        } catch (error) {
          throw failure(error, 'body');
        }
      }
      return { notModified: false, bytes: Buffer.concat(chunks, total), etag: response.headers.get('etag') ?? undefined };
    } finally {
      clearTimeout(idleTimer);
      outer.removeEventListener('abort', onCancel);
    }
  }

  async function getFile(spec: RequestSpec, signal: AbortSignal): Promise<Fetched> {
    const path = fileURLToPath(spec.url);
    const read = async (): Promise<Buffer> => {
      const size = (await fs.stat(path)).size;
      if (size > spec.maxBytes) throw spec.overflow();
      const bytes = await fs.readFile(path);
      if (bytes.byteLength > spec.maxBytes) throw spec.overflow();
      return bytes;
    };
    // A dead SMB share can block a file read for minutes and it cannot be aborted; stop
    // waiting for it instead, so status says so and the next attempt can try again.
    let deadline: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new SyncError('timeout', `${spec.what}读取超时: 共享文件夹 ${timeoutMs / 1000} 秒内没有响应`)), timeoutMs);
      deadline.unref();
    });
    const cancelled = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(abortReason(signal));
      signal.addEventListener('abort', () => reject(abortReason(signal)), { once: true });
    });
    const reading = read();
    // Once the race is lost, a late failure of the abandoned read must not surface as unhandled.
    reading.catch(() => undefined);
    try {
      return { notModified: false, bytes: await Promise.race([reading, timeout, cancelled]) };
    } catch (error) {
      if (error instanceof SyncError || error instanceof PackError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new PackError('not_found', `${spec.what}不存在: ${path}`);
      if (code === 'EACCES' || code === 'EPERM') throw new SyncError('unreachable', `${spec.what}无权读取: ${path}(检查共享文件夹权限)`);
      throw new SyncError('unreachable', `${spec.what}无法读取: ${path}(${code ?? (error as Error).message})`);
    } finally {
      clearTimeout(deadline);
      cancelled.catch(() => undefined);
    }
  }

  async function fetchManifest(endpoint: Endpoint, etag: string | undefined, signal: AbortSignal): Promise<Fetched> {
    return get(
      {
        url: endpoint.manifestUrl,
        what: '清单 manifest.json',
        maxBytes: MAX_MANIFEST_BYTES,
        overflow: () => new PackError('too_large', `清单超过 ${MAX_MANIFEST_BYTES} 字节, 不是有效清单`),
        etag,
        brokenBody: 'unreachable',
        revalidate: true,
      },
      signal,
    );
  }

  async function fetchVerifiedManifest(endpoint: Endpoint, manifestBytes: Buffer, signal: AbortSignal): Promise<VerifiedManifest> {
    const signature = await get(
      {
        url: new URL(`${endpoint.manifestUrl.href}.sig`),
        what: '签名文件 manifest.json.sig',
        maxBytes: MAX_SIGNATURE_BYTES,
        overflow: () => new PackError('bad_signature', '签名文件过大, 不是有效签名'),
        brokenBody: 'unreachable',
        revalidate: true,
      },
      signal,
    );
    if (signature.notModified) throw new SyncError('http_error', '签名文件请求返回了 304');
    return verifyManifest(manifestBytes, signature.bytes, publicKeys);
  }

  /** Tries one server; returns an outcome, or throws the reason it did not deliver. */
  async function attemptServer(endpoint: Endpoint, activeVersion: number, signal: AbortSignal): Promise<SyncOutcome> {
    const key = endpoint.manifestUrl.href;
    const known = state.etags[key];
    // An ETag stands for a manifest we applied or matched; if the active library is older than
    // that (a restored database, an apply that crashed), ask for the manifest in full.
    const etag = known && known.version <= activeVersion ? known.etag : undefined;
    let fetched = await fetchManifest(endpoint, etag, signal);
    if (fetched.notModified) {
      return {
        result: 'up_to_date',
        version: activeVersion,
        server: endpoint.display,
        notModified: true,
        message: `规则库已是最新(v${activeVersion}), 服务器 ${endpoint.display} 无变化`,
      };
    }
    let manifest: VerifiedManifest;
    try {
      manifest = await fetchVerifiedManifest(endpoint, fetched.bytes, signal);
    } catch (error) {
      // Publishing renames the signature and the manifest one after the other; a reader that
      // fell between the two sees a mismatched pair. Reading both again settles it.
      if (!(error instanceof PackError) || error.code !== 'bad_signature') throw error;
      fetched = await fetchManifest(endpoint, undefined, signal);
      if (fetched.notModified) throw error;
      manifest = await fetchVerifiedManifest(endpoint, fetched.bytes, signal);
    }
    const remember = () => {
      if (fetched.notModified || !fetched.etag) delete state.etags[key];
      else state.etags[key] = { etag: fetched.etag, version: manifest.version };
    };

    if (manifest.version === activeVersion) {
      remember();
      return {
        result: 'up_to_date',
        version: activeVersion,
        server: endpoint.display,
        notModified: false,
        message: `规则库已是最新(v${activeVersion}, 服务器 ${endpoint.display})`,
      };
    }
    const verifyOptions = { activeVersion, now: now(), maxBytes: maxPackBytes, agentVersion };
    checkManifest(manifest, verifyOptions);

    const packUrl = new URL(manifest.pack.file, endpoint.manifestUrl);
    const pack = await get(
      {
        url: packUrl,
        what: `规则包 v${manifest.version}`,
        maxBytes: manifest.pack.size,
        overflow: () => new PackError('hash_mismatch', `服务器返回的规则包大于清单声明的 ${manifest.pack.size} 字节(文件被替换, 或缓存返回了别的文件)`),
        brokenBody: 'truncated',
        revalidate: false,
      },
      signal,
    );
    if (pack.notModified) throw new SyncError('http_error', '规则包请求返回了 304');
    const library = await verifyPack(manifest, pack.bytes, verifyOptions);
    if (signal.aborted) throw abortReason(signal);

    try {
      await options.apply(library, manifest);
    } catch (error) {
      throw new SyncError('apply_failed', `规则包 v${manifest.version} 已通过校验, 但写入本机规则库失败: ${(error as Error).message}`);
    }
    remember();
    state.applied = {
      version: manifest.version,
      packId: manifest.packId,
      keyId: manifest.keyId,
      expiresAt: manifest.expiresAt,
      server: endpoint.display,
      at: new Date(now()).toISOString(),
    };
    return {
      result: 'applied',
      version: manifest.version,
      server: endpoint.display,
      manifest,
      message: `已更新到规则库 v${manifest.version}(${manifest.ruleCount} 条规则, 来自 ${endpoint.display})`,
    };
  }

  /**
   * Which failure names the whole attempt when every server failed: a server that answered
   * and served something wrong says more than one that could not be reached.
   */
  function headlineFailure(failures: ServerFailure[]): ServerFailure {
    const transport = new Set<SyncErrorCode>(['unreachable', 'timeout', 'http_error', 'not_found']);
    return failures.find((failure) => !transport.has(failure.code)) ?? failures[0]!;
  }

  async function attempt(): Promise<SyncOutcome> {
    await stateLoaded;
    if (!configured) {
      const message =
        endpoints.length === 0 ? '未配置规则服务器, 不会自动更新规则(可离线导入规则包)' : '未配置规则包公钥, 无法校验规则包, 不会自动更新';
      return { result: 'disabled', message };
    }
    const controller = new AbortController();
    cancelAttempt = controller;
    const deadline = setTimeout(() => {
      log(`同步超过总时限 ${attemptDeadlineMs / 1000} 秒, 放弃本次尝试`);
      controller.abort(new SyncError('timeout', `同步超过总时限: ${attemptDeadlineMs / 1000} 秒内未完成`));
    }, attemptDeadlineMs);
    deadline.unref();
    const startedAt = now();
    const activeVersion = safeActiveVersion();
    const failures: ServerFailure[] = [];
    let outcome: SyncOutcome | undefined;
    for (const endpoint of endpoints) {
      try {
        outcome = await attemptServer(endpoint, activeVersion, controller.signal);
        break;
      } catch (error) {
        const failure: ServerFailure =
          error instanceof PackError || error instanceof SyncError
            ? { server: endpoint.display, code: error.code, message: error.message }
            : { server: endpoint.display, code: 'internal_error', message: `内部错误: ${(error as Error).message}` };
        failures.push(failure);
        delete state.etags[endpoint.manifestUrl.href];
        // A local apply failure or a cancel would be the same on every mirror; past the
        // deadline there is no time left for one.
        if (failure.code === 'apply_failed' || controller.signal.aborted) break;
      }
    }
    clearTimeout(deadline);
    if (cancelAttempt === controller) cancelAttempt = undefined;

    // A cancelled attempt (the agent is stopping) says nothing about the servers: leave the
    // recorded result and the backoff as they were. The deadline is a failure like any other.
    if (!outcome && controller.signal.aborted && abortReason(controller.signal).code === 'cancelled') return { result: 'failed', code: 'cancelled', message: '同步已取消', failures };
    if (!outcome) {
      const headline = headlineFailure(failures);
      const detail =
        failures.length === 1
          ? `${headline.server}: ${headline.message}`
          : `全部 ${failures.length} 个服务器均失败: ${failures.map((failure) => `${failure.server}: ${failure.message}`).join('; ')}`;
      outcome = {
        result: 'failed',
        code: headline.code,
        message: `更新失败 [${headline.code}] ${detail}。当前规则库 v${activeVersion} 保持不变。`,
        failures,
      };
    } else if (failures.length > 0) {
      outcome = { ...outcome, message: `${outcome.message}; 前面的服务器未成功: ${failures.map((failure) => `${failure.server} [${failure.code}]`).join(', ')}` };
    }

    state.lastAttemptAt = new Date(startedAt).toISOString();
    state.lastResult = outcome.message;
    if (outcome.result === 'failed') {
      state.consecutiveFailures += 1;
      state.lastErrorCode = outcome.code;
    } else {
      state.consecutiveFailures = 0;
      state.lastSuccessAt = new Date(now()).toISOString();
      delete state.lastErrorCode;
    }
    await persist();
    log(outcome.message);
    report(outcome);
    return outcome;
  }

  function nextDelay(): number {
    if (state.consecutiveFailures > 0) {
      const exponent = Math.min(state.consecutiveFailures - 1, 30);
      const capped = Math.min(backoffMaxMs, backoffBaseMs * 2 ** exponent);
      // Jitter spreads a thousand PCs that failed together (server restart) over the window.
      return capped * (0.5 + 0.5 * random());
    }
    return intervalMs * (0.8 + 0.4 * random());
  }

  function schedule(delayMs: number): void {
    clearTimeout(timer);
    nextAttemptAt = now() + delayMs;
    timer = setTimeout(() => {
      timer = undefined;
      void syncNow();
    }, delayMs);
    timer.unref();
  }

  function syncNow(): Promise<SyncOutcome> {
    if (inFlight) return inFlight;
    clearTimeout(timer);
    timer = undefined;
    nextAttemptAt = undefined;
    const running = attempt()
      .catch((error: unknown): SyncOutcome => {
        log(`同步内部错误: ${(error as Error).message}`);
        return { result: 'failed', code: 'internal_error', message: `同步内部错误: ${(error as Error).message}`, failures: [] };
      })
      .finally(() => {
        inFlight = undefined;
        if (started) schedule(nextDelay());
      });
    inFlight = running;
    return running;
  }

  function report(outcome: SyncOutcome): void {
    if (!reportUrl || outcome.result === 'disabled') return;
    const body = JSON.stringify({
      agentId,
      agentVersion,
      rulesVersion: safeActiveVersion(),
      // Lets IT see which PCs already trust the next key before signing with it.
      pinnedKeys: pinnedIds,
      result: outcome.result,
      code: outcome.result === 'failed' ? outcome.code : undefined,
      server: outcome.result === 'failed' ? undefined : outcome.server,
      message: outcome.message,
      libraryExpired: libraryExpiry().expired,
      at: new Date(now()).toISOString(),
    });
    const sending = (async () => {
      const controller = new AbortController();
      const timeout = setTimeout(() => controller.abort(), timeoutMs);
      timeout.unref();
      try {
        const response = await fetchImplementation(reportUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'User-Agent': `RxGate/${agentVersion}` },
          body,
          signal: controller.signal,
        });
        await response.body?.cancel().catch(() => undefined);
      } catch (error) {
        log(`状态上报失败(不影响同步): ${networkReason(error)}`);
      } finally {
        clearTimeout(timeout);
      }
    })();
    pendingReports.add(sending);
    void sending.finally(() => pendingReports.delete(sending));
  }

  function libraryExpiry(): { expired: boolean; soon: boolean; expiresAt?: number } {
    const active = safeActiveVersion();
    let text: string | undefined;
    try {
      text = options.activeExpiresAt?.();
    } catch {
      text = undefined;
    }
    if (text === undefined && state.applied?.version === active) text = state.applied.expiresAt;
    const expiresAt = text === undefined ? Number.NaN : Date.parse(text);
    if (!Number.isFinite(expiresAt)) return { expired: false, soon: false };
    const current = now();
    return { expired: current >= expiresAt, soon: current < expiresAt && expiresAt - current <= EXPIRY_WARNING_MS, expiresAt };
  }

  function status(): SyncStatus {
    const syncing = inFlight !== undefined;
    const lastFailed = state.lastErrorCode !== undefined;
    const view: SyncStatus = {
      configured,
      servers: endpoints.map((endpoint) => endpoint.display),
      state: !configured ? 'disabled' : syncing ? 'syncing' : !state.lastAttemptAt ? 'idle' : lastFailed ? 'failed' : 'ok',
    };
    if (state.lastAttemptAt) view.lastAttemptAt = state.lastAttemptAt;
    if (state.lastSuccessAt) view.lastSuccessAt = state.lastSuccessAt;
    if (state.lastResult) view.lastResult = state.lastResult;
    if (state.lastErrorCode) view.lastErrorCode = state.lastErrorCode;
    if (nextAttemptAt !== undefined) view.nextAttemptAt = new Date(nextAttemptAt).toISOString();
    if (!configured && !view.lastResult) {
      view.lastResult = endpoints.length === 0 ? '未配置规则服务器, 不会自动更新规则' : '未配置规则包公钥, 不会自动更新规则';
    }
    const expiry = libraryExpiry();
    if (expiry.expired && expiry.expiresAt !== undefined) {
      // The agent keeps checking with the expired rules; IT must not miss that.
      view.lastResult = `【警告】当前规则库 v${safeActiveVersion()} 已于 ${formatLocalTime(expiry.expiresAt)} 过期, 仍按旧规则检查, 请信息科尽快发布新规则包。${view.lastResult ? ` 最近一次同步: ${view.lastResult}` : ''}`;
      view.lastErrorCode ??= 'library_expired';
    } else if (expiry.soon && expiry.expiresAt !== undefined) {
      view.lastResult = `【提醒】当前规则库 v${safeActiveVersion()} 将于 ${formatLocalTime(expiry.expiresAt)} 过期。${view.lastResult ?? ''}`;
    }
    return view;
  }

  return {
    syncNow,
    status,
    start() {
      if (started || !configured) return;
      started = true;
      const begin = () => {
        if (started && !inFlight && timer === undefined) schedule(random() * Math.min(intervalMs, startDelayMaxMs));
      };
      if (stateLoaded) void stateLoaded.then(begin);
      else begin();
      log(`规则同步已启动: ${endpoints.map((endpoint) => endpoint.display).join(', ')}; 信任密钥 ${pinnedIds.join(', ')}`);
    },
    async stop() {
      started = false;
      clearTimeout(timer);
      timer = undefined;
      nextAttemptAt = undefined;
      cancelAttempt?.abort();
      await inFlight;
      await Promise.all([...pendingReports]);
    },
  };
}
