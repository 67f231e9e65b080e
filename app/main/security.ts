/**
 * The security decisions of the Electron shell, as plain functions (no Electron import) so the
 * tests run in Node: where the UI is loaded from, which URLs count as ours, the Content
 * Security Policy, and which files the `rxgate://` scheme may serve.
 */
import { isAbsolute, normalize, relative, resolve, sep } from 'node:path';

/** The privileged scheme the windows load the built renderer from: `rxgate://ui/index.html`. */
export const rendererScheme = 'rxgate';
export const rendererHost = 'ui';

export type RendererView = 'popup' | 'status';

/** The address of a window's page; the fragment tells the renderer which view to show. */
export function rendererUrl(view: RendererView): string {
  return `${rendererScheme}://${rendererHost}/index.html#view=${view}`;
}

/**
 * Whether a URL is one of our renderer pages. IPC handlers accept calls only from frames at
 * such a URL, so a page that somehow navigated elsewhere (or an injected frame) gets nothing.
 */
export function isTrustedRendererUrl(url: string | null | undefined): boolean {
  if (!url) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (
    parsed.protocol === `${rendererScheme}:` &&
    parsed.hostname === rendererHost &&
    parsed.port === '' &&
    parsed.username === '' &&
    parsed.password === '' &&
    (parsed.pathname === '/' || parsed.pathname === '/index.html')
  );
}

/**
 * The renderer's Content Security Policy. Only our own bundle runs; nothing is fetched from
 * the network (no CDN, no fonts). In a browser window the page must reach the agent's UI
 * WebSocket on loopback; in Electron the page talks through the preload, so it may connect
 * nowhere. Inline styles set through React's `style` property use the CSSOM, which
 * `style-src 'self'` allows, so no 'unsafe-inline' is needed.
 */
export function contentSecurityPolicy(target: 'electron' | 'browser'): string {
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
  // frame-ancestors is ignored (with a console warning) in a <meta> tag, so only the header has it.
  if (target === 'electron') directives.push(['frame-ancestors', "'none'"]);
  return directives.map(([name, value]) => `${name} ${value}`).join('; ');
}

/**
 * The file the `rxgate://ui/…` request asks for inside the built renderer folder, or null for
 * anything outside it (`..`, encoded separators, another host). `/` is the index page.
 */
export function resolveRendererAsset(requestUrl: string, rootDir: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(requestUrl);
  } catch {
    return null;
  }
  if (parsed.protocol !== `${rendererScheme}:` || parsed.hostname !== rendererHost) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(parsed.pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null;
  const relativePath = pathname === '/' || pathname === '' ? 'index.html' : pathname.replace(/^\/+/, '');
  const root = resolve(rootDir);
  const file = resolve(root, normalize(relativePath));
  const inside = relative(root, file);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return null;
  return file;
}

/** Content types for what the renderer build produces; anything else is served as bytes. */
export function contentTypeFor(file: string): string {
  const extension = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  const types: Record<string, string> = {
    html: 'text/html; charset=utf-8',
    js: 'text/javascript; charset=utf-8',
    css: 'text/css; charset=utf-8',
    svg: 'image/svg+xml',
    png: 'image/png',
    json: 'application/json; charset=utf-8',
    map: 'application/json; charset=utf-8',
  };
  return types[extension] ?? 'application/octet-stream';
}

/** Response headers for every renderer file served to an Electron window. */
export function rendererResponseHeaders(file: string): Record<string, string> {
  return {
    'Content-Type': contentTypeFor(file),
    'Content-Security-Policy': contentSecurityPolicy('electron'),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  };
}

/**
 * The renderer never needs a permission (camera, notifications, clipboard, geolocation...), so
 * every request and every check is refused. A function rather than a constant so the handler
 * wiring and the test share one decision.
 */
export function permissionAllowed(_permission: string, _requestingUrl: string): boolean {
  return false;
}

/**
 * Navigation away from the loaded page is never wanted: the UI is a single page and opens no
 * links. Kept as a function so the rule is tested and any future exception is made here.
 */
export function navigationAllowed(_targetUrl: string): boolean {
  return false;
}

/**
 * Requests a page may make at all. Our pages load from `rxgate:` and need nothing else; the
 * DevTools of a development build load from `devtools:`. Everything else (http, https, ws,
 * file) is cancelled, so even a script that slipped in could not send data anywhere.
 */
export function requestAllowed(url: string): boolean {
  return /^(rxgate|devtools|data|blob):/i.test(url);
}
