/**
 * Test support: a throwaway PostgreSQL cluster. initdb in a temp folder, a free loopback port,
 * the unix socket in the same folder, stopped (immediate) and removed at the end — also when
 * the test process dies, through an exit hook. Run as root, the cluster belongs to the
 * `postgres` user, since PostgreSQL refuses to run as root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export interface TestCluster {
  port: number;
  /** A connection string for a database (created by `createDatabase`). */
  url(database: string): string;
  createDatabase(name: string): Promise<string>;
  stop(): void;
}

/** The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/N/bin), or null. */
export function postgresBin(): string | null {
  if (process.env.RXGATE_PG_BIN) return process.env.RXGATE_PG_BIN;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((name) => existsSync(join(base, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : null;
}

/** Why the PostgreSQL tests cannot run here, or false. On CI a missing server is a failure. */
export function skipWithoutPostgres(): string | false {
  if (process.env.CI) return false;
  return postgresBin() ? false : 'PostgreSQL is not installed (apt-get install postgresql)';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Starts a cluster; `settings` are extra `-c name=value` server settings (the bench sizes memory). */
export async function startCluster(extraSettings: string[] = []): Promise<TestCluster> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'rxgate-pg-'));
  const owner = postgresUser();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const run = (command: string, args: string[]): void => {
    const result = spawnSync(join(bin, command), args, {
      encoding: 'utf8',
      timeout: 60_000,
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    });
    if (result.status !== 0) {
      const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '';
      throw new Error(`${command} failed (${result.status}): ${result.stderr}${result.error?.message ?? ''}\n${log}`);
    }
  };
  const data = join(dir, 'data');
  let started = false;
  const stop = (): void => {
    if (started) {
      started = false;
      spawnSync(join(bin, 'pg_ctl'), ['-D', data, 'stop', '-m', 'immediate', '-w'], {
        timeout: 30_000,
        ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
      });
    }
    rmSync(dir, { recursive: true, force: true });
    process.off('exit', stop);
  };
  process.on('exit', stop);
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const port = await freePort();
    const settings = [
      `-p ${port}`,
      `-k ${dir}`,
      "-c listen_addresses='127.0.0.1'",
      // A throwaway cluster: durability buys nothing and costs the shared CPU time.
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
      ...extraSettings.map((setting) => `-c ${setting}`),
    ].join(' ');
    run('pg_ctl', ['-D', data, '-o', settings, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
    started = true;
    const url = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
    return {
      port,
      url,
      async createDatabase(name: string): Promise<string> {
        const client = new Client({ connectionString: url('postgres') });
        await client.connect();
        try {
          if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
          await client.query(`CREATE DATABASE ${name}`);
        } finally {
          await client.end();
        }
        return url(name);
      },
      stop,
    };
  } catch (error) {
    stop();
    throw error;
  }
}
