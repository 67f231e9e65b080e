/**
 * A worker thread running one of this folder's modules: the compiled one beside this file, or,
 * run from source (tests, `npm start` in a checkout), the TypeScript one through tsx's loader.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startModuleWorker(module: string, options: WorkerOptions): Worker {
  const compiled = join(__dirname, `${module}.js`);
  if (existsSync(compiled)) return new Worker(compiled, options);
  const source = join(__dirname, `${module}.ts`);
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(source)});`, { ...options, eval: true });
}
