import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BUILT_CONSOLE_DIR } from '../hub/paths';
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

/** electron-builder's `files` globs (the include lines, without the `!` exclusions). */
function packagedGlobs(): RegExp[] {
  const config = readFileSync(join(root, 'electron-builder.yml'), 'utf8');
  const section = /^files:\n((?:\s+(?:- |#).*\n)+)/m.exec(config)?.[1] ?? '';
  return section
    .split('\n')
    .map((line) => /^\s+- "?([^"!][^"]*)"?$/.exec(line)?.[1])
    .filter((glob): glob is string => glob !== undefined)
    .map((glob) => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '(?:.+/)?')}$`));
}

/** The modules `rxgate hub` loads at start-up (static, non-type imports), from app/core/cli.ts through hub/cli.ts. */
function hubStartupModules(): { files: string[]; packages: Set<string> } {
  const files: string[] = [];
  const packages = new Set<string>();
  const pending = ['hub/cli.ts', 'hub/store/hub-store.ts', 'hub/server.ts'];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    const source = readFileSync(join(root, file), 'utf8');
    for (const match of source.matchAll(/^import (?!type )[^;]*? from '([^']+)';/gms)) {
      const target = match[1]!;
      if (target.startsWith('node:')) continue;
      if (!target.startsWith('.')) {
        packages.add(target.startsWith('@') ? target.split('/').slice(0, 2).join('/') : target.split('/')[0]!);
        continue;
      }
      const resolved = join(dirname(file), target);
      pending.push(existsSync(join(root, `${resolved}.ts`)) ? `${resolved}.ts` : join(resolved, 'index.ts'));
    }
  }
  return { files, packages };
}

test('the package holds what `rxgate hub` loads: its compiled modules, production dependencies and the built console', () => {
  const globs = packagedGlobs();
  const packaged = (path: string): boolean => globs.some((glob) => glob.test(path));
  const { files, packages } = hubStartupModules();
  assert.ok(files.length > 5, files.join(' '));
  const missing = files.map((file) => `dist/${file.replace(/\.ts$/, '.js')}`).filter((path) => !packaged(path));
  assert.deepEqual(missing, [], 'compiled hub modules left out of electron-builder.yml files');
  const dependencies = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  assert.deepEqual([...packages].filter((name) => !dependencies.includes(name)), [], 'packages the hub imports at start-up must be production dependencies');
  for (const name of ['index.html', 'console.js', 'console.css']) assert.ok(packaged(`${BUILT_CONSOLE_DIR}/${name}`), name);
  // The packaging script builds the console where the hub looks for it.
  assert.match(readFileSync(join(root, 'scripts', 'package.ts'), 'utf8'), /buildConsole\(\{ outDir: join\(root, BUILT_CONSOLE_DIR\)/);
  // The matcher itself: a path outside every glob is reported.
  assert.equal(packaged('hub/cli.ts'), false);
});
