import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { maintainerScript, packagePlan } from './package';

const root = join(__dirname, '..');

test('Linux packages deb and AppImage for x64 and arm64; Windows the NSIS installer for x64', () => {
  assert.deepEqual(packagePlan([], 'linux'), [
    { platform: 'linux', arch: 'x64', targets: ['deb', 'AppImage'] },
    { platform: 'linux', arch: 'arm64', targets: ['deb', 'AppImage'] },
  ]);
  assert.deepEqual(packagePlan([], 'win32'), [{ platform: 'win', arch: 'x64', targets: ['nsis'] }]);
  assert.deepEqual(packagePlan(['--win', '--linux', '--arch', 'arm64'], 'linux'), [
    { platform: 'linux', arch: 'arm64', targets: ['deb', 'AppImage'] },
    { platform: 'win', arch: 'arm64', targets: ['nsis'] },
  ]);
  assert.throws(() => packagePlan(['--arch', 'ia32'], 'linux'), /ia32/);
});

test('the deb scripts keep electron-builder’s steps and use only macros it defines', () => {
  for (const name of ['linux-after-install.sh', 'linux-after-remove.sh']) {
    const steps = readFileSync(join(root, 'installer', name), 'utf8');
    // electron-builder replaces ${word} and throws on names it does not know.
    const macros = [...steps.matchAll(/\$\{([a-zA-Z]+)\}/g)].map((match) => match[1]);
    assert.deepEqual(macros.filter((macro) => macro !== 'executable' && macro !== 'sanitizedProductName'), [], name);
  }
  assert.equal(maintainerScript('#!/bin/bash\nbuilder\n\n', '# rxgate\nsteps\n'), '#!/bin/bash\nbuilder\n\n# rxgate\nsteps\n');
});

test('the installer config ships the demo library, unpacks SQLite and leaves rebuilding to the script', () => {
  const config = readFileSync(join(root, 'electron-builder.yml'), 'utf8');
  assert.match(config, /from: rules-cache\/demo\/demo-rules\.json/);
  assert.match(config, /asarUnpack:\n\s+- node_modules\/better-sqlite3\/\*\*\/\*/);
  assert.match(config, /npmRebuild: false/);
  assert.match(config, /perMachine: true/);
  assert.match(config, /include: installer\/installer\.nsh/);
  const nsis = readFileSync(join(root, 'installer', 'installer.nsh'), 'utf8');
  assert.match(nsis, /\$APPDATA\\RxGate/);
  assert.match(nsis, /"\/CONFIG="/);
});
