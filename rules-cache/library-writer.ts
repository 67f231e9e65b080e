/**
 * Stages a verified rule library in the SQLite cache on a worker thread, in short transactions
 * of {@link STAGE_SLICE} rules, so the agent's own thread keeps answering checks and keeps
 * writing — a commit waits at most for one slice, never for the whole library, and is in the
 * database before it is acknowledged. The staged library is invisible until the agent makes it
 * active in one short transaction (`activateStagedLibrary`), together with its audit record.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { RuleLibrary } from './model';
import { startModuleWorker } from './module-worker';
import { openStore, storedRule, type SqliteStore, type StoredRule } from './store';
import { TimeSlicer } from './time-slicer';

/** Rules per staging transaction: a few milliseconds of write lock each. */
export const STAGE_SLICE = 1000;

/**
 * What the worker writes: the validated rules' ids and kinds as newline-joined strings, their
 * one-line JSON bodies as UTF-8 bytes each followed by a newline (no body can hold one), and
 * the library's header. Not 100,000 row objects, whose structured clone would hold this thread
 * for hundreds of milliseconds; and the bodies as bytes moved to the worker, not a string
 * copied: at 100,000 rules they are 27 MB of UTF-8, where the text as a string was 40 MB here
 * and another 40 MB in the worker, on top of the rows it was joined from. The bytes stay in the
 * pieces they were encoded in, {@link STAGE_SLICE} bodies each: joined into one buffer first,
 * the 27 MB copy held this thread for 70 ms in the middle of an apply.
 */
interface LibraryWrite {
  file: string;
  header: Omit<RuleLibrary, 'rules'>;
  count: number;
  ids: string;
  kinds: string;
  bodies: Uint8Array[];
  meta: Record<string, unknown>;
}

type WorkerReply = { ok: true; libraryId: number } | { ok: false; message: string };


/** The byte that ends each body in {@link LibraryWrite.bodies}. */
const NEWLINE = 0x0a;

/**
 * Serialises the rules in slices, yielding between them, so a 100,000-rule library never holds
 * the calling thread for more than a few milliseconds at a time. Each body is encoded as soon
 * as its slice is full, so the strings die young instead of all living until the end.
 */
async function serialise(library: RuleLibrary): Promise<Pick<LibraryWrite, 'ids' | 'kinds' | 'bodies'>> {
  const ids: string[] = [];
  const kinds: string[] = [];
  const bodies: Uint8Array[] = [];
  let pending: string[] = [];
  const encodePending = () => {
    if (pending.length === 0) return;
    const piece = Buffer.from(`${pending.join('\n')}\n`, 'utf8');
    // Moved to the worker, not copied: a piece must own its memory whole. A small one comes
    // from Node's shared pool, which cannot be moved, and is copied instead.
    bodies.push(piece.byteOffset === 0 && piece.byteLength === piece.buffer.byteLength ? piece : new Uint8Array(piece));
    pending = [];
  };
  const slicer = new TimeSlicer();
  for (const rule of library.rules) {
    const row = storedRule(rule);
    ids.push(row.ruleId);
    kinds.push(row.kind);
    pending.push(row.body);
    if (pending.length === STAGE_SLICE) encodePending();
    if (slicer.due()) await slicer.pause();
  }
  encodePending();
  return { ids: ids.join('\n'), kinds: kinds.join('\n'), bodies };
}

/**
 * Stages an already validated library in the cache file from a worker; resolves with the
 * staged library's id once every slice has committed.
 */
export async function stageLibraryInWorker(file: string, library: RuleLibrary, meta: Record<string, unknown>): Promise<number> {
  const header = { version: library.version, source: library.source, publishedAt: library.publishedAt, expiresAt: library.expiresAt };
  const write: LibraryWrite = { file, header, count: library.rules.length, ...(await serialise(library)), meta };
  const transferList = write.bodies.map((piece) => piece.buffer as ArrayBuffer);
  return new Promise((resolve, reject) => {
    const worker = startModuleWorker('library-writer', { workerData: write, transferList });
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
  const digest = store.libraryDigest(rows.map((row) => row.body));
  return stageSlices(store, header, rows.map((row) => row.kind), digest, meta, (start, end) => rows.slice(start, end));
}

/** Begins the staged library and writes its rules a slice at a time, as `slice` hands them over. */
function stageSlices(
  store: SqliteStore,
  header: Omit<RuleLibrary, 'rules'>,
  kinds: readonly string[],
  digest: string,
  meta: Record<string, unknown> | undefined,
  slice: (start: number, end: number) => StoredRule[],
): number {
  const counts: Record<string, number> = {};
  for (const kind of kinds) counts[kind] = (counts[kind] ?? 0) + 1;
  const libraryId = store.beginStagedLibrary({
    version: header.version,
    source: header.source,
    publishedAt: header.publishedAt,
    expiresAt: header.expiresAt,
    ruleCount: kinds.length,
    counts,
    digest,
    meta,
  });
  for (let start = 0; start < kinds.length; start += STAGE_SLICE) {
    store.stageRules(libraryId, start, slice(start, Math.min(kinds.length, start + STAGE_SLICE)));
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
    const pieces = write.bodies.map((piece) => Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
    if (ids.length !== write.count || kinds.length !== write.count) throw new Error('规则写入数据不完整');
    // Bodies are decoded a slice at a time, just before their slice is written.
    let piece = 0;
    let next = 0;
    /** Steps past pieces read to their end; false once none is left. */
    const more = (): boolean => {
      while (piece < pieces.length && next >= pieces[piece]!.length) {
        piece += 1;
        next = 0;
      }
      return piece < pieces.length;
    };
    const slice = (start: number, end: number): StoredRule[] => {
      const rows: StoredRule[] = [];
      for (let index = start; index < end; index += 1) {
        if (!more()) throw new Error('规则写入数据不完整');
        const bytes = pieces[piece]!;
        const close = bytes.indexOf(NEWLINE, next);
        if (close < 0) throw new Error('规则写入数据不完整');
        rows.push({ ruleId: ids[index]!, kind: kinds[index]!, body: bytes.toString('utf8', next, close) });
        next = close + 1;
      }
      return rows;
    };
    const store = openStore(write.file, { purgeOnOpen: false });
    try {
      // The bytes are the bodies each followed by a newline: exactly what the digest is taken over.
      const libraryId = stageSlices(store, write.header, kinds, store.libraryDigestOfText(pieces), write.meta, slice);
      if (more()) throw new Error('规则写入数据不完整');
      return { ok: true, libraryId };
    } finally {
      store.close();
    }
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

if (!isMainThread && parentPort && Array.isArray((workerData as LibraryWrite | undefined)?.bodies)) {
  parentPort.postMessage(runWorker(workerData as LibraryWrite));
}
