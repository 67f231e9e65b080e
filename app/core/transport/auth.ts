/**
 * Who may talk to the agent (protocol.md "Connection"). Pure functions over the request, so
 * every refusal is tested without a socket.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface AuthSettings {
  token: string;
  uiToken: string;
  allowOrigins: ReadonlySet<string>;
  port: () => number;
}

export type AuthResult = { ok: true } | { ok: false; status: 401 | 403; reason: string };

/** Loopback names only: defeats DNS rebinding, where a remote page's name resolves to 127.0.0.1. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const match = /^(\[::1\]|127\.0\.0\.1|localhost)(?::(\d{1,5}))?$/i.exec(host.trim());
  return match !== null;
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function bearer(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/**
 * The HIS channel: a browser HIS is recognised by its Origin, which must be on the allow-list;
 * a native client sends no Origin and must present the token (query `?token=` on the
 * WebSocket upgrade, `Authorization: Bearer` everywhere).
 */
export function authorizeHis(
  request: IncomingMessage,
  url: URL,
  settings: AuthSettings,
  options: { allowQueryToken?: boolean } = {},
): AuthResult {
  const origin = request.headers.origin;
  if (origin !== undefined) {
    if (settings.allowOrigins.has(origin)) return { ok: true };
    return { ok: false, status: 403, reason: `来源 ${origin} 不在允许列表中 (--allow-origin)` };
  }
  const token = bearer(request) ?? (options.allowQueryToken === false ? undefined : (url.searchParams.get('token') ?? undefined));
  if (token === undefined) {
    const how = options.allowQueryToken === false ? 'Authorization: Bearer 头' : '?token= 或 Authorization: Bearer 头';
    return { ok: false, status: 401, reason: `缺少令牌: 请用 ${how} 提供` };
  }
  if (!sameSecret(token, settings.token)) return { ok: false, status: 401, reason: '令牌不正确' };
  return { ok: true };
}

/**
 * The UI channel has its own token (handed to the UI in its URL), and a browser may only open
 * it from the agent's own pages, so a HIS page cannot impersonate the doctor's popup.
 */
export function authorizeUi(request: IncomingMessage, url: URL, settings: AuthSettings): AuthResult {
  const origin = request.headers.origin;
  if (origin !== undefined) {
    const own = [`http://127.0.0.1:${settings.port()}`, `http://localhost:${settings.port()}`];
    if (!own.includes(origin)) return { ok: false, status: 403, reason: `界面通道只接受本代理页面的连接, 来源 ${origin} 被拒绝` };
  }
  const token = url.searchParams.get('token') ?? bearer(request);
  if (!sameSecret(token ?? undefined, settings.uiToken)) return { ok: false, status: 401, reason: '界面令牌不正确' };
  return { ok: true };
}

/** What a challenge must look like: fresh randomness from the HIS, base64url or hex. */
export const CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * The agent's answer to a HIS's challenge (protocol.md "Verifying the agent"): an HMAC of the
 * challenge keyed with the token. Only a process that knows the token can compute it, so a
 * HIS can tell the real agent from a process that took its port before sending it the token.
 * The label keeps this proof from being reusable as any other value keyed with the token.
 */
export function attestationProof(token: string, challenge: string): string {
  return createHmac('sha256', token).update(`rxgate-attest\n${challenge}`).digest('base64url');
}
