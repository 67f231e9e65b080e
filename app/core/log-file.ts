/**
 * A small append-only log file, for the desktop app (where no console is visible) and the
 * headless agent (beside its console output), at `DATA/logs/rxgate.log`. Rotated by size (one
 * previous file kept) so a PC left running for months does not fill its disk. The size is
 * counted as lines are written — the file is looked at once, when the log opens, never on the
 * thread's way to answering a check. The agent core writes no patient data to its log lines;
 * this file only stores them.
 */
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface LogFileOptions {
  path: string;
  maxBytes?: number;
  now?: () => Date;
}

/** Where the agent keeps its log (no patient data goes into it). */
export function logFilePath(dataDir: string): string {
  return join(dataDir, 'logs', 'rxgate.log');
}

/** Returns a `log(line)` function that never throws: logging must not take the agent down. */
export function createLogFile(options: LogFileOptions): (line: string) => void {
  const maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
  const now = options.now ?? (() => new Date());
  let size: number | null = null;
  return (line: string) => {
    try {
      if (size === null) {
        // Owner-only, like the rest of the data folder: the log names PCs, ports and origins.
        mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
        try {
          size = statSync(options.path).size;
        } catch {
          size = 0;
        }
      }
      if (size > maxBytes) {
        renameSync(options.path, `${options.path}.1`);
        size = 0;
      }
      const text = `[${now().toISOString()}] ${line.replace(/\r?\n/g, ' ⏎ ')}\n`;
      appendFileSync(options.path, text, { mode: 0o600 });
      size += Buffer.byteLength(text);
    } catch {
      // A full or read-only disk must not stop checks; the line is lost, the agent goes on.
    }
  };
}
