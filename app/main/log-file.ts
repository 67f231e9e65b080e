/**
 * A small append-only log file for the desktop app, where no console is visible. Rotated by
 * size (one previous file kept) so a PC left running for months does not fill its disk. The
 * agent core writes no patient data to its log lines; this file only stores them.
 */
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export interface LogFileOptions {
  path: string;
  maxBytes?: number;
  now?: () => Date;
}

/** Returns a `log(line)` function that never throws: logging must not take the agent down. */
export function createLogFile(options: LogFileOptions): (line: string) => void {
  const maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
  const now = options.now ?? (() => new Date());
  let ready = false;
  return (line: string) => {
    try {
      if (!ready) {
        mkdirSync(dirname(options.path), { recursive: true });
        ready = true;
      }
      let size = 0;
      try {
        size = statSync(options.path).size;
      } catch {
        size = 0;
      }
      if (size > maxBytes) renameSync(options.path, `${options.path}.1`);
      appendFileSync(options.path, `[${now().toISOString()}] ${line.replace(/\r?\n/g, ' ⏎ ')}\n`);
    } catch {
      // A full or read-only disk must not stop checks; the line is lost, the agent goes on.
    }
  };
}
