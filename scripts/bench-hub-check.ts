/**
 * The check's round trip with the hub on and off (issue 11, "Scale"): a throwaway PostgreSQL
 * and a hub process (`rxgate hub`) holding cross-PC history, one agent process enrolled with
 * the hub and one without, and the same check frames sent to both in alternating blocks, so
 * that load from other work on this shared machine falls on both alike. Each check's patient
 * has rows at the hub, so the hub agent really waits for a lookup (within its default budget).
 * A third block asks the hub for the same patients' history from this process, with the agent's
 * own client and credential: the lookup's round trip alone, which the hub agent cannot undercut.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { HubClient } from '../app/core/hub-client';
import { historySince } from '../app/core/check-service';
import { DEFAULT_HUB_BUDGET_MS } from '../app/core/hub-service';
import { loadOrCreateKeyFile } from '../hub/security';
import { issueEnrolmentCode } from '../hub/server';
import { benchPatientId, fillBenchLedger } from '../hub/store/bench-data';
import { HubStore } from '../hub/store/hub-store';
import { startHubProcess, type HubProcess } from '../test/hub-support';
import { postgresBin, startCluster, type TestCluster } from '../test/postgres';

export interface HubCheckOptions {
  /** Checks timed on each agent (default 2000). */
  checks?: number;
  /** Checks per block before switching to the other agent (default 100). */
  block?: number;
  /** Ledger rows at the hub (default 200,000, ten per patient). */
  ledgerRows?: number;
  log?: (line: string) => void;
}

export interface LatencyFigures {
  p50: number;
  p99: number;
  max: number;
}

export interface HubCheckFigures {
  checks: number;
  off: LatencyFigures;
  on: LatencyFigures;
  /** The history lookup alone, from this process to the hub (same patients, same client code). */
  lookup: LatencyFigures;
  /** Checks on the hub agent whose verdict lists the hub among its history sources. */
  hubAnswered: number;
  ledgerRows: number;
}

const TOKEN = 'bench-hub-check-token-0123456789';
const root = join(__dirname, '..');

function figures(samples: number[]): LatencyFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { p50: at(50), p99: at(99), max: sorted[sorted.length - 1]! };
}

/** Forks an agent process (scripts/bench-hub-agent.ts); resolves with it and its port once it listens. */
function startAgentProcess(dataDir: string, hub?: { url: string; credential: string }): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(__dirname, 'bench-hub-agent.ts'), [dataDir, TOKEN, ...(hub ? [hub.url, hub.credential] : [])], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, port: (message as { port: number }).port }));
    child.once('exit', (code) => reject(new Error(`bench agent exited with ${code} before listening`)));
  });
}

async function stopAgentProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send('stop');
  await exited;
}

async function connect(port: number): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/v1?token=${TOKEN}`);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Sends one check and resolves with the round trip and whether the hub answered for it. */
function exchange(socket: WebSocket, frame: string, id: string): Promise<{ ms: number; fromHub: boolean }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const onError = (error: Error): void => {
      socket.off('message', onMessage);
      reject(error);
    };
    const onMessage = (data: Buffer): void => {
      const reply = JSON.parse(data.toString()) as { type?: string; id?: string; historySources?: string[] };
      if (reply.type !== 'verdict' || reply.id !== id) return;
      socket.off('message', onMessage);
      socket.off('error', onError);
      resolve({ ms: performance.now() - started, fromHub: reply.historySources?.includes('hub') ?? false });
    };
    socket.on('message', onMessage);
    socket.once('error', onError);
    socket.send(frame);
  });
}

/**
 * Runs the comparison; 'skipped' with the reason when PostgreSQL is not installed here.
 * Everything it starts (cluster, hub, agents) is stopped before it returns or throws.
 */
export async function benchHubCheck(options: HubCheckOptions = {}): Promise<HubCheckFigures | { skipped: string }> {
  if (!postgresBin()) return { skipped: 'PostgreSQL 未安装 (apt-get install postgresql), 跳过院端开/关对比' };
  const checks = options.checks ?? 2000;
  const block = options.block ?? 100;
  const ledgerRows = options.ledgerRows ?? 200_000;
  const patients = Math.max(1, Math.floor(ledgerRows / 10));
  const log = options.log ?? (() => undefined);
  const work = mkdtempSync(join(tmpdir(), 'rxgate-bench-hub-check-'));
  let cluster: TestCluster | undefined;
  let hub: HubProcess | undefined;
  const agents: ChildProcess[] = [];
  const sockets: WebSocket[] = [];
  let lookupClient: HubClient | undefined;
  try {
    cluster = await startCluster();
    const url = await cluster.createDatabase('hub_check');
    const keyFile = join(work, 'hub.key');
    const { key } = loadOrCreateKeyFile(keyFile);
    hub = await startHubProcess(url, keyFile, ['--console-dir', work]);
    const store = await HubStore.open(url, { maxConnections: 2 });
    let enrolled: { agentId: string; credential: string };
    try {
      const { code } = await issueEnrolmentCode(store, 'bench');
      const enrolment = new HubClient({ url: hub.url });
      enrolled = await enrolment.enrol({ code, pcName: 'PC-bench', agentVersion: '0.1.0' });
      enrolment.close();
    } finally {
      await store.close();
    }
    log(`院端台账 ${ledgerRows.toLocaleString('en')} 行 (${patients.toLocaleString('en')} 位患者)`);
    await fillBenchLedger(url, { rows: ledgerRows, patients, key, agentIds: [enrolled.agentId] });

    const off = await startAgentProcess(join(work, 'agent-off'));
    agents.push(off.child);
    const on = await startAgentProcess(join(work, 'agent-on'), { url: hub.url, credential: enrolled.credential });
    agents.push(on.child);
    lookupClient = new HubClient({ url: hub.url, credential: enrolled.credential });
    const offSocket = await connect(off.port);
    const onSocket = await connect(on.port);
    sockets.push(offSocket, onSocket);

    // The example repeat check (HIS history included), for a patient with rows at the hub;
    // ui none: the verdict comes back without a popup waiting for the doctor.
    const example = (JSON.parse(readFileSync(join(root, 'examples', 'check-repeat.json'), 'utf8')) as { message: Record<string, unknown> }).message;
    /** The check of this index is about this patient, in the agents' frames and the lookups alike. */
    const patientFor = (index: number) => benchPatientId((index * 7_919) % patients);
    const frameFor = (index: number): { id: string; frame: string } => {
      const id = `hc-${index}`;
      const patient = { ...(example.patient as object), id: patientFor(index) };
      return { id, frame: JSON.stringify({ ...example, id, ui: 'none', patient }) };
    };
    // The agent asks from the visit's date back over the longest window a rule looks at.
    const since = historySince((example.visit as { date: string }).date);
    // Warm both: connections to the hub, compiled code paths, SQLite pages.
    for (let index = 0; index < 200; index++) {
      const { id, frame } = frameFor(checks + index);
      await exchange(offSocket, frame, `${id}`);
      await exchange(onSocket, frame, `${id}`);
      await lookupClient.lookupHistory(patientFor(checks + index), since, { budgetMs: DEFAULT_HUB_BUDGET_MS });
    }
    const offSamples: number[] = [];
    const onSamples: number[] = [];
    const lookupSamples: number[] = [];
    let hubAnswered = 0;
    for (let start = 0, round = 0; start < checks; start += block, round++) {
      // Alternate which agent goes first, so neither always follows the other.
      const order = round % 2 === 0 ? (['off', 'on', 'lookup'] as const) : (['lookup', 'on', 'off'] as const);
      for (const which of order) {
        for (let index = start; index < Math.min(checks, start + block); index++) {
          if (which === 'lookup') {
            const started = performance.now();
            await lookupClient.lookupHistory(patientFor(index), since, { budgetMs: DEFAULT_HUB_BUDGET_MS });
            lookupSamples.push(performance.now() - started);
            continue;
          }
          const { id, frame } = frameFor(index);
          const result = await exchange(which === 'on' ? onSocket : offSocket, frame, id);
          if (which === 'on') {
            onSamples.push(result.ms);
            if (result.fromHub) hubAnswered++;
          } else {
            offSamples.push(result.ms);
          }
        }
      }
    }
    return { checks, off: figures(offSamples), on: figures(onSamples), lookup: figures(lookupSamples), hubAnswered, ledgerRows };
  } finally {
    for (const socket of sockets) socket.close();
    lookupClient?.close();
    for (const child of agents) await stopAgentProcess(child).catch(() => child.kill());
    await hub?.stop();
    cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchHubCheck({ log: (line) => console.error(line) }).then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
