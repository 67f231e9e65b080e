/**
 * The security decisions of the Electron shell, as plain functions (no Electron import) so the
 * tests run in Node: where the UI is loaded from, which URLs count as ours, the Content
 * Security Policy, and which files the `rxgate://` scheme may serve.
 */
import { resolveUiAsset, uiResponseHeaders } from '../core/ui-assets';

export { contentSecurityPolicy, contentTypeFor } from '../core/ui-assets';

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
  return resolveUiAsset(parsed.pathname, rootDir);
}

/** Headers for a UI file served to the Electron windows. */
export function rendererResponseHeaders(file: string): Record<string, string> {
  return uiResponseHeaders(file, 'electron');
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
