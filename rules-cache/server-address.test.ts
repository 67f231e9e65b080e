/** Rule-server addresses as IT writes them: UNC and folder paths become file: URLs. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { isServerAddress, parseServerAddress } from './server-address';

function urlOf(address: string): string {
  const parsed = parseServerAddress(address);
  assert.ok('url' in parsed, `expected ${address} to be accepted`);
  return parsed.url.href;
}

describe('rule-server addresses', { timeout: 10_000 }, () => {
  it('turns a UNC path into the file: URL of the same share, ending in a slash', () => {
    assert.equal(urlOf('\\\\fileserver\\rxgate\\rules'), 'file://fileserver/rxgate/rules/');
    assert.equal(urlOf('\\\\fileserver\\rxgate\\'), 'file://fileserver/rxgate/');
    assert.equal(urlOf('\\\\fileserver\\规则 库\\www'), 'file://fileserver/%E8%A7%84%E5%88%99%20%E5%BA%93/www/');
    assert.equal(fileURLToPath(urlOf('\\\\fileserver\\rxgate\\rules'), { windows: true }), '\\\\fileserver\\rxgate\\rules\\');
  });

  it('turns drive and absolute folder paths into file: URLs', () => {
    assert.equal(urlOf('D:\\rxgate\\www'), 'file:///D:/rxgate/www/');
    assert.equal(urlOf('d:/rxgate/www/'), 'file:///D:/rxgate/www/');
    assert.equal(urlOf('/mnt/rxgate/www'), 'file:///mnt/rxgate/www/');
  });

  it('keeps http, https and file URLs as written', () => {
    assert.equal(urlOf('https://rules.hospital.local/rxgate/'), 'https://rules.hospital.local/rxgate/');
    assert.equal(urlOf('http://10.1.2.3:8080/'), 'http://10.1.2.3:8080/');
    assert.equal(urlOf('file://fileserver/rxgate-www/'), 'file://fileserver/rxgate-www/');
  });

  it('refuses what is neither, saying in Chinese what to write instead', () => {
    for (const address of ['notaurl', 'rules.hospital.local/rxgate', '\\\\fileserver', 'ftp://rules/']) {
      const parsed = parseServerAddress(address);
      assert.ok('error' in parsed, address);
      assert.match(parsed.error, /规则服务器地址/);
      assert.ok(parsed.error.includes(address), parsed.error);
      assert.equal(isServerAddress(address), false);
    }
    const refused = parseServerAddress('notaurl');
    assert.ok('error' in refused && refused.error.includes('\\\\fileserver\\rxgate\\rules'));
  });
});
