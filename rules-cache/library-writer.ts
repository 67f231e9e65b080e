/**
 * Stages a verified rule library in the SQLite cache on a worker thread, in short transactions
 * of {@link STAGE_SLICE} rules, so the agent's own thread keeps answering checks and keeps
 * writing — a commit waits at most for one slice, never for the whole library, and is in the
 * database before it is acknowledged. The staged library is invisible until the agent makes it
 * active in one short transaction (`activateStagedLibrary`), together with its audit record.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { RuleLibrary } from './model';
import { openStore, storedRule, type SqliteStore, type StoredRule } from './store';

/** Rules per staging transaction: a few milliseconds of write lock each. */
export const STAGE_SLICE = 1000;

/**
 * What the worker writes: the validated rules as three newline-joined strings (ids, kinds and
 * one-line JSON bodies, none of which can hold a newline), and the library's header. Strings,
 * because handing a worker 100,000 row objects is a structured clone that would hold this
 * thread for hundreds of milliseconds; three strings are copied in a few.
 */
interface LibraryWrite {
  file: string;
  header: Omit<RuleLibrary, 'rules'>;
  count: number;
  ids: string;
  kinds: string;
  bodies: string;
  meta: Record<string, unknown>;
}

type WorkerReply = { ok: true; libraryId: number } | { ok: false; message: string };

/** The worker's entry (this same file, compiled or run through tsx). */
function workerFile(): string {
  const compiled = join(__dirname, 'library-writer.js');
  return existsSync(compiled) ? compiled : join(__dirname, 'library-writer.ts');
}

/**
 * Serialises the rules in slices, yielding between them, so a 100,000-rule library never holds
 * the calling thread for more than a few milliseconds at a time.
 */
async function rowsOf(library: RuleLibrary): Promise<StoredRule[]> {
  const rows: StoredRule[] = [];
  let sliceStart = performance.now();
  for (const rule of library.rules) {
    rows.push(storedRule(rule));
    if (performance.now() - sliceStart > 4) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return rows;
}

/**
 * Stages an already validated library in the cache file from a worker; resolves with the
 * staged library's id once every slice has committed.
 */
export async function stageLibraryInWorker(file: string, library: RuleLibrary, meta: Record<string, unknown>): Promise<number> {
  const header = { version: library.version, source: library.source, publishedAt: library.publishedAt, expiresAt: library.expiresAt };
  const rows = await rowsOf(library);
  const write: LibraryWrite = {
    file,
    header,
    count: rows.length,
    ids: rows.map((row) => row.ruleId).join('\n'),
    kinds: rows.map((row) => row.kind).join('\n'),
    bodies: rows.map((row) => row.body).join('\n'),
    meta,
  };
  return new Promise((resolve, reject) => {
    const entry = workerFile();
    // Run from source (tests, `npm start` in a checkout), the worker needs tsx's loader too.
    const worker = entry.endsWith('.ts')
      ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, { eval: true, workerData: write })
      : new Worker(entry, { workerData: write });
    let settled = false;
    worker.once('message', (reply: WorkerReply) => {
      settled = true;
      if (reply.ok) resolve(reply.libraryId);
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

/**
 * Stages validated rows slice by slice; returns the staged library's id. The worker runs it;
 * the agent runs it itself when the worker cannot start.
 */
export function stageRows(store: SqliteStore, header: Omit<RuleLibrary, 'rules'>, rows: readonly StoredRule[], meta?: Record<string, unknown>): number {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row.kind] = (counts[row.kind] ?? 0) + 1;
  const libraryId = store.beginStagedLibrary({
    version: header.version,
    source: header.source,
    publishedAt: header.publishedAt,
    expiresAt: header.expiresAt,
    ruleCount: rows.length,
    counts,
    digest: store.libraryDigest(rows.map((row) => row.body)),
    meta,
  });
  for (let start = 0; start < rows.length; start += STAGE_SLICE) {
    store.stageRules(libraryId, start, rows.slice(start, start + STAGE_SLICE));
  }
  return libraryId;
}

/** The rows of an already validated library, serialised here (no worker). */
export function rowsOfLibrary(library: RuleLibrary): StoredRule[] {
  return library.rules.map(storedRule);
}

function runWorker(write: LibraryWrite): WorkerReply {
  try {
    // ''.split('\n') is [''], not []: an empty library is told by its count.
    const split = (text: string) => (write.count === 0 ? [] : text.split('\n'));
    const ids = split(write.ids);
    const kinds = split(write.kinds);
    const bodies = split(write.bodies);
    if (ids.length !== write.count || kinds.length !== write.count || bodies.length !== write.count) {
      throw new Error('规则写入数据不完整');
    }
    const rows = ids.map((ruleId, index) => ({ ruleId, kind: kinds[index]!, body: bodies[index]! }));
    const store = openStore(write.file, { purgeOnOpen: false });
    try {
      return { ok: true, libraryId: stageRows(store, write.header, rows, write.meta) };
    } finally {
      store.close();
    }
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

if (!isMainThread && parentPort && typeof (workerData as LibraryWrite | undefined)?.bodies === 'string') {
  parentPort.postMessage(runWorker(workerData as LibraryWrite));
}
