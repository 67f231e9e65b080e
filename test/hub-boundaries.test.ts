/**
 * The hub's runtime shows in its path too: the console under hub/console is browser code (no
 * Node built-ins, no database driver); the hub never loads the agent's SQLite or Electron; and
 * the PostgreSQL driver is used only by the hub's data layer, hub/store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { importsOf } from './boundaries.test';

const root = join(__dirname, '..');
const nodeBuiltins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

function sourceFiles(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...sourceFiles(path));
    else if (/\.(ts|tsx)$/.test(name)) found.push(path);
  }
  return found;
}

function offenders(files: string[], bad: (specifier: string) => boolean): string[] {
  const found: string[] = [];
  for (const file of files) {
    const specifiers = importsOf(readFileSync(file, 'utf8')).filter(bad);
    if (specifiers.length) found.push(`${relative(root, file)}: ${specifiers.join(', ')}`);
  }
  return found;
}

test('the hub console is browser code', { timeout: 10_000 }, () => {
  const files = sourceFiles(join(root, 'hub', 'console')).filter((file) => !file.endsWith('build.ts'));
  assert.deepEqual(offenders(files, (specifier) => nodeBuiltins.has(specifier) || specifier === 'pg' || specifier === 'exceljs'), []);
});

test('the hub never loads SQLite or Electron', { timeout: 10_000 }, () => {
  assert.deepEqual(offenders(sourceFiles(join(root, 'hub')), (specifier) => specifier === 'better-sqlite3' || specifier.startsWith('electron')), []);
});

test('the PostgreSQL driver is used only in hub/store', { timeout: 10_000 }, () => {
  const files = [...sourceFiles(join(root, 'hub')), ...sourceFiles(join(root, 'app')), ...sourceFiles(join(root, 'rules-cache'))].filter(
    (file) => !relative(root, file).startsWith(join('hub', 'store')),
  );
  assert.deepEqual(offenders(files, (specifier) => specifier === 'pg' || specifier.startsWith('pg/')), []);
});
