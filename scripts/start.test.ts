/** `npm start` on a machine without the Electron binary: one explanation, not Electron's own. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findElectronBinary, missingElectronMessage } from './start';

const electronOwnText = 'Electron failed to install correctly, please delete node_modules/electron and try installing again';

describe('npm start without Electron', { timeout: 10_000 }, () => {
  it('finds no binary when the electron package throws, and keeps the reason for debugging', () => {
    const lookup = findElectronBinary(() => {
      throw new Error(electronOwnText);
    });
    assert.deepEqual(lookup, { missing: electronOwnText });
    assert.ok('missing' in findElectronBinary(() => '/nowhere/electron', () => false));
  });

  it('explains in Chinese and English without repeating Electron’s "failed to install correctly"', () => {
    const message = missingElectronMessage(electronOwnText, false);
    assert.match(message, /未找到 Electron 程序文件/);
    assert.match(message, /rxgate agent/);
    assert.doesNotMatch(message, /failed to install correctly/);
    assert.match(missingElectronMessage(electronOwnText, true), /failed to install correctly/, 'RXGATE_DEBUG shows it');
  });
});
