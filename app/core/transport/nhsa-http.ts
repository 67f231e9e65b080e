/**
 * `/nhsa…` over HTTP, as national clients call it: bodies in UTF-8 (with or without BOM),
 * GBK or GB18030 and the reply in the same charset; the token in `Authorization: Bearer` or
 * in a header the hospital names (`apikey`), or, where IT chooses `loopback`, none from a
 * native process on this PC; and every refusal in the national envelope with its HTTP
 * status, because these clients read `infcode` from every reply.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import iconv from 'iconv-lite';
import { isLoopbackHost, type AuthResult } from './auth';

export type NhsaAuthMode = 'token' | 'loopback';

export interface NhsaHttpSettings {
  auth: NhsaAuthMode;
  token: string;
  /** Header names (any case) that may carry the token besides `Authorization: Bearer`. */
  tokenHeaders: readonly string[];
  allowOrigins: ReadonlySet<string>;
  maxBodyBytes: number;
}

/** What the HTTP edge needs from the national service. */
export interface NhsaHandler {
  /** Never rejects: whatever goes wrong is answered in the national envelope. */
  handle(message: Record<string, unknown>): Promise<Record<string, unknown>>;
  refusal(message: string, raw?: unknown, path?: string): Record<string, unknown>;
}

/** `/nhsa`, `/nhsa/3101`, and the same under `/v1`. */
const NHSA_PATH = /^(?:\/v1)?\/nhsa(?:\/(\d{4}))?\/?$/;

/** Everything under `/nhsa` (and `/v1/nhsa`) is answered here, unknown paths included. */
export function isNhsaPath(pathname: string): boolean {
  return /^(?:\/v1)?\/nhsa(?:\/|$)/.test(pathname);
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Whether the peer address is this machine. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(?:::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/**
 * Who may call `/nhsa…`. A browser page (it sends `Origin`) must be on the allow-list, as on
 * every other endpoint. A native client presents the token, in `Authorization: Bearer` or a
 * configured header; with `loopback`, a request that shows no sign of a browser (no `Origin`,
 * no `Sec-Fetch-*`) from a loopback peer to a loopback Host needs none.
 */
export function authorizeNhsa(request: IncomingMessage, settings: NhsaHttpSettings): AuthResult {
  const origin = headerValue(request, 'origin');
  if (origin !== undefined) {
    if (settings.allowOrigins.has(origin)) return { ok: true };
    return { ok: false, status: 403, reason: `来源 ${origin} 不在允许列表中 (--allow-origin)` };
  }
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headerValue(request, 'authorization') ?? '')?.[1];
  const offered = [bearer, ...settings.tokenHeaders.map((name) => headerValue(request, name)?.trim())].filter((value): value is string => Boolean(value));
  if (offered.some((token) => sameSecret(token, settings.token))) return { ok: true };
  if (settings.auth === 'loopback') {
    const browser = Object.keys(request.headers).some((name) => name.startsWith('sec-fetch-'));
    if (!browser && isLoopbackAddress(request.socket.remoteAddress) && isLoopbackHost(request.headers.host)) return { ok: true };
    if (browser) return { ok: false, status: 403, reason: '浏览器发出的请求不能免令牌访问国家接口' };
  }
  const where = ['Authorization: Bearer', ...settings.tokenHeaders].join(' 或 ');
  if (offered.length === 0) return { ok: false, status: 401, reason: `缺少令牌: 请在 ${where} 头中提供` };
  return { ok: false, status: 401, reason: '令牌不正确' };
}

/** The charsets a body may come in; GBK and GB2312 are read as GB18030, their superset. */
const CHINESE_CHARSETS = new Set(['gbk', 'gb2312', 'gb18030', 'cp936', 'x-gbk', 'euc-cn']);

export type DecodedBody = { ok: true; text: string; charset: string } | { ok: false; status: number; reason: string };

/**
 * The body's text and the charset to answer in: the one `Content-Type` names; else UTF-8
 * when the bytes are UTF-8 (a BOM is dropped); else GBK, which is what a Windows client
 * writing the system code page sends.
 */
function declaredCharset(contentType: string | undefined): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '')?.[1]?.toLowerCase();
}

export function decodeBody(bytes: Buffer, contentType: string | undefined): DecodedBody {
  const declared = declaredCharset(contentType);
  const withoutBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  if (declared === 'utf-8' || declared === 'utf8') return { ok: true, text: withoutBom.toString('utf8'), charset: 'utf-8' };
  if (declared && CHINESE_CHARSETS.has(declared)) return { ok: true, text: iconv.decode(bytes, 'gb18030'), charset: declared };
  if (declared && declared !== 'us-ascii' && declared !== 'iso-8859-1') {
    if (!iconv.encodingExists(declared)) return { ok: false, status: 415, reason: `不支持的字符集: ${declared} (支持 UTF-8、GBK、GB18030)` };
    return { ok: true, text: iconv.decode(bytes, declared), charset: declared };
  }
  if (withoutBom !== bytes) return { ok: true, text: withoutBom.toString('utf8'), charset: 'utf-8' };
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), charset: 'utf-8' };
  } catch {
    return { ok: true, text: iconv.decode(bytes, 'gb18030'), charset: 'gbk' };
  }
}

/** The reply in the request's charset; GBK family replies are written as GB18030 (GBK-identical for GBK's characters). */
export function encodeReply(body: unknown, charset: string): Buffer {
  const text = JSON.stringify(body);
  if (charset === 'utf-8') return Buffer.from(text, 'utf8');
  return iconv.encode(text, CHINESE_CHARSETS.has(charset) ? 'gb18030' : charset);
}

function send(response: ServerResponse, status: number, body: unknown, charset = 'utf-8'): void {
  const bytes = encodeReply(body, charset);
  response.writeHead(status, {
    'Content-Type': `application/json; charset=${charset === 'utf-8' ? 'utf-8' : charset.toUpperCase()}`,
    'Content-Length': bytes.length,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(bytes);
}

/**
 * A request body of at most `limit` bytes: the bytes, `too_large` (the rest is read and dropped
 * so the connection stays usable), or null when the request broke off. Both HTTP edges read
 * bodies through it.
 */
export function readBytes(request: IncomingMessage, limit: number): Promise<Buffer | 'too_large' | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let overflow = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) overflow = true;
      else chunks.push(chunk);
    });
    request.on('error', () => resolve(null));
    request.on('end', () => resolve(overflow ? 'too_large' : Buffer.concat(chunks)));
  });
}

/**
 * Serves one `/nhsa…` request end to end. Refusals of the request itself (Host, origin,
 * token, method, size, charset) carry their HTTP status; anything about the message's
 * content is the platform's business and answered 200 with `infcode` -1, as the platform does.
 */
export async function serveNhsa(
  request: IncomingMessage,
  response: ServerResponse,
  pathname: string,
  settings: NhsaHttpSettings,
  handler: NhsaHandler,
  /** Told of every authorised request, so the status view lists the HIS as connected. */
  onAccepted?: (origin: string | undefined) => void,
): Promise<void> {
  // Refusals come before the body is read: they are written in the charset the client named,
  // so a GBK client can show the reason.
  const named = declaredCharset(headerValue(request, 'content-type'));
  const refuse = (status: number, reason: string) => {
    request.resume();
    send(response, status, handler.refusal(reason), named && CHINESE_CHARSETS.has(named) ? named : 'utf-8');
  };
  // DNS-rebinding defence, as everywhere: a remote page resolved to 127.0.0.1 keeps its Host.
  if (!isLoopbackHost(request.headers.host)) return refuse(403, 'Host 必须是本机地址 (127.0.0.1 / localhost)');
  const origin = headerValue(request, 'origin');
  const auth = authorizeNhsa(request, settings);
  if (origin !== undefined && auth.ok) {
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Vary', 'Origin');
  }
  if (request.method === 'OPTIONS') {
    if (!auth.ok || origin === undefined) return refuse(auth.ok ? 400 : auth.status, auth.ok ? '预检请求 (OPTIONS) 须带 Origin 头' : auth.reason);
    response.writeHead(204, {
      'Access-Control-Allow-Methods': 'POST, OPTIONS',
      'Access-Control-Allow-Headers': ['Content-Type', 'Authorization', ...settings.tokenHeaders].join(', '),
      'Access-Control-Max-Age': '600',
    });
    return void response.end();
  }
  if (!auth.ok) return refuse(auth.status, auth.reason);
  if (!NHSA_PATH.test(pathname)) return refuse(404, `没有这个地址: ${pathname} (国家接口为 /nhsa 或 /nhsa/交易编号)`);
  onAccepted?.(origin);
  if (request.method !== 'POST') {
    response.setHeader('Allow', 'POST');
    return refuse(405, '国家接口只支持 POST');
  }
  const length = Number(request.headers['content-length'] ?? 0);
  if (length > settings.maxBodyBytes) return refuse(413, `请求过大: ${length} 字节, 上限 ${settings.maxBodyBytes} 字节`);
  const bytes = await readBytes(request, settings.maxBodyBytes);
  if (bytes === null) return;
  if (bytes === 'too_large') return refuse(413, `请求过大, 上限 ${settings.maxBodyBytes} 字节`);
  const decoded = decodeBody(bytes, headerValue(request, 'content-type'));
  if (!decoded.ok) return refuse(decoded.status, decoded.reason);
  let message: unknown;
  try {
    message = JSON.parse(decoded.text);
  } catch (error) {
    return send(response, 200, handler.refusal(`不是有效的 JSON: ${(error as Error).message}`), decoded.charset);
  }
  if (!message || typeof message !== 'object' || Array.isArray(message)) {
    return send(response, 200, handler.refusal('请求体必须是一个 JSON 对象', undefined, '$'), decoded.charset);
  }
  const body = message as Record<string, unknown>;
  const infno = NHSA_PATH.exec(pathname)?.[1];
  if (infno && body.infno !== undefined && body.infno !== null && String(body.infno) !== infno) {
    return send(response, 200, handler.refusal(`infno ${String(body.infno)} 与地址 ${infno} 不一致`, body, '$.infno'), decoded.charset);
  }
  send(response, 200, await handler.handle({ ...body, infno: body.infno ?? infno }), decoded.charset);
}
