/**
 * The data folder must be writable before anything opens the database in it: otherwise IT
 * reads SQLite's "unable to open database file" or Node's "EACCES" with no folder named.
 */
import { accessSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The data folder cannot be used; the message names it and says what to do. */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

const reasons: Record<string, string> = {
  EACCES: '没有写入权限',
  EPERM: '没有写入权限',
  EROFS: '所在磁盘只读',
  ENOSPC: '磁盘已满',
  ENOTDIR: '路径中有同名文件, 不是文件夹',
  EEXIST: '路径中有同名文件, 不是文件夹',
};

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return reasons[code] ?? `${code || (error as Error).message}`;
}

/**
 * Creates `dir` if needed and proves it writable by writing and removing a small file (on
 * Windows, permission bits say nothing about ACLs); checks that an existing database file in
 * it can be written too. Throws `DataDirError` in Chinese naming the folder or file.
 */
export function ensureWritableDataDir(dir: string, databaseFile = 'rxgate.db'): void {
  const advice = '请让当前用户可写此目录, 或用 --data-dir (或环境变量 RXGATE_DATA_DIR) 指定一个可写的目录';
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.rxgate-write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (error) {
    throw new DataDirError(`数据目录无法写入: ${dir} (${reasonOf(error)}) — ${advice}`);
  }
  const database = join(dir, databaseFile);
  if (!existsSync(database)) return;
  try {
    accessSync(database, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw new DataDirError(`数据库文件无法写入: ${database} (${reasonOf(error)}) — ${advice}`);
  }
}
