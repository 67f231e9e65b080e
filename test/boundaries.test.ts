/**
 * The runtime shows in the path (architecture.md): app/core and rules-cache run in plain
 * Node and never import Electron; the renderer runs in a sandboxed page and never imports
 * Node built-ins or SQLite. This test reads every source file's imports, so a slip fails CI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, sep } from 'node:path';

const root = join(__dirname, '..');

function sourceFiles(dir: string): string[] {
  const found: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...sourceFiles(path));
    else if (/\.(ts|tsx|mts|cts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

/** Every module specifier a file imports, requires or dynamically imports. */
export function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  for (const match of source.matchAll(pattern)) specifiers.push(match[1]!);
  return specifiers;
}

const nodeBuiltins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

test('the import scanner sees every form of import', () => {
  const sample = `import a from 'electron';\nimport type { B } from "fs";\nconst c = require('path');\nawait import('node:os');\nimport 'ws';`;
  assert.deepEqual(importsOf(sample), ['electron', 'fs', 'path', 'node:os', 'ws']);
});

test('app/core and rules-cache never import electron', () => {
  const offenders: string[] = [];
  for (const file of [...sourceFiles(join(root, 'app/core')), ...sourceFiles(join(root, 'rules-cache'))]) {
    const bad = importsOf(readFileSync(file, 'utf8')).filter((spec) => spec === 'electron' || spec.startsWith('electron/'));
    if (bad.length) offenders.push(`${file}: ${bad.join(', ')}`);
  }
  assert.deepEqual(offenders, []);
});

test('renderer never imports Node built-ins or SQLite', () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(join(root, 'renderer'))) {
    // Its tests run in Node and live under test/renderer, so everything here is browser code.
    if (/\.config\.(ts|mjs|js)$/.test(file)) continue;
    const bad = importsOf(readFileSync(file, 'utf8')).filter(
      (spec) => nodeBuiltins.has(spec) || spec === 'better-sqlite3' || spec === 'electron',
    );
    if (bad.length) offenders.push(`${file}: ${bad.join(', ')}`);
  }
  assert.deepEqual(offenders, []);
});

test('SQL lives only in rules-cache', () => {
  const offenders: string[] = [];
  for (const dir of ['app', 'renderer', 'scripts']) {
    for (const file of sourceFiles(join(root, dir))) {
      if (file.endsWith('.test.ts')) continue;
      // The reliability run plays someone editing the database behind the agent's back (and
      // watches a pack being staged): that SQL is the attack, not the product's data access.
      if (file.includes(`${sep}scripts${sep}reliability`)) continue;
      if (importsOf(readFileSync(file, 'utf8')).includes('better-sqlite3')) offenders.push(file);
    }
  }
  assert.deepEqual(offenders, []);
});
