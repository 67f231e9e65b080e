/**
 * Where the hub finds its own files, both in a checkout run through tsx (hub/…) and in the
 * compiled build (dist/hub/…): the folder holding package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('找不到 RxGate 的安装目录 (package.json)');
    dir = parent;
  }
  return dir;
}

/** Where the built console lives under the package root: built by `npm run package`, or on a checkout's first start. */
export const BUILT_CONSOLE_DIR = 'dist/hub-console';
