/**
 * Copies the write-ahead log back into the database file on a thread of its own.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the
 * agent's thread: an audit batch that normally commits in under a millisecond then also copied
 * 4 MB of log into the file and synced it, so that the slowest batch in a hundred took 4.6–15 ms,
 * and the check that arrived meanwhile waited for it (docs/benchmarks.md, "Checkpoints"). With the agent's
 * connection told not to checkpoint, this worker does it once a second when the log has changed:
 * a PASSIVE checkpoint, which never makes a writer wait, on a connection opened for it and
 * closed after it. A worker that cannot start or cannot checkpoint is said once in the log and
 * hands the job back to the agent's thread for good; one that falls behind leaves the log
 * bounded still: past {@link OWN_CHECKPOINT_BYTES} the agent's thread checkpoints itself.
 */
import { statSync } from 'node:fs';
import { isMainThread, parentPort, workerData, type Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { startModuleWorker } from './module-worker';

/** How often the log is looked at. */
export const CHECKPOINT_INTERVAL_MS = 1000;
/**
 * A log this large means the worker is not keeping up (the store truncates it to 32 MB after
 * each checkpoint); the agent's thread then checkpoints itself.
 */
export const OWN_CHECKPOINT_BYTES = 48 * 1024 * 1024;
/** Checkpoint passes in one go, each copying what the agent appended during the one before. */
const MAX_PASSES = 8;
/** The longest `close` waits for a checkpoint under way, so that the log can be removed. */
const CLOSE_WAIT_MS = 2000;

interface WorkerInput {
  file: string;
  /** Int32 [0]: 1 while the worker is checkpointing, 0 otherwise; `close` waits on it. */
  busy: SharedArrayBuffer;
}

type WorkerReply = { ok: true } | { ok: false; message: string };

/** The log's size and the time it last changed; zeros when there is none. */
function logState(file: string): { size: number; changedAt: number } {
  const stat = statSync(`${file}-wal`, { throwIfNoEntry: false });
  return stat ? { size: stat.size, changedAt: stat.mtimeMs } : { size: 0, changedAt: 0 };
}

export class Checkpointer {
  private worker: Worker | null = null;
  private readonly busy = new Int32Array(new SharedArrayBuffer(4));
  private readonly timer: NodeJS.Timeout;
  /** The log as it was when the last checkpoint was asked for: unchanged, nothing to do. */
  private lastAsked = { size: -1, changedAt: -1 };
  private closed = false;
  /** A worker could not start or failed: from then on this thread checkpoints, as SQLite did. */
  private workerFailed = false;

  /**
   * `checkpointHere` runs a checkpoint on the caller's own connection: the bound when the
   * worker falls behind, and the whole job when no worker can start.
   */
  constructor(
    private readonly file: string,
    private readonly checkpointHere: () => void,
    private readonly log: (line: string) => void,
    private readonly ownCheckpointBytes = OWN_CHECKPOINT_BYTES,
  ) {
    this.timer = setInterval(() => this.look(), CHECKPOINT_INTERVAL_MS);
    this.timer.unref();
  }

  /** Asks for a checkpoint when the log changed since the last one; checkpoints here when it is too large. */
  look(): void {
    if (this.closed) return;
    const state = logState(this.file);
    if (state.size >= this.ownCheckpointBytes) return this.checkpointOnThisThread();
    if (state.size === 0 || (state.size === this.lastAsked.size && state.changedAt === this.lastAsked.changedAt)) return;
    if (Atomics.load(this.busy, 0) === 1) return;
    const worker = this.workerFailed ? null : (this.worker ?? this.start());
    if (!worker) return this.checkpointOnThisThread();
    this.lastAsked = state;
    Atomics.store(this.busy, 0, 1);
    worker.postMessage('checkpoint');
  }

  private checkpointOnThisThread(): void {
    this.checkpointHere();
    this.lastAsked = logState(this.file);
  }

  /**
   * Stops the worker, first waiting (briefly) for a checkpoint under way, so that the agent's
   * connection, closed next, is the last one and SQLite removes the log.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    try {
      if (Atomics.load(this.busy, 0) === 1) Atomics.wait(this.busy, 0, 1, CLOSE_WAIT_MS);
    } catch {
      // A thread that may not block (a browser-like main thread): the log then stays until next time.
    }
    void this.worker?.terminate();
    this.worker = null;
  }

  private start(): Worker | null {
    const input: WorkerInput = { file: this.file, busy: this.busy.buffer as SharedArrayBuffer };
    let worker: Worker;
    try {
      worker = startModuleWorker('checkpointer', { workerData: input });
    } catch (error) {
      this.workerFailed = true;
      this.log(`检查点线程未能启动, 改由主线程执行: ${(error as Error).message}`);
      return null;
    }
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      if (reply.ok) return;
      this.workerFailed = true;
      this.log(`检查点线程未能完成检查点, 改由主线程执行: ${reply.message}`);
      void worker.terminate();
    });
    worker.once('error', (error) => {
      this.workerFailed = true;
      this.log(`检查点线程出错, 改由主线程执行: ${error.message}`);
    });
    worker.once('exit', () => {
      // Gone: after `close` nothing follows; after a failure the next look checkpoints here.
      Atomics.store(this.busy, 0, 0);
      if (this.worker === worker) this.worker = null;
    });
    this.worker = worker;
    return worker;
  }
}

/** The worker: PASSIVE checkpoint passes per message, on a connection of its own for just that long. */
function serve(input: WorkerInput): void {
  const busy = new Int32Array(input.busy);
  parentPort!.on('message', () => {
    let reply: WorkerReply = { ok: true };
    try {
      const database = new Database(input.file, { fileMustExist: true, timeout: 5000 });
      try {
        // Frames the agent appended while a pass copied are copied by the next, each pass
        // shorter than the last, until one finds the log unchanged: only a log copied whole is
        // written from its start again by the next commit instead of growing.
        for (let pass = 0; pass < MAX_PASSES; pass += 1) {
          const [result] = database.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
          if (!result || result.busy !== 0 || result.checkpointed >= result.log) break;
        }
      } finally {
        database.close();
      }
    } catch (error) {
      reply = { ok: false, message: (error as Error).message };
    }
    Atomics.store(busy, 0, 0);
    Atomics.notify(busy, 0);
    parentPort!.postMessage(reply);
  });
}

if (!isMainThread && (workerData as Partial<WorkerInput> | null)?.busy instanceof SharedArrayBuffer && parentPort) {
  serve(workerData as WorkerInput);
}
