#!/usr/bin/env node
// Runs every *.test.ts under the source folders with Node's own test runner (through tsx),
// because Node 20's --test does not expand globs itself.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = ['app', 'rules-cache', 'renderer', 'scripts', 'test'];
const only = process.argv.slice(2);
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.ts') || name.endsWith('.test.tsx')) files.push(path);
  }
}
for (const root of roots) {
  try { walk(root); } catch (error) { if (error.code !== 'ENOENT') throw error; }
}
const selected = only.length ? files.filter((file) => only.some((part) => file.includes(part))) : files;
if (selected.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  // Every test has a timeout of its own (files may set a shorter one): a test that hangs fails
  // by itself instead of holding the whole run until CI gives up.
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=240000', ...selected],
  { stdio: 'inherit', env: { ...process.env, RXGATE_TEST: '1' } },
);
process.exit(result.status ?? 1);
