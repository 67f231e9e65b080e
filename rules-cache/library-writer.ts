/**
 * Writes a verified rule pack into the SQLite cache on a worker thread, so the agent's own
 * thread keeps answering checks while 100,000 rules are parsed, validated and written in one
 * transaction. WAL lets the agent's connection keep reading the old library meanwhile.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import { openStore } from './store';
import type { LibraryInfo } from './store-contract';

/** What the worker needs: the cache file and the pack exactly as it was verified. */
export interface PackWrite {
  file: string;
  packBytes: Uint8Array;
  version: number;
  publishedAt?: string;
  expiresAt?: string;
  meta: Record<string, unknown>;
}

type WorkerReply = { ok: true; info: LibraryInfo } | { ok: false; message: string };

/** The worker's entry (the same file, compiled or run through tsx). */
function workerFile(): string {
  const compiled = join(__dirname, 'library-writer.js');
  return existsSync(compiled) ? compiled : join(__dirname, 'library-writer.ts');
}

/**
 * Writes the pack in a worker and resolves with the applied library's info. The bytes are
 * copied to the worker (a transfer would detach the caller's buffer, which sync still holds).
 */
export function writePackInWorker(write: PackWrite): Promise<LibraryInfo> {
  return new Promise((resolve, reject) => {
    const file = workerFile();
    // Run from source (tests, `npm start` in a checkout), the worker needs tsx's loader too.
    const worker = file.endsWith('.ts')
      ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { eval: true, workerData: write })
      : new Worker(file, { workerData: write });
    let settled = false;
    worker.once('message', (reply: WorkerReply) => {
      settled = true;
      if (reply.ok) resolve(reply.info);
      else reject(new Error(reply.message));
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`规则写入线程意外退出 (代码 ${code})`));
    });
  });
}

function runWorker(write: PackWrite): WorkerReply {
  try {
    const body = JSON.parse(gunzipSync(write.packBytes).toString('utf8')) as { rules: unknown[] };
    const store = openStore(write.file);
    try {
      const info = store.applyLibrary(
        // The store validates every rule again before its transaction: a worker that got
        // anything other than what was verified cannot write it.
        { version: write.version, source: 'pack', publishedAt: write.publishedAt, expiresAt: write.expiresAt, rules: body.rules as never },
        write.meta,
      );
      return { ok: true, info };
    } finally {
      store.close();
    }
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

if (!isMainThread && parentPort && (workerData as PackWrite | undefined)?.packBytes) {
  parentPort.postMessage(runWorker(workerData as PackWrite));
}
