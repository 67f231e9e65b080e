/**
 * The pieces of the reliability run (scripts/reliability.ts) and of the tests that try the same
 * faults on a smaller scale: a real `rxgate agent` process on loopback, a signed rule pack on a
 * loopback web server, a HIS that commits as fast as the agent acknowledges, `kill -9`, and an
 * offline look at what survived.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WebSocket } from 'ws';
import { readRuntimeFile } from '../../app/core/config';
import { validateRules } from '../../rules-cache/model';
import { buildPack, generateKeyPair, publishPack } from '../../rules-cache/pack';
import { openStore } from '../../rules-cache/store';
import { generateLibrary } from '../bench-data';

const root = join(__dirname, '..', '..');
export const TOKEN = 'reliability-token-0123456789';

/** Builds a signed pack of `ruleCount` generated rules and lays it out under `dir/www`. */
export async function preparePack(dir: string, ruleCount: number, version: number): Promise<{ www: string; publicKeyPath: string }> {
  const keys = await generateKeyPair(join(dir, 'keys'));
  const generated = generateLibrary(ruleCount, 40 + version);
  const { rules, problems } = validateRules(generated.rules);
  if (problems.length) throw new Error(`generated rules invalid: ${JSON.stringify(problems[0])}`);
  await buildPack({ rules, privateKeyPem: readFileSync(keys.privateKeyPath, 'utf8'), version, outDir: join(dir, 'pack') });
  const www = join(dir, 'www');
  await publishPack(join(dir, 'pack'), www);
  return { www, publicKeyPath: keys.publicKeyPath };
}

/** A static file server on a free loopback port. */
export async function serveStatic(www: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const file = join(www, new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    if (!file.startsWith(www) || !existsSync(file) || statSync(file).isDirectory()) {
      response.writeHead(404);
      return void response.end();
    }
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface AgentProcess {
  child: ChildProcess;
  port: number;
  output: () => string;
}

/**
 * Starts `rxgate agent` as its own process on a free port and resolves once it is listening
 * (its runtime file names its pid and port). Rejects with its output when it exits first.
 */
export async function startAgentProcess(
  dataDir: string,
  options: { server?: string; publicKeyPath?: string; timeoutMs?: number; generatedToken?: boolean } = {},
): Promise<AgentProcess> {
  mkdirSync(dataDir, { recursive: true });
  const args = [join(root, 'bin', 'rxgate.js'), 'agent', '--data-dir', dataDir, '--port', '0', '--no-open'];
  // The token of the runs; `generatedToken` leaves it to the agent (DATA/token), as an install does.
  if (!options.generatedToken) args.push('--token', TOKEN);
  if (options.server) args.push('--server', options.server, '--public-key', options.publicKeyPath!);
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    const poll = () => {
      const runtime = readRuntimeFile(dataDir);
      if (runtime && runtime.pid === child.pid) return resolve({ child, port: runtime.port, output: () => text });
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`agent exited (${child.exitCode ?? child.signalCode}): ${text}`));
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        return reject(new Error(`agent did not start in time: ${text}`));
      }
      setTimeout(poll, 25);
    };
    poll();
  });
}

/** Kills the process with SIGKILL (no handler runs, nothing is flushed) and waits for it to be gone. */
export function killHard(agent: AgentProcess): Promise<void> {
  return new Promise((resolve) => {
    if (agent.child.exitCode !== null || agent.child.signalCode !== null) return resolve();
    agent.child.once('exit', () => resolve());
    agent.child.kill('SIGKILL');
  });
}

/** Stops it the way a service manager does (SIGTERM), and waits. */
export function stopGracefully(agent: AgentProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (agent.child.exitCode !== null) return resolve(agent.child.exitCode);
    agent.child.once('exit', (code) => resolve(code));
    agent.child.kill('SIGTERM');
  });
}

/** A check the demo library answers without holding it for the doctor. */
export function simpleCheck(id: string, patientId: string): Record<string, unknown> {
  return {
    type: 'check',
    id,
    ui: 'none',
    patient: { id: patientId, gender: 'F', birthDate: '1960-05-01', insurance: '310' },
    visit: { id: `V-${id}`, type: 'outpatient', date: '2026-11-24', dept: { code: '0402', name: '心内科' }, doctor: { code: 'D019', name: '王医生' } },
    diagnoses: [{ code: 'I10.x00', name: '高血压', main: true }],
    items: [{ line: '1', code: 'XC08CAA014A001010100001', name: '苯磺酸氨氯地平片', category: 'drug', qty: 1, days: 7, channel: 'insured' }],
  };
}

export interface Acknowledged {
  checkId: string;
  patientId: string;
}

/**
 * A HIS that checks and commits one order after another, as fast as the agent answers, and
 * records every commit the agent acknowledged. Runs until `stop()` or the connection drops
 * (the agent was killed); never throws for a dropped connection.
 */
export function commitLoop(port: number, tag: string): { acknowledged: Acknowledged[]; errors: string[]; stop(): Promise<void> } {
  const acknowledged: Acknowledged[] = [];
  const errors: string[] = [];
  const socket = new WebSocket(`ws://127.0.0.1:${port}/v1?token=${TOKEN}`);
  let pending: ((frame: Record<string, unknown>) => void) | null = null;
  let running = true;
  socket.on('message', (data) => pending?.(JSON.parse(data.toString()) as Record<string, unknown>));
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  const request = (message: Record<string, unknown>) =>
    new Promise<Record<string, unknown> | null>((resolve) => {
      pending = resolve;
      socket.send(JSON.stringify(message), (error) => error && resolve(null));
      void closed.then(() => resolve(null));
    });
  const loop = (async () => {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    }).catch(() => undefined);
    for (let index = 0; running && socket.readyState === WebSocket.OPEN; index += 1) {
      const checkId = `${tag}-${index}`;
      const patientId = `P-${tag}-${index}`;
      const verdict = await request(simpleCheck(checkId, patientId));
      if (!verdict) break;
      if (verdict.type !== 'verdict') {
        errors.push(JSON.stringify(verdict).slice(0, 200));
        continue;
      }
      const ack = await request({ type: 'commit', id: checkId });
      if (!ack) break;
      // Only what the agent acknowledged counts: it promised that this is in the database.
      if (ack.type === 'ack') acknowledged.push({ checkId, patientId });
      else errors.push(JSON.stringify(ack).slice(0, 200));
    }
  })();
  return {
    acknowledged,
    errors,
    stop: async () => {
      running = false;
      socket.close();
      await loop;
    },
  };
}

/** Which acknowledged commits the data folder no longer holds (ledger rows and their audit record). */
export function lostCommits(
  dataDir: string,
  acknowledged: readonly Acknowledged[],
): { lost: Acknowledged[]; auditOk: boolean; auditReason?: string; killedWhileStaging: boolean } {
  // A staged library left behind proves the kill landed while the pack was being written.
  const raw = new Database(join(dataDir, 'rxgate.db'), { readonly: true });
  const killedWhileStaging = (raw.prepare('SELECT count(*) FROM libraries WHERE staged = 1').pluck().get() as number) > 0;
  raw.close();
  const store = openStore(join(dataDir, 'rxgate.db'), { purgeOnOpen: false });
  try {
    const committed = new Set(store.recentAudit(1_000_000, 'commit').map((record) => record.checkId));
    const lost = acknowledged.filter((entry) => store.priorItems(entry.patientId, '2000-01-01').length === 0 || !committed.has(entry.checkId));
    const verification = store.verifyAudit();
    return { lost, auditOk: verification.ok, auditReason: verification.ok ? undefined : verification.reason, killedWhileStaging };
  } finally {
    store.close();
  }
}

/** The running agent's status. */
export async function agentStatus(port: number): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  return (await response.json()) as Record<string, unknown>;
}

/** Asks the agent to sync now; resolves when the sync has ended (or the agent died). */
export async function syncNow(port: number): Promise<string> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v1/sync`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    return ((await response.json()) as { result: string }).result;
  } catch (error) {
    return `request ended: ${(error as Error).message}`;
  }
}

/** The sync ended before the poll saw the moment it waited for: a kill now would not land inside it. */
export class SyncEndedFirst extends Error {}

/** Watches the agent's answer to a sync request; `ended()` says whether it has come. */
function watch(sync: Promise<string>): () => string | undefined {
  let result: string | undefined;
  void sync.then((value) => (result = value));
  return () => result;
}

/**
 * Resolves once the agent is writing a staged library and has written at least `rows` of its
 * rules (read through a read-only connection, as WAL allows beside the writer). Rejects with
 * {@link SyncEndedFirst} if `sync` (the agent's answer to the sync request) settles first: a
 * machine busy enough to starve this poll can let a small pack be written and made active
 * between two looks, and then the staged rows never appear.
 */
export async function untilStaging(dataDir: string, rows: number, sync: Promise<string>, timeoutMs = 120_000): Promise<void> {
  const raw = new Database(join(dataDir, 'rxgate.db'), { readonly: true, fileMustExist: true });
  const staged = raw.prepare('SELECT count(*) FROM rules WHERE library_id IN (SELECT id FROM libraries WHERE staged = 1)').pluck();
  const ended = watch(sync);
  const deadline = Date.now() + timeoutMs;
  try {
    for (let seen = staged.get() as number; seen < rows; seen = staged.get() as number) {
      if (ended() !== undefined) throw new SyncEndedFirst(`the sync ended (${ended()}) before ${rows} staged rules were seen`);
      if (Date.now() > deadline) throw new Error(`no staging of ${rows} rules within ${timeoutMs} ms (${seen} staged so far)`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    raw.close();
  }
}

/** Resolves once the agent's status says a sync is under way; rejects like {@link untilStaging}. */
export async function untilSyncing(port: number, sync: Promise<string>, timeoutMs = 60_000): Promise<void> {
  const ended = watch(sync);
  const deadline = Date.now() + timeoutMs;
  while (((await agentStatus(port)).sync as { state: string }).state !== 'syncing') {
    if (ended() !== undefined) throw new SyncEndedFirst(`the sync ended (${ended()}) before its status was seen`);
    if (Date.now() > deadline) throw new Error('the sync did not start');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
