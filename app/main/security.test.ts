import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import {
  contentSecurityPolicy,
  isTrustedRendererUrl,
  navigationAllowed,
  permissionAllowed,
  rendererResponseHeaders,
  rendererUrl,
  requestAllowed,
  resolveRendererAsset,
} from './security';

test('only our own renderer pages are trusted', () => {
  assert.equal(isTrustedRendererUrl(rendererUrl('popup')), true);
  assert.equal(isTrustedRendererUrl(rendererUrl('status')), true);
  assert.equal(isTrustedRendererUrl('rxgate://ui/'), true);
  for (const url of [
    'rxgate://evil/index.html',
    'rxgate://ui/other.html',
    'rxgate://user:pw@ui/index.html',
    'http://127.0.0.1:17380/ui/index.html',
    'file:///app/dist/renderer/index.html',
    'https://ui/index.html',
    'about:blank',
    '',
    null,
    undefined,
    'not a url',
  ]) {
    assert.equal(isTrustedRendererUrl(url), false, String(url));
  }
});

test('the CSP allows our own files only, and no network at all in Electron', () => {
  const electron = contentSecurityPolicy('electron');
  assert.match(electron, /default-src 'none'/);
  assert.match(electron, /script-src 'self'(;|$)/);
  assert.match(electron, /connect-src 'none'/);
  assert.doesNotMatch(electron, /unsafe-inline|unsafe-eval|https?:/);
  const browser = contentSecurityPolicy('browser');
  assert.match(browser, /connect-src 'self' ws:\/\/127\.0\.0\.1:\* ws:\/\/localhost:\*/);
  assert.doesNotMatch(browser, /frame-ancestors/, 'ignored in a meta tag, so not put there');
  assert.doesNotMatch(browser, /unsafe-inline|unsafe-eval|https?:/);
});

test('the scheme serves files inside the renderer folder and nothing outside it', () => {
  const root = resolve('/app/dist/renderer');
  assert.equal(resolveRendererAsset('rxgate://ui/', root), join(root, 'index.html'));
  assert.equal(resolveRendererAsset('rxgate://ui/index.html#view=popup', root), join(root, 'index.html'));
  assert.equal(resolveRendererAsset('rxgate://ui/app.js?x=1', root), join(root, 'app.js'));
  // The URL parser already folds dot segments, so these stay inside the folder (and 404).
  assert.equal(resolveRendererAsset('rxgate://ui/../package.json', root), join(root, 'package.json'));
  assert.equal(resolveRendererAsset('rxgate://ui/%2e%2e/package.json', root), join(root, 'package.json'));
  for (const url of [
    'rxgate://ui/..%2fpackage.json',
    'rxgate://ui/..%2f..%2fpackage.json',
    'rxgate://ui/..%5cpackage.json',
    'rxgate://ui/%00',
    'rxgate://other/app.js',
    'http://ui/app.js',
    'rxgate://ui/%E0%A4%A',
  ]) {
    assert.equal(resolveRendererAsset(url, root), null, url);
  }
});

test('responses carry the CSP, a content type and nosniff', () => {
  const headers = rendererResponseHeaders('/x/app.js');
  assert.equal(headers['Content-Type'], 'text/javascript; charset=utf-8');
  assert.equal(headers['Content-Security-Policy'], `${contentSecurityPolicy('electron')}; frame-ancestors 'none'`);
  assert.equal(headers['X-Content-Type-Options'], 'nosniff');
  assert.equal(rendererResponseHeaders('/x/unknown.bin')['Content-Type'], 'application/octet-stream');
});

test('permissions, navigation and outside requests are all refused', () => {
  for (const permission of ['media', 'notifications', 'geolocation', 'clipboard-read', 'openExternal']) {
    assert.equal(permissionAllowed(permission, rendererUrl('popup')), false);
  }
  assert.equal(navigationAllowed('https://example.com/'), false);
  assert.equal(navigationAllowed(rendererUrl('status')), false);
  assert.equal(requestAllowed('rxgate://ui/app.js'), true);
  assert.equal(requestAllowed('devtools://devtools/bundled/inspector.html'), true);
  for (const url of ['http://127.0.0.1:17380/v1/status', 'https://cdn.example/x.js', 'ws://127.0.0.1:17380/v1/ui', 'file:///etc/passwd']) {
    assert.equal(requestAllowed(url), false, url);
  }
});
