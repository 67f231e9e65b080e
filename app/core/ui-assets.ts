/**
 * The built UI's files and the headers they are served with, in one place for both ways the UI
 * is served: the Electron protocol handler (rxgate://ui/) and the headless agent (/ui/ on
 * loopback). One path check — nothing outside the UI folder, whatever the encoding — and one
 * Content Security Policy, tightened per target.
 */
import { isAbsolute, normalize, relative, resolve } from 'node:path';
import { sep } from 'node:path';

/** Where the UI runs: inside Electron, or in a browser window served by the headless agent. */
export type UiTarget = 'electron' | 'browser';

/**
 * The policy for the UI's pages. The browser window talks to the agent over the loopback
 * WebSocket; inside Electron the page has no network at all (IPC only).
 */
export function contentSecurityPolicy(target: UiTarget): string {
  const directives: Array<[string, string]> = [
    ['default-src', "'none'"],
    ['script-src', "'self'"],
    ['style-src', "'self'"],
    ['img-src', "'self' data:"],
    ['font-src', "'self'"],
    ['connect-src', target === 'browser' ? "'self' ws://127.0.0.1:* ws://localhost:*" : "'none'"],
    ['base-uri', "'none'"],
    ['form-action', "'none'"],
    ['object-src', "'none'"],
  ];
  // frame-ancestors is ignored (with a console warning) in a <meta> tag, so only headers carry it.
  return directives.map(([name, value]) => `${name} ${value}`).join('; ');
}

/** The header form adds what a <meta> tag cannot carry. */
function headerPolicy(target: UiTarget): string {
  return `${contentSecurityPolicy(target)}; frame-ancestors 'none'`;
}

/**
 * The file under `rootDir` that a URL path names, or null when it is not one: `..` that
 * leaves the folder (also percent-encoded), backslashes, NUL, bad percent-encoding.
 * `pathname` is the part after the UI's own prefix, still percent-encoded.
 */
export function resolveUiAsset(pathname: string, rootDir: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const relativePath = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const root = resolve(rootDir);
  const file = resolve(root, normalize(relativePath));
  const inside = relative(root, file);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return null;
  return file;
}

export function contentTypeFor(file: string): string {
  const extension = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  const types: Record<string, string> = {
    html: 'text/html; charset=utf-8',
    js: 'text/javascript; charset=utf-8',
    css: 'text/css; charset=utf-8',
    svg: 'image/svg+xml',
    png: 'image/png',
    ico: 'image/x-icon',
    woff2: 'font/woff2',
    json: 'application/json; charset=utf-8',
    map: 'application/json; charset=utf-8',
  };
  return types[extension] ?? 'application/octet-stream';
}

/** Headers for one UI file. */
export function uiResponseHeaders(file: string, target: UiTarget): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': contentTypeFor(file),
    'Content-Security-Policy': headerPolicy(target),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  };
  if (target === 'browser') {
    headers['X-Frame-Options'] = 'DENY';
    headers['Referrer-Policy'] = 'no-referrer';
  }
  return headers;
}
