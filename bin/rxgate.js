#!/usr/bin/env node
'use strict';
// Entry point for `rxgate`. In a source checkout it runs the TypeScript directly (always the
// code you see); in a build without sources it runs the compiled JavaScript in dist/.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const source = join(root, 'app', 'core', 'cli.ts');
const compiled = join(root, 'dist', 'app', 'core', 'cli.js');

let cli;
if (existsSync(source) && canLoad('tsx/cjs')) {
  require('tsx/cjs');
  cli = require(source);
} else if (existsSync(compiled)) {
  cli = require(compiled);
} else {
  console.error('rxgate: 找不到程序文件 — 请先运行 npm ci (或 npm run build)');
  process.exit(1);
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error) => {
    console.error(`rxgate: ${error && error.message ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);

function canLoad(name) {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}
