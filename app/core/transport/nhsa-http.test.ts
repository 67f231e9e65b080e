import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import iconv from 'iconv-lite';
import { authorizeNhsa, decodeBody, encodeReply, isLoopbackAddress, type NhsaHttpSettings } from './nhsa-http';

const settings: NhsaHttpSettings = {
  auth: 'token',
  token: 'secret-token-0123456789',
  tokenHeaders: ['apikey'],
  allowOrigins: new Set(['http://his.example']),
  maxBodyBytes: 1024,
};

/** Only what the decision reads: headers and the peer address. */
function requestFrom(headers: Record<string, string>, remoteAddress = '127.0.0.1'): IncomingMessage {
  return { headers: { host: '127.0.0.1:17380', ...headers }, socket: { remoteAddress } } as unknown as IncomingMessage;
}

describe('who may call /nhsa', { timeout: 5000 }, () => {
  test('token: Bearer or a configured header', () => {
    assert.deepEqual(authorizeNhsa(requestFrom({ authorization: `Bearer ${settings.token}` }), settings), { ok: true });
    assert.deepEqual(authorizeNhsa(requestFrom({ apikey: settings.token }), settings), { ok: true });
    const missing = authorizeNhsa(requestFrom({ 'x-tif-paasid': 'his' }), settings);
    assert.equal(missing.ok ? 0 : missing.status, 401);
    const wrong = authorizeNhsa(requestFrom({ apikey: 'not-it' }), settings);
    assert.equal(wrong.ok ? '' : wrong.reason, '令牌不正确');
  });

  test('loopback: a native process on this PC needs no token', () => {
    const loopback = { ...settings, auth: 'loopback' as const };
    assert.deepEqual(authorizeNhsa(requestFrom({ apikey: 'the-platform-key' }), loopback), { ok: true });
    assert.deepEqual(authorizeNhsa(requestFrom({}, '::ffff:127.0.0.1'), loopback), { ok: true });
  });

  test('loopback never admits a browser or a remote peer', () => {
    const loopback = { ...settings, auth: 'loopback' as const };
    const browser = authorizeNhsa(requestFrom({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' }), loopback);
    assert.equal(browser.ok ? 0 : browser.status, 403);
    const page = authorizeNhsa(requestFrom({ origin: 'http://evil.example' }), loopback);
    assert.equal(page.ok ? 0 : page.status, 403);
    const remote = authorizeNhsa(requestFrom({}, '10.0.0.8'), loopback);
    assert.equal(remote.ok ? 0 : remote.status, 401);
    const host = authorizeNhsa(requestFrom({ host: 'rebind.example:17380' }), loopback);
    assert.equal(host.ok, false);
    assert.equal(isLoopbackAddress('127.9.9.9'), true);
    assert.equal(isLoopbackAddress('192.168.1.1'), false);
  });
});

describe('body charsets', { timeout: 5000 }, () => {
  const text = '{"dise_name":"肺恶性肿瘤"}';

  test('UTF-8 with a BOM', () => {
    const decoded = decodeBody(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), 'application/json');
    assert.deepEqual(decoded, { ok: true, text, charset: 'utf-8' });
  });

  test('GBK named in Content-Type, answered in GBK', () => {
    const decoded = decodeBody(iconv.encode(text, 'gbk'), 'application/json;charset=GBK');
    assert.deepEqual(decoded, { ok: true, text, charset: 'gbk' });
    assert.deepEqual(encodeReply({ a: '肺' }, 'gbk'), iconv.encode('{"a":"肺"}', 'gbk'));
  });

  test('GBK without a charset is detected', () => {
    assert.deepEqual(decodeBody(iconv.encode(text, 'gbk'), 'application/json'), { ok: true, text, charset: 'gbk' });
    assert.deepEqual(decodeBody(Buffer.from(text), undefined), { ok: true, text, charset: 'utf-8' });
  });

  test('an unknown charset is refused with 415', () => {
    const decoded = decodeBody(Buffer.from(text), 'application/json; charset=klingon');
    assert.equal(decoded.ok ? 0 : decoded.status, 415);
  });
});
