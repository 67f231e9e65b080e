/**
 * The hub's HTTP(S) service: the agent API (enrol, events, history) and the console (static
 * files and its JSON API). Stateless: everything lives in PostgreSQL, so several processes
 * behind a load balancer serve one hospital. Every request body is size-limited and
 * validated with zod before anything reads it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { z } from 'zod';
import { compileSafeParse } from '../app/core/protocol/fast-parse';
import { EnrolRequest, EventBatch, HistoryRequest, type DeliveryReply, type EnrolReply, type HistoryReply } from '../app/core/protocol/hub';
import { decisionsCsv, decisionsXlsx } from './export';
import {
  DUMMY_PASSWORD_HASH,
  hashEnrolmentCode,
  hashPassword,
  hashSecret,
  newAgentId,
  newEnrolmentCode,
  newSecret,
  parseAgentCredential,
  sameHash,
  verifyPassword,
  type PatientKeyer,
} from './security';
import type { DecisionFilter, HubStore, SessionRow } from './store/hub-store';

/** Largest agent event batch accepted (500 events with long reasons fit well inside). */
const MAX_EVENTS_BYTES = 4 * 1024 * 1024;
const MAX_SMALL_BYTES = 16 * 1024;
const SESSION_COOKIE = 'rxgate_hub_session';
const SESSION_HOURS = 8;
const LOCKOUT_FAILURES = 5;
const LOCKOUT_MINUTES = 15;
/** Enrolment codes are meant to be used the same day. */
export const ENROLMENT_CODE_HOURS = 24;

export interface HubServerOptions {
  store: HubStore;
  keyer: PatientKeyer;
  /** The built console (index.html, console.js, console.css); without it only the APIs are served. */
  consoleDir?: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  log?: (line: string) => void;
}

export interface RunningHub {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Issues a one-time enrolment code (CLI and console); returns the code to hand to the PC. */
export async function issueEnrolmentCode(store: HubStore, createdBy: string, hours = ENROLMENT_CODE_HOURS): Promise<{ code: string; expiresAt: string }> {
  const code = newEnrolmentCode();
  const expiresAt = new Date(Date.now() + hours * 3_600_000);
  await store.createEnrolmentCode(hashEnrolmentCode(code), expiresAt, createdBy);
  return { code, expiresAt: expiresAt.toISOString() };
}

const DateParam = z.iso.date();
const DecisionQuery = z.object({
  from: DateParam.optional(),
  to: DateParam.optional(),
  rule: z.string().max(128).optional(),
  dept: z.string().max(100).optional(),
  doctor: z.string().max(100).optional(),
  kind: z.enum(['override', 'attestation', 'selfpay', 'all']).optional(),
  reviewed: z.enum(['yes', 'no']).optional(),
});
const RangeQuery = z.object({ from: DateParam.optional(), to: DateParam.optional() });
const LoginBody = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) });
const ReviewBody = z.object({ note: z.string().trim().max(1000) });
const UserBody = z.object({
  username: z.string().regex(/^[A-Za-z0-9._-]{2,64}$/, '用户名只能含字母、数字和 . _ -'),
  password: z.string().min(10, '密码至少 10 位').max(256),
  role: z.enum(['reviewer', 'admin']),
});

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Starts a hub on `host:port` (port 0 picks a free one). */
export async function startHubServer(options: HubServerOptions & { host?: string; port?: number }): Promise<RunningHub> {
  const handler = createHubHandler(options);
  const server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler)
    : createHttpServer(handler);
  // Agents keep connections open between deliveries; the lookup then skips the TCP handshake.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    port: address.port,
    url: `${options.tls ? 'https' : 'http'}://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The request handler alone, for callers that own the server. */
export function createHubHandler(options: HubServerOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const { store, keyer } = options;
  const log = options.log ?? (() => undefined);
  const secureCookie = options.tls !== undefined;

  async function enrol(request: IncomingMessage): Promise<EnrolReply> {
    const body = parse(EnrolRequest, await readJson(request, MAX_SMALL_BYTES));
    const agentId = newAgentId();
    const secret = newSecret();
    const enrolled = await store.enrolAgent(hashEnrolmentCode(body.code), {
      id: agentId,
      secretHash: hashSecret(secret),
      pcName: body.pcName,
      agentVersion: body.agentVersion,
    });
    if (!enrolled) throw new HttpError(403, 'bad_code', '登记码无效、已使用或已过期');
    log(`登记代理 ${agentId} (${body.pcName})`);
    return { agentId, credential: `${agentId}.${secret}` };
  }

  async function events(request: IncomingMessage): Promise<DeliveryReply> {
    const credential = parseAgentCredential(request.headers.authorization);
    if (!credential) throw new HttpError(401, 'unauthenticated', '缺少或无法识别的代理凭据');
    const { agentId } = credential;
    const batch = parse(EventBatch, await readJson(request, MAX_EVENTS_BYTES), parseEventBatch);
    const keyed = batch.events.map((event) => {
      const patientId = event.type === 'order' ? event.order.patientId : event.type === 'decision' ? event.decision.patientId : undefined;
      return { event, patientKey: patientId === undefined ? null : keyer.key(patientId) };
    });
    // One statement checks the credential and starts the batch (as the history lookup does).
    const result = await store.ingest(agentId, hashSecret(credential.secret), keyed);
    if (result === 'unknown') throw new HttpError(401, 'unauthenticated', '代理凭据无效');
    if (result === 'revoked') throw new HttpError(403, 'revoked', '此代理已被吊销, 请联系信息科重新登记');
    return result;
  }

  async function history(request: IncomingMessage): Promise<HistoryReply> {
    const credential = parseAgentCredential(request.headers.authorization);
    if (!credential) throw new HttpError(401, 'unauthenticated', '缺少或无法识别的代理凭据');
    const body = parse(HistoryRequest, await readJson(request, MAX_SMALL_BYTES));
    // One query checks the credential and reads the rows. last_seen is left to deliveries, so
    // a lookup writes nothing.
    const rows = await store.history(credential.agentId, hashSecret(credential.secret), keyer.key(body.patientId), body.since, body.limit);
    if (rows === 'unknown') throw new HttpError(401, 'unauthenticated', '代理凭据无效');
    if (rows === 'revoked') throw new HttpError(403, 'revoked', '此代理已被吊销, 请联系信息科重新登记');
    return { rows };
  }

  // ---- console ----------------------------------------------------------------------------

  function sessionToken(request: IncomingMessage): string | null {
    for (const part of (request.headers.cookie ?? '').split(';')) {
      const [name, ...rest] = part.trim().split('=');
      if (name === SESSION_COOKIE) return rest.join('=');
    }
    return null;
  }

  async function session(request: IncomingMessage, role?: 'reviewer' | 'admin' | 'any'): Promise<SessionRow> {
    const token = sessionToken(request);
    const found = token ? await store.session(hashSecret(token)) : null;
    if (!found) throw new HttpError(401, 'unauthenticated', '请先登录');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      // Double submit: only the console's own script can read the token and put it in a header.
      const sent = request.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !sameHash(Buffer.from(sent), Buffer.from(found.csrfToken))) {
        throw new HttpError(403, 'csrf', '请求缺少有效的 CSRF 令牌, 请刷新页面');
      }
    }
    if (role && role !== 'any' && found.role !== role) throw new HttpError(403, 'forbidden', '当前账号的角色无权访问此页面');
    return found;
  }

  /** Refuses console writes from another site (defence in depth beside SameSite and the CSRF token). */
  function checkOrigin(request: IncomingMessage): void {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    const host = request.headers.host;
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      throw new HttpError(403, 'origin', '来源不被允许');
    }
    if (originHost !== host) throw new HttpError(403, 'origin', '来源不被允许');
  }

  async function login(request: IncomingMessage, response: ServerResponse): Promise<unknown> {
    checkOrigin(request);
    const body = parse(LoginBody, await readJson(request, MAX_SMALL_BYTES));
    // Guessing passwords is slowed by scrypt and stopped here; the count lives in the database,
    // so it holds across hub processes.
    if ((await store.recentFailedLogins(body.username, LOCKOUT_MINUTES)) >= LOCKOUT_FAILURES) {
      await store.audit(body.username, 'login-locked', {});
      throw new HttpError(429, 'locked', `登录失败次数过多, 请 ${LOCKOUT_MINUTES} 分钟后再试或联系信息科`);
    }
    const user = await store.userByName(body.username);
    // Hash even for an unknown user, so the answer takes as long either way.
    const ok = await verifyPassword(body.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
    if (!user || !ok || user.disabled) {
      await store.audit(body.username, 'login-failed', {});
      throw new HttpError(401, 'bad_login', '用户名或密码错误');
    }
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    await store.createSession(hashSecret(token), user.id, csrfToken, new Date(Date.now() + SESSION_HOURS * 3_600_000));
    await store.audit(user.username, 'login', {});
    response.setHeader(
      'Set-Cookie',
      `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_HOURS * 3600}${secureCookie ? '; Secure' : ''}`,
    );
    return { username: user.username, role: user.role, csrfToken };
  }

  async function logout(request: IncomingMessage, response: ServerResponse): Promise<unknown> {
    checkOrigin(request);
    const current = await session(request, 'any');
    await store.deleteSession(hashSecret(sessionToken(request)!));
    await store.audit(current.username, 'logout', {});
    response.setHeader('Set-Cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return { ok: true };
  }

  function decisionFilter(url: URL): DecisionFilter {
    const query = parse(DecisionQuery, searchFields(url));
    const range = dateRange(query.from, query.to, 31);
    return {
      from: range.from,
      to: range.to,
      ruleId: query.rule || undefined,
      dept: query.dept || undefined,
      doctor: query.doctor || undefined,
      kinds: query.kind === 'all' ? ['override', 'attestation', 'selfpay'] : query.kind ? [query.kind] : undefined,
      reviewed: query.reviewed === undefined ? undefined : query.reviewed === 'yes',
      limit: 5000,
    };
  }

  async function consoleApi(request: IncomingMessage, response: ServerResponse, url: URL): Promise<unknown> {
    const path = url.pathname.slice('/console/api'.length);
    const method = request.method ?? 'GET';
    if (method === 'POST') checkOrigin(request);
    if (path === '/login' && method === 'POST') return login(request, response);
    if (path === '/logout' && method === 'POST') return logout(request, response);
    if (path === '/session' && method === 'GET') {
      const current = await session(request, 'any');
      return { username: current.username, role: current.role, csrfToken: current.csrfToken };
    }
    if ((path === '/decisions' || path === '/decisions.csv' || path === '/decisions.xlsx') && method === 'GET') {
      const current = await session(request, 'reviewer');
      const filter = decisionFilter(url);
      const rows = await store.decisions(filter);
      // Reading patient-level rows is itself recorded, with what was asked and how much was shown.
      await store.audit(current.username, path === '/decisions' ? 'read-decisions' : 'export-decisions', {
        filter: { ...filter, limit: undefined },
        rows: rows.length,
        format: extname(path).slice(1) || 'json',
      });
      if (path === '/decisions.csv') {
        sendBody(response, 200, 'text/csv; charset=utf-8', decisionsCsv(rows), `复核清单-${filter.from?.slice(0, 10)}.csv`);
        return undefined;
      }
      if (path === '/decisions.xlsx') {
        const buffer = await decisionsXlsx(rows);
        sendBody(response, 200, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer, `复核清单-${filter.from?.slice(0, 10)}.xlsx`);
        return undefined;
      }
      return { from: filter.from, to: filter.to, rows };
    }
    const review = /^\/decisions\/(\d{1,18})\/review$/.exec(path);
    if (review && method === 'POST') {
      const current = await session(request, 'reviewer');
      const body = parse(ReviewBody, await readJson(request, MAX_SMALL_BYTES));
      const id = Number(review[1]);
      if (!(await store.reviewDecision(id, current.username, body.note))) throw new HttpError(404, 'not_found', '没有这条记录');
      await store.audit(current.username, 'review', { decision: id });
      return { ok: true };
    }
    if (path === '/rules' && method === 'GET') {
      await session(request, 'any');
      const query = parse(RangeQuery, searchFields(url));
      const range = dateRange(query.from, query.to, 28);
      return { ...range, rules: await store.ruleActivity(range.from, range.to) };
    }
    if (path === '/ranking' && method === 'GET') {
      await session(request, 'any');
      const query = parse(RangeQuery, searchFields(url));
      const range = dateRange(query.from, query.to, 31);
      return {
        ...range,
        doctors: await store.ranking('doctor', range.from, range.to),
        departments: await store.ranking('dept', range.from, range.to),
      };
    }
    if (path === '/fleet' && method === 'GET') {
      await session(request, 'admin');
      return { now: new Date().toISOString(), agents: await store.fleet() };
    }
    const agentAction = /^\/agents\/([A-Za-z0-9]{1,64})\/(revoke|clear-anchor)$/.exec(path);
    if (agentAction && method === 'POST') {
      const current = await session(request, 'admin');
      const [, agentId, action] = agentAction;
      const done = action === 'revoke' ? await store.revokeAgent(agentId!) : await store.clearAnchor(agentId!);
      if (!done) throw new HttpError(404, 'not_found', '没有这个代理');
      await store.audit(current.username, action!, { agent: agentId });
      return { ok: true };
    }
    if (path === '/enrol-codes' && method === 'POST') {
      const current = await session(request, 'admin');
      const issued = await issueEnrolmentCode(store, current.username);
      await store.audit(current.username, 'enrol-code', { expiresAt: issued.expiresAt });
      return issued;
    }
    if (path === '/users' && method === 'GET') {
      await session(request, 'admin');
      return { users: await store.users() };
    }
    if (path === '/users' && method === 'POST') {
      const current = await session(request, 'admin');
      const body = parse(UserBody, await readJson(request, MAX_SMALL_BYTES));
      if (await store.userByName(body.username)) throw new HttpError(409, 'exists', '用户名已存在');
      await store.addUser(body.username, await hashPassword(body.password), body.role);
      await store.audit(current.username, 'user-add', { username: body.username, role: body.role });
      return { ok: true };
    }
    throw new HttpError(404, 'not_found', '没有这个接口');
  }

  function serveConsoleFile(response: ServerResponse, pathname: string): void {
    const name = pathname === '/' || pathname === '/index.html' ? 'index.html' : pathname.slice(1);
    if (!options.consoleDir || !/^[a-z-]+\.(html|js|css)$/.test(name) || !existsSync(join(options.consoleDir, name))) {
      throw new HttpError(404, 'not_found', '没有这个页面');
    }
    const body = readFileSync(join(options.consoleDir, name));
    response.writeHead(200, {
      'Content-Type': CONTENT_TYPES[extname(name)]!,
      'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; form-action 'self'",
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-cache',
    });
    response.end(body);
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://hub.invalid');
    const method = request.method ?? 'GET';
    if (url.pathname.startsWith('/api/v1/')) {
      if (method !== 'POST') throw new HttpError(405, 'method', '只接受 POST');
      const name = url.pathname.slice('/api/v1/'.length);
      const reply = name === 'enrol' ? await enrol(request) : name === 'events' ? await events(request) : name === 'history' ? await history(request) : null;
      if (reply === null) throw new HttpError(404, 'not_found', '没有这个接口');
      sendJson(response, 200, reply);
      return;
    }
    if (url.pathname === '/healthz' && method === 'GET') {
      await store.ledgerCount().then(
        () => sendJson(response, 200, { ok: true }),
        () => sendJson(response, 503, { ok: false }),
      );
      return;
    }
    if (url.pathname.startsWith('/console/api/')) {
      const reply = await consoleApi(request, response, url);
      if (reply !== undefined) sendJson(response, 200, reply);
      return;
    }
    if (method === 'GET') return serveConsoleFile(response, url.pathname);
    throw new HttpError(404, 'not_found', '没有这个页面');
  }

  return (request, response) => {
    response.setHeader('Cache-Control', 'no-store');
    route(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof HttpError) {
        sendJson(response, error.status, { error: error.code, message: error.message });
        return;
      }
      log(`请求失败 ${request.method} ${request.url}: ${(error as Error).message}`);
      sendJson(response, 503, { error: 'unavailable', message: '院端中心暂时不可用' });
    });
  };
}

/** [from, to) as ISO times: `to` is the day after the given end date; default the last `days` days. */
function dateRange(from: string | undefined, to: string | undefined, days: number): { from: string; to: string } {
  const end = to ? new Date(`${to}T00:00:00Z`) : new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
  end.setUTCDate(end.getUTCDate() + 1);
  const start = from ? new Date(`${from}T00:00:00Z`) : new Date(end.getTime() - days * 86_400_000);
  if (start >= end) throw new HttpError(400, 'invalid', '开始日期应早于结束日期');
  if (end.getTime() - start.getTime() > 366 * 86_400_000) throw new HttpError(400, 'invalid', '日期范围最多一年');
  return { from: start.toISOString(), to: end.toISOString() };
}

/** The query's fields, leaving out empty ones (an empty filter box means no filter). */
function searchFields(url: URL): Record<string, string> {
  return Object.fromEntries([...url.searchParams].filter(([, value]) => value !== ''));
}

/** Event batches are most of the hub's traffic: validated on the fast path compiled from the schema. */
const parseEventBatch = compileSafeParse(EventBatch);

/** Validates a request body; `safeParse` is the schema's own unless a compiled one is given. */
function parse<T extends z.ZodType>(
  schema: T,
  value: unknown,
  safeParse: (candidate: unknown) => z.ZodSafeParseResult<z.infer<T>> = (candidate) => schema.safeParse(candidate),
): z.infer<T> {
  const result = safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new HttpError(400, 'invalid', `${issue.path.join('.') || '请求'}: ${issue.message}`);
  }
  return result.data;
}

function readJson(request: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const type = request.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      request.resume();
      reject(new HttpError(415, 'content_type', '请求体应为 application/json'));
      return;
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) {
      request.resume();
      reject(new HttpError(413, 'too_large', `请求体超过 ${limit} 字节`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        reject(new HttpError(413, 'too_large', `请求体超过 ${limit} 字节`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > limit) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'bad_json', '请求体不是有效的 JSON'));
      }
    });
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  sendBody(response, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

function sendBody(response: ServerResponse, status: number, type: string, body: string | Buffer, filename?: string): void {
  const headers: Record<string, string | number> = { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff' };
  if (filename) headers['Content-Disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(filename)}`;
  response.writeHead(status, headers);
  response.end(body);
}
