/**
 * The localhost edge: one HTTP server on 127.0.0.1 carrying the HIS WebSocket (`/v1`), the
 * HTTP endpoints, the national 3101/3103 shapes, the UI's own WebSocket (`/v1/ui`) and the
 * built UI. Everything arriving here is untrusted: authenticate at the upgrade, cap sizes,
 * validate every frame, answer bad input with an `error` and keep the connection.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { AgentSurface } from '../surface';
import type { Decision, ErrorReply } from '../protocol/messages';
import { ProtocolError, errorReply } from '../protocol/errors';
import { UiRequest, dispatchUiRequest, type ClientView, type PendingChange, type PendingView, type UiEvent } from '../protocol/ui';
import { appRoot } from '../paths';
import { resolveUiAsset, uiResponseHeaders } from '../ui-assets';
import { CHALLENGE_PATTERN, attestationProof, authorizeHis, authorizeUi, isLoopbackHost, type AuthSettings } from './auth';
import { isNhsaPath, readBytes, serveNhsa, type NhsaAuthMode } from './nhsa-http';

export interface ServerOptions {
  port: number;
  token: string;
  uiToken: string;
  allowOrigins: string[];
  uiDir?: string;
  maxFrameBytes: number;
  /** Ping interval; a client that misses a whole interval is dropped. */
  heartbeatMs?: number;
  /**
   * Bytes a connection may leave unread before it is dropped: replies to a client that stops
   * reading would otherwise pile up in memory without limit (default 8 MB).
   */
  maxBufferedBytes?: number;
  /** `/nhsa…` authentication: the mode and the extra token headers (protocol.md "Drop-in national interface"). */
  nhsa?: { auth: NhsaAuthMode; tokenHeaders: string[] };
  log: (line: string) => void;
}

interface Connection {
  id: string;
  socket: WebSocket;
  kind: 'his' | 'ui';
  origin?: string;
  connectedAt: string;
  alive: boolean;
  /** Timestamps of recent bad frames; too many in a short time and the client is dropped. */
  badFrames: number[];
  unsubscribe?: () => void;
  /** Queue changes made while the first snapshot was still going out, in order (see sendSnapshot). */
  heldChanges?: PendingChange[];
  /**
   * The national reply last queued: national envelopes name no request, so each is handled
   * after the one before and answered in the order received, however long the hub takes.
   */
  national?: Promise<void>;
}

/** More bad frames than this within `BAD_FRAME_WINDOW_MS` closes the connection. */
const BAD_FRAME_LIMIT = 20;
const BAD_FRAME_WINDOW_MS = 10_000;
const MAX_LONG_POLL_SECONDS = 60;
const MALFORMED_CODES = new Set(['bad_json', 'bad_frame', 'too_large', 'invalid', 'unknown_type']);
/** An HTTP client not heard from for this long is no longer listed as connected. */
const HTTP_CLIENT_IDLE_MS = 10 * 60_000;
const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/**
 * Lines of popups per frame of a UI client's first snapshot: 500 waiting popups of 500 lines
 * are ~150 MB of JSON, which as one frame would cost that much memory at once; in frames of
 * this many lines, each sent once the previous one has been written, it costs one frame.
 */
const SNAPSHOT_LINES_PER_FRAME = 2_000;
/** Queue changes kept for a UI client while its first snapshot goes out; more, and it is not reading. */
const MAX_HELD_CHANGES = 1_000;


export class LocalServer {
  private readonly http: Server;
  private readonly sockets = new WebSocketServer({ noServer: true, clientTracking: false });
  private readonly connections = new Map<string, Connection>();
  private readonly checkOwners = new Map<string, string>();
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly auth: AuthSettings;
  private readonly uiDir: string;
  private boundPort = 0;
  /** HTTP has no connection to watch: a client counts as connected while it keeps calling. */
  private readonly httpClients = new Map<string, { view: ClientView; lastSeen: number }>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly agent: AgentSurface,
    private readonly options: ServerOptions,
  ) {
    // A decision or a timeout goes back on the WebSocket that sent the check, if it is open.
    this.unsubscribe.push(
      agent.checks.events.on('checked', ({ id, origin }) => {
        if (origin !== undefined && this.connections.has(origin)) this.bindCheck(origin, id);
      }),
      agent.checks.events.on('decision', (decision) => this.sendToOwner(decision.id, decision)),
      agent.checks.events.on('timeout', (id, error) => this.sendToOwner(id, error.toReply(id))),
    );
    this.auth = { token: options.token, uiToken: options.uiToken, allowOrigins: new Set(options.allowOrigins), port: () => this.boundPort };
    this.uiDir = options.uiDir ?? join(appRoot(), 'dist', 'renderer');
    // Frames between the soft limit and this hard cap get an `error` reply; beyond it ws
    // closes the connection (1009) before buffering an unbounded message.
    const hardCap = Math.max(options.maxFrameBytes * 4, options.maxFrameBytes + 64 * 1024);
    (this.sockets.options as { maxPayload: number }).maxPayload = hardCap;
    this.http = createServer((request, response) => {
      this.route(request, response).catch((error: unknown) => {
        this.options.log(`HTTP 处理出错: ${(error as Error).stack ?? String(error)}`);
        if (!response.headersSent) sendJson(response, 500, errorReply('internal', '内部错误'));
        else response.end();
      });
    });
    this.http.on('upgrade', (request, socket, head) => this.upgrade(request, socket, head));
    this.http.on('clientError', (_error, socket) => socket.destroy());
    // Slow clients must not pin sockets forever.
    this.http.headersTimeout = 10_000;
    this.http.requestTimeout = (MAX_LONG_POLL_SECONDS + 10) * 1000;
  }

  get port(): number {
    return this.boundPort;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(`端口 ${this.options.port} 已被占用 (另一个 RxGate 是否已在运行?) — 可用 --port 指定其他端口`)
            : error,
        );
      };
      this.http.once('error', onError);
      // Loopback only: the agent is never reachable from the network.
      this.http.listen(this.options.port, '127.0.0.1', () => {
        this.http.off('error', onError);
        this.boundPort = (this.http.address() as { port: number }).port;
        this.startHeartbeat();
        resolve();
      });
    });
  }

  close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const stop of this.unsubscribe.splice(0)) stop();
    for (const connection of this.connections.values()) {
      connection.unsubscribe?.();
      connection.socket.terminate();
    }
    this.connections.clear();
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  clients(): ClientView[] {
    const views: ClientView[] = [];
    for (const connection of this.connections.values()) {
      views.push({ id: connection.id, transport: 'ws', kind: connection.kind, origin: connection.origin, connectedAt: connection.connectedAt });
    }
    const now = Date.now();
    for (const [key, client] of this.httpClients) {
      if (now - client.lastSeen > HTTP_CLIENT_IDLE_MS) this.httpClients.delete(key);
      else views.push(client.view);
    }
    return views;
  }

  /** Remembers which connection sent a check, so its decision goes back on the same socket. */
  private bindCheck(connectionId: string, checkId: string): void {
    this.checkOwners.delete(checkId);
    this.checkOwners.set(checkId, connectionId);
    if (this.checkOwners.size > 5000) this.checkOwners.delete(this.checkOwners.keys().next().value as string);
  }

  /** Closes the popups of a HIS connection that went away: their decisions could reach no one. */
  private abandonChecksOf(connectionId: string): void {
    const owned: string[] = [];
    for (const [checkId, owner] of this.checkOwners) if (owner === connectionId) owned.push(checkId);
    for (const checkId of owned) this.checkOwners.delete(checkId);
    const closed = this.agent.checks.abandon(owned, 'HIS 连接已断开');
    if (closed > 0) this.options.log(`HIS 连接 ${connectionId} 已断开, 关闭了它的 ${closed} 个待处理提醒`);
  }

  private sendToOwner(checkId: string, message: Decision | ErrorReply): void {
    const owner = this.checkOwners.get(checkId);
    const connection = owner ? this.connections.get(owner) : undefined;
    if (connection) this.send(connection, message);
  }

  /**
   * Every frame to a client goes through here. A client that has not taken what was sent
   * before (its unsent bytes over the cap) is dropped rather than buffered for: one more reply
   * of any size is accepted, so memory per connection stays within the cap plus one frame.
   */
  private send(connection: Connection, message: unknown, written?: (error?: Error) => void): void {
    this.sendText(connection, JSON.stringify(message), written);
  }

  /** `send` for a message already in its JSON text, or in that text's UTF-8 bytes. */
  private sendText(connection: Connection, text: string | Buffer, written?: (error?: Error) => void): void {
    const { socket } = connection;
    if (socket.readyState !== WebSocket.OPEN) return;
    const cap = this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    if (socket.bufferedAmount > cap) {
      this.dropSlowClient(connection, `积压 ${socket.bufferedAmount} 字节, 上限 ${cap} 字节`);
      return;
    }
    // Bytes go out as a text frame too: every frame of this protocol is UTF-8 JSON.
    socket.send(text, { binary: false }, written);
  }

  /** Drops a client that does not take what it is sent, before it costs more memory. */
  private dropSlowClient(connection: Connection, why: string): void {
    this.options.log(`连接 ${connection.id} 未读取回复 (${why}), 已断开`);
    // Forgotten now, not when the close event comes round: nothing more is sent to it.
    connection.unsubscribe?.();
    this.connections.delete(connection.id);
    connection.socket.terminate();
    this.agent.clientsChanged();
  }

  // ---- WebSocket ---------------------------------------------------------------------------

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const refuse = (status: number, reason: string) => {
      this.options.log(`拒绝连接 ${url.pathname}: ${reason}`);
      const body = JSON.stringify(errorReply(status === 401 ? 'unauthorized' : status === 404 ? 'not_found' : 'forbidden', reason));
      socket.end(
        `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Forbidden'}\r\n` +
          `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    if (!isLoopbackHost(request.headers.host)) return refuse(403, 'Host 必须是本机地址 (127.0.0.1 / localhost)');
    let kind: 'his' | 'ui';
    if (url.pathname === '/v1' || url.pathname === '/v1/') kind = 'his';
    else if (url.pathname === '/v1/ui') kind = 'ui';
    else return refuse(404, `没有这个地址: ${url.pathname}`);
    const verdict = kind === 'his' ? authorizeHis(request, url, this.auth) : authorizeUi(request, url, this.auth);
    if (!verdict.ok) return refuse(verdict.status, verdict.reason);
    this.sockets.handleUpgrade(request, socket, head, (webSocket) => this.accept(webSocket, kind, request.headers.origin));
  }

  private accept(socket: WebSocket, kind: 'his' | 'ui', origin: string | undefined): void {
    const connection: Connection = {
      id: randomBytes(6).toString('hex'),
      socket,
      kind,
      origin,
      connectedAt: new Date().toISOString(),
      alive: true,
      badFrames: [],
    };
    this.connections.set(connection.id, connection);
    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.on('error', (error) => this.options.log(`连接 ${connection.id} 出错: ${error.message}`));
    socket.on('close', () => {
      connection.unsubscribe?.();
      this.connections.delete(connection.id);
      if (kind === 'his') this.abandonChecksOf(connection.id);
      this.agent.clientsChanged();
    });
    if (kind === 'his') {
      socket.on('message', (data, isBinary) => this.onHisFrame(connection, data, isBinary));
    } else {
      socket.on('message', (data, isBinary) => this.onUiFrame(connection, data, isBinary));
      const push = (event: UiEvent) => this.send(connection, event);
      const { bridge } = this.agent;
      connection.heldChanges = [];
      const stopPending = bridge.onPending((change) => {
        if (!connection.heldChanges) return push({ type: 'ui.pending', ...change });
        connection.heldChanges.push(change);
        // A client that never takes its snapshot would otherwise have every change kept for it.
        if (connection.heldChanges.length > MAX_HELD_CHANGES) this.dropSlowClient(connection, `${MAX_HELD_CHANGES} 个变化等待首次快照发完`);
      });
      const stopStatus = bridge.onStatus((status) => push({ type: 'ui.status', status }));
      connection.unsubscribe = () => {
        stopPending();
        stopStatus();
      };
      void bridge.getPending().then((pending) => this.sendSnapshot(connection, pending));
      void bridge.getStatus().then((status) => push({ type: 'ui.status', status }));
    }
    this.agent.clientsChanged();
  }

  /**
   * A UI client's first view of the queue: `reset` with the first popups, then the rest as
   * `added` frames, each sent when the one before has been written to the socket (see
   * {@link SNAPSHOT_LINES_PER_FRAME}). Changes made meanwhile are held and follow in order, so
   * the client never sees a popup removed before it was added.
   */
  private sendSnapshot(connection: Connection, pending: PendingView[]): void {
    let next = 0;
    const sendFrom = (first: boolean) => {
      if (!this.connections.has(connection.id)) return;
      const start = next;
      let lines = 0;
      while (next < pending.length && (next === start || lines + pending[next]!.items.length <= SNAPSHOT_LINES_PER_FRAME)) {
        lines += pending[next]!.items.length;
        next += 1;
      }
      const added = pending.slice(start, next);
      const done = next >= pending.length;
      this.send(connection, { type: 'ui.pending', added, removed: [], ...(first ? { reset: true } : {}) }, done ? undefined : (error) => {
        if (!error) sendFrom(false);
      });
      if (!done) return;
      const held = connection.heldChanges ?? [];
      connection.heldChanges = undefined;
      for (const change of held) this.send(connection, { type: 'ui.pending', ...change });
    };
    sendFrom(true);
  }

  /** Decodes one frame: text, within the size limit, a JSON object. */
  private decodeFrame(connection: Connection, data: RawData, isBinary: boolean): Record<string, unknown> | null {
    // ws hands over a Buffer for text frames; only fragments and ArrayBuffers need joining.
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    let failure: ProtocolError | null = null;
    let parsed: unknown;
    if (isBinary) failure = new ProtocolError('bad_frame', '只接受文本帧 (UTF-8 JSON)');
    else if (bytes.length > this.options.maxFrameBytes) {
      failure = new ProtocolError('too_large', `消息过大: ${bytes.length} 字节, 上限 ${this.options.maxFrameBytes} 字节`);
    } else {
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
          failure = new ProtocolError('bad_frame', '每个消息必须是一个 JSON 对象', '$');
        }
      } catch (error) {
        failure = new ProtocolError('bad_json', `不是有效的 JSON: ${(error as Error).message}`);
      }
    }
    if (failure) {
      this.replyError(connection, failure);
      return null;
    }
    return parsed as Record<string, unknown>;
  }

  private onHisFrame(connection: Connection, data: RawData, isBinary: boolean): void {
    const message = this.decodeFrame(connection, data, isBinary);
    if (!message) return;
    const id = typeof message.id === 'string' ? message.id : undefined;
    try {
      if ('infno' in message) {
        // `handle` never rejects: every failure is answered as an infcode -1 envelope.
        connection.national = (connection.national ?? Promise.resolve())
          .then(() => this.agent.nhsa.handle(message, connection.id))
          .then((reply) => this.send(connection, reply))
          .catch((error: unknown) => this.options.log(`国家接口回复未能发送: ${(error as Error).message}`));
        return;
      }
      const { checks } = this.agent;
      switch (message.type) {
        case 'check':
          // Asynchronous only where a hub is asked for the patient's history (within its budget).
          checks.checkWithHub(message, connection.id).then(
            (verdict) => this.sendText(connection, checks.replyUtf8(verdict)),
            (error: unknown) => this.replyError(connection, toProtocolError(error, this.options.log), id),
          );
          return;
        case 'commit': {
          const result = checks.commit(message);
          this.send(connection, { type: 'ack', of: 'commit', ...result });
          return;
        }
        case 'cancel': {
          const result = checks.cancel(message);
          this.send(connection, { type: 'ack', of: 'cancel', ...result });
          return;
        }
        case 'status':
          this.send(connection, { type: 'status', id, ...this.agent.status() });
          return;
        default:
          throw new ProtocolError(
            'unknown_type',
            typeof message.type === 'string' ? `不支持的消息类型: ${message.type}` : '缺少 type 字段',
            '$.type',
          );
      }
    } catch (error) {
      this.replyError(connection, toProtocolError(error, this.options.log), id);
    }
  }

  private onUiFrame(connection: Connection, data: RawData, isBinary: boolean): void {
    const message = this.decodeFrame(connection, data, isBinary);
    if (!message) return;
    const request = UiRequest.safeParse(message);
    if (!request.success) {
      this.replyError(connection, ProtocolError.fromZod(request.error, undefined));
      return;
    }
    const reply = (event: UiEvent) => this.send(connection, event);
    const { requestId } = request.data;
    dispatchUiRequest(this.agent.bridge, request.data).then(
      (value) => reply({ type: 'ui.reply', requestId, ok: true, value }),
      (error: unknown) => reply({ type: 'ui.reply', requestId, ok: false, error: toProtocolError(error, this.options.log).message }),
    );
  }

  private replyError(connection: Connection, error: ProtocolError, id?: string): void {
    this.send(connection, error.toReply(id));
    // Only malformed frames count as misbehaving; a well-formed request the agent cannot
    // honour (an unknown check after a restart, say) is ordinary business.
    if (!MALFORMED_CODES.has(error.code)) return;
    const now = Date.now();
    connection.badFrames = connection.badFrames.filter((at) => now - at < BAD_FRAME_WINDOW_MS);
    connection.badFrames.push(now);
    if (connection.badFrames.length > BAD_FRAME_LIMIT) {
      this.options.log(`连接 ${connection.id} 连续发送无效消息, 已断开`);
      connection.socket.close(1008, 'too many invalid messages');
    }
  }

  private startHeartbeat(): void {
    const interval = this.options.heartbeatMs ?? 30_000;
    this.heartbeat = setInterval(() => {
      for (const connection of this.connections.values()) {
        if (!connection.alive) {
          connection.socket.terminate();
          continue;
        }
        connection.alive = false;
        connection.socket.ping();
      }
    }, interval);
    this.heartbeat.unref();
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (isNhsaPath(path)) {
      const nhsa = this.options.nhsa ?? { auth: 'token', tokenHeaders: [] };
      const settings = { ...nhsa, token: this.options.token, allowOrigins: this.auth.allowOrigins, maxBodyBytes: this.options.maxFrameBytes };
      return serveNhsa(request, response, path, settings, this.agent.nhsa, (origin) => {
        this.trackHttpClient(origin).lastSeen = Date.now();
      });
    }
    // DNS-rebinding defence: a page on evil.example resolved to 127.0.0.1 still sends its own Host.
    if (!isLoopbackHost(request.headers.host)) {
      this.refused(path, 'Host 不是本机地址', request);
      return sendJson(response, 403, errorReply('forbidden', 'Host 必须是本机地址 (127.0.0.1 / localhost)'));
    }
    if (path === '/' || path === '/ui' || path.startsWith('/ui/')) return this.serveUi(request, response, url.pathname);
    if (path === '/v1/ui/session') {
      // The UI page asks whether its token is still the agent's, to say so when it cannot connect.
      const verdict = authorizeUi(request, url, this.auth);
      if (!verdict.ok) {
        this.options.log(`拒绝界面请求 ${path}: ${verdict.reason}`);
        return sendJson(response, verdict.status, errorReply(verdict.status === 401 ? 'unauthorized' : 'forbidden', verdict.reason));
      }
      response.writeHead(204, { 'Cache-Control': 'no-store' });
      return void response.end();
    }

    const isApi = path.startsWith('/v1/');
    if (!isApi) return sendJson(response, 404, errorReply('not_found', `没有这个地址: ${path}`));
    // Asked before the HIS presents its token, so it needs none: the proof shows the token without revealing it.
    if (path === '/v1/attest') return this.attest(request, response, url);
    const auth = authorizeHis(request, url, this.auth, { allowQueryToken: false });
    const origin = request.headers.origin;
    if (origin && auth.ok) {
      response.setHeader('Access-Control-Allow-Origin', origin);
      response.setHeader('Vary', 'Origin');
    }
    if (request.method === 'OPTIONS') {
      if (!origin) return sendJson(response, 400, errorReply('bad_request', '预检请求 (OPTIONS) 须带 Origin 头'));
      if (!auth.ok) {
        this.refused(path, auth.reason, request);
        return sendJson(response, 403, errorReply('forbidden', auth.reason));
      }
      response.writeHead(204, {
        'Access-Control-Allow-Origin': origin ?? '',
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, Authorization',
        'Access-Control-Max-Age': '600',
        Vary: 'Origin',
      });
      return void response.end();
    }
    if (!auth.ok) {
      this.refused(path, auth.reason, request);
      return sendJson(response, auth.status, errorReply(auth.status === 401 ? 'unauthorized' : 'forbidden', auth.reason));
    }
    const client = this.trackHttpClient(origin);
    try {
      await this.api(request, response, path, url);
    } finally {
      client.lastSeen = Date.now();
    }
  }

  /** A refused HTTP request is logged as a refused WebSocket is: the path, the reason and the Origin, nothing else. */
  private refused(path: string, reason: string, request: IncomingMessage): void {
    const origin = request.headers.origin;
    this.options.log(`拒绝请求 ${request.method ?? 'GET'} ${path}: ${reason}${origin ? ` (来源 ${origin.slice(0, 100)})` : ''}`);
  }

  /** `GET /v1/attest?challenge=…`: proves this process holds the token (protocol.md "Verifying the agent"). */
  private attest(request: IncomingMessage, response: ServerResponse, url: URL): void {
    if (request.method !== 'GET') return methodNotAllowed(response, 'GET');
    const challenge = url.searchParams.get('challenge') ?? '';
    if (!CHALLENGE_PATTERN.test(challenge)) {
      return sendJson(response, 400, errorReply('bad_request', 'challenge 须为 16–128 个字符的随机串 (字母、数字、- 或 _)'));
    }
    sendJson(response, 200, { type: 'attest', challenge, proof: attestationProof(this.options.token, challenge) });
  }

  private trackHttpClient(origin: string | undefined): { lastSeen: number } {
    const key = origin ?? 'native';
    const existing = this.httpClients.get(key);
    if (existing) return existing;
    const client = { view: { id: `http-${key}`, transport: 'http' as const, kind: 'his' as const, origin, connectedAt: new Date().toISOString() }, lastSeen: Date.now() };
    this.httpClients.set(key, client);
    this.agent.clientsChanged();
    return client;
  }

  private async api(request: IncomingMessage, response: ServerResponse, path: string, url: URL): Promise<void> {
    const method = request.method ?? 'GET';
    const decisionMatch = /^\/v1\/decisions\/([^/]+)$/.exec(path);
    if (decisionMatch) {
      if (method !== 'GET') return methodNotAllowed(response, 'GET');
      let id: string;
      try {
        id = decodeURIComponent(decisionMatch[1]!);
      } catch {
        return sendJson(response, 400, errorReply('bad_request', '路径中的百分号编码无效'));
      }
      const wait = Math.min(Math.max(Number(url.searchParams.get('wait') ?? 0) || 0, 0), MAX_LONG_POLL_SECONDS);
      try {
        const decision = await this.agent.checks.waitForDecision(id, wait * 1000);
        if (decision) return sendJson(response, 200, decision);
        response.writeHead(204);
        return void response.end();
      } catch (error) {
        const failure = toProtocolError(error, this.options.log);
        return sendJson(response, failure.status, failure.toReply(id));
      }
    }
    const { checks } = this.agent;
    const routes: Record<string, { method: string; run: (body: Record<string, unknown>) => unknown | Promise<unknown> }> = {
      '/v1/check': { method: 'POST', run: (body) => checks.checkWithHub({ type: 'check', ...body }) },
      '/v1/commit': { method: 'POST', run: (body) => ({ type: 'ack', of: 'commit', ...checks.commit({ type: 'commit', ...body }) }) },
      '/v1/cancel': { method: 'POST', run: (body) => ({ type: 'ack', of: 'cancel', ...checks.cancel({ type: 'cancel', ...body }) }) },
      '/v1/status': { method: 'GET', run: () => ({ type: 'status', ...this.agent.status() }) },
      '/v1/rules/reload': { method: 'POST', run: () => ({ type: 'rules', rules: this.agent.reloadRules() }) },
      '/v1/sync': { method: 'POST', run: async () => ({ type: 'sync', result: await this.agent.syncNow(), status: this.agent.status().sync }) },
    };
    const route = routes[path];
    if (!route) return sendJson(response, 404, errorReply('not_found', `没有这个地址: ${path}`));
    if (method !== route.method) return methodNotAllowed(response, route.method);
    let body: Record<string, unknown> = {};
    if (method === 'POST') {
      const read = await this.readBody(request, response, path === '/v1/sync' || path === '/v1/rules/reload');
      if (read === undefined) return;
      body = read;
    }
    try {
      sendJson(response, 200, await route.run(body));
    } catch (error) {
      const failure = toProtocolError(error, this.options.log);
      sendJson(response, failure.status, failure.toReply(typeof body.id === 'string' ? body.id : undefined));
    }
  }

  /**
   * Reads a JSON object body within the frame limit. Answers the error itself and returns
   * undefined when the body is unusable.
   */
  private readBody(
    request: IncomingMessage,
    response: ServerResponse,
    allowEmpty = false,
  ): Promise<Record<string, unknown> | undefined> {
    const limit = this.options.maxFrameBytes;
    const fail = (status: number, error: ProtocolError) => {
      sendJson(response, status, error.toReply());
      return undefined;
    };
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) {
      request.resume();
      return Promise.resolve(fail(413, new ProtocolError('too_large', `请求过大: ${declared} 字节, 上限 ${limit} 字节`)));
    }
    return readBytes(request, limit).then((bytes) => {
      if (bytes === null) return undefined;
      if (bytes === 'too_large') return fail(413, new ProtocolError('too_large', `请求过大, 上限 ${limit} 字节`));
      const text = bytes.toString('utf8');
      if (!text.trim() && allowEmpty) return {};
      try {
        const parsed: unknown = JSON.parse(text);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
          return fail(400, new ProtocolError('bad_frame', '请求体必须是一个 JSON 对象', '$'));
        }
        return parsed as Record<string, unknown>;
      } catch (error) {
        return fail(400, new ProtocolError('bad_json', `不是有效的 JSON: ${(error as Error).message}`));
      }
    });
  }

  private serveUi(request: IncomingMessage, response: ServerResponse, pathname: string): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(response, 'GET');
    if (pathname === '/' || pathname === '/ui') {
      response.writeHead(302, { Location: '/ui/' });
      return void response.end();
    }
    const file = resolveUiAsset(pathname.slice('/ui'.length), this.uiDir);
    if (!file) return sendJson(response, 400, errorReply('bad_request', '无效的路径'));
    if (!existsSync(file) || !statSync(file).isFile()) {
      const missing = !existsSync(join(this.uiDir, 'index.html'));
      return missing
        ? sendJson(response, 503, errorReply('ui_not_built', `界面尚未构建 (${this.uiDir}): 请先运行 npm run build`))
        : sendJson(response, 404, errorReply('not_found', `没有这个文件: ${pathname}`));
    }
    response.writeHead(200, uiResponseHeaders(file, 'browser'));
    response.end(request.method === 'HEAD' ? undefined : readFileSync(file));
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(text);
}

function methodNotAllowed(response: ServerResponse, allowed: string): void {
  response.setHeader('Allow', allowed);
  sendJson(response, 405, errorReply('method_not_allowed', `只支持 ${allowed}`));
}

/** Anything thrown below the transport becomes a reply; unexpected errors are logged, not leaked. */
function toProtocolError(error: unknown, log: (line: string) => void): ProtocolError {
  if (error instanceof ProtocolError) return error;
  log(`内部错误: ${(error as Error).stack ?? String(error)}`);
  return new ProtocolError('internal', '内部错误, 请查看代理日志', undefined);
}

