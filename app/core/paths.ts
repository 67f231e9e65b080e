/**
 * Where the app's own files are, whether it runs from source (tsx), from `dist/`, or from a
 * packaged Electron app: the nearest folder above this file that holds package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

export function appRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`找不到应用目录 (package.json), 起点 ${__dirname}`);
    dir = parent;
  }
  cached = dir;
  return dir;
}
