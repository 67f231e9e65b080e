/**
 * `npm run bench:hub`: the hub's figures from issue 11 on this machine, printed as a table. A
 * report, not a test: the machines are shared, so numbers vary from run to run.
 *
 *   --ledger N       ledger rows generated before the lookups (default 10000000)
 *   --patients N     distinct patients in them (default 1000000)
 *   --lookups N      history lookups timed (default 2000)
 *   --agents N       simulated agents for the ingest run (default 1000)
 *   --batches N      batches each agent delivers (default 5)
 *   --batch-size N   events per batch (default 20)
 *   --concurrency N  agents delivering at the same moment (default 100)
 *   --database URL   use this (empty) database instead of a throwaway cluster
 *
 * The hub runs as its own process (`rxgate hub`), as in production; this process is the
 * agents. Both share the machine with PostgreSQL, which the figures include.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { HubClient } from '../app/core/hub-client';
import type { HubEvent } from '../app/core/protocol/hub';
import { hashSecret, loadOrCreateKeyFile, patientKeyer } from '../hub/security';
import { issueEnrolmentCode } from '../hub/server';
import { benchPatientId, fillBenchLedger } from '../hub/store/bench-data';
import { HubStore } from '../hub/store/hub-store';
import { startHubProcess } from '../test/hub-support';
import { startCluster } from '../test/postgres';

const { values } = parseArgs({
  options: {
    ledger: { type: 'string', default: '10000000' },
    patients: { type: 'string', default: '1000000' },
    lookups: { type: 'string', default: '2000' },
    agents: { type: 'string', default: '1000' },
    batches: { type: 'string', default: '5' },
    'batch-size': { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '100' },
    database: { type: 'string' },
  },
});
const LEDGER = Number(values.ledger);
const PATIENTS = Number(values.patients);
const LOOKUPS = Number(values.lookups);
const AGENTS = Number(values.agents);
const BATCHES = Number(values.batches);
const BATCH_SIZE = Number(values['batch-size']);
const CONCURRENCY = Number(values.concurrency);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function log(line: string): void {
  console.error(`[bench:hub ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** Runs `work` over `items` with at most `limit` running at once. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

/** One agent's batch: mostly committed orders, then decisions, a status report and a chain head. */
function batch(agent: number, index: number, firstSeq: number): HubEvent[] {
  const events: HubEvent[] = [];
  const at = new Date().toISOString();
  const today = at.slice(0, 10);
  for (let offset = 0; offset < BATCH_SIZE; offset++) {
    const seq = firstSeq + offset;
    const id = `bench-${agent}-${seq}`;
    const patientId = benchPatientId((agent * 104_729 + seq * 31) % PATIENTS);
    const checkId = `k${agent}-${index}-${offset}`;
    const kind = offset % 10;
    if (kind < 6) {
      events.push({
        id, seq, at, type: 'order',
        order: {
          checkId, patientId, visitId: `v${checkId}`,
          items: [1, 2].map((line) => ({
            rxId: `${checkId}#${line}`, code: `XC08CA${String((seq + line) % 500).padStart(4, '0')}`, name: '苯磺酸氨氯地平片',
            category: 'drug', date: today, days: 14, qty: 2, amount: 25.6, deptCode: `D${agent % 40}`, deptName: '心血管内科',
            doctorCode: `DR${agent % 800}`, doctorName: '王医生', channel: 'insured' as const,
          })),
        },
      });
    } else if (kind < 9) {
      events.push({
        id, seq, at, type: 'decision',
        decision: {
          checkId, patientId, outcome: 'proceed', source: 'popup',
          dept: { code: `D${agent % 40}`, name: '心血管内科' }, doctor: { code: `DR${agent % 800}`, name: '王医生' },
          findings: [{ findingId: 'f1', ruleId: `R-${seq % 300}`, kind: 'repeat', level: 'warn' }],
          actions: [{ findingId: 'f1', ruleId: `R-${seq % 300}`, level: 'warn', line: '1', itemName: '苯磺酸氨氯地平片', action: 'continue', reason: '病情需要, 患者外出' }],
        },
      });
    } else if (offset % 20 === 9) {
      events.push({ id, seq, at, type: 'status', status: { pcName: `PC-${agent}`, agentVersion: '0.1.0', rulesVersion: 12, outboxBacklog: 0 } });
    } else {
      events.push({ id, seq, at, type: 'audit-head', head: { seq: seq * 3, hash: (seq * 3).toString(16).padStart(64, '0') } });
    }
  }
  return events;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'rxgate-bench-hub-'));
  // Memory as a hub's database server would be given it (the default 128 MB is for laptops).
  const cluster = values.database ? null : await startCluster(['shared_buffers=1GB', 'effective_cache_size=4GB', 'work_mem=16MB']);
  const clients: HubClient[] = [];
  let hub: Awaited<ReturnType<typeof startHubProcess>> | undefined;
  try {
    const url = values.database ?? (await cluster!.createDatabase('bench'));
    const keyFile = join(work, 'hub.key');
    const { key } = loadOrCreateKeyFile(keyFile);
    hub = await startHubProcess(url, keyFile, ['--console-dir', work]);
    const store = await HubStore.open(url, { maxConnections: 4 });

    log(`enrolling ${AGENTS} agents`);
    let lookerSecret = '';
    const agents: Array<{ client: HubClient; agentId: string }> = [];
    await pool(
      Array.from({ length: AGENTS }, (_, index) => index),
      20,
      async (index) => {
        const { code } = await issueEnrolmentCode(store, 'bench');
        const enrolment = new HubClient({ url: hub!.url });
        const reply = await enrolment.enrol({ code, pcName: `PC-${index}`, agentVersion: '0.1.0' });
        enrolment.close();
        const client = new HubClient({ url: hub!.url, credential: reply.credential });
        clients.push(client);
        agents[index] = { client, agentId: reply.agentId };
        if (index === 0) lookerSecret = reply.credential.slice(reply.credential.indexOf('.') + 1);
      },
    );

    log(`generating ${LEDGER.toLocaleString('en')} ledger rows for ${PATIENTS.toLocaleString('en')} patients`);
    const fillStarted = performance.now();
    await fillBenchLedger(url, {
      rows: LEDGER,
      patients: PATIENTS,
      key,
      agentIds: agents.map((agent) => agent.agentId),
      progress: (done) => log(`  ${done.toLocaleString('en')} rows`),
    });
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const rowCount = await store.ledgerCount();

    // History lookups through the API, as an agent makes them at check time.
    const since = new Date(Date.now() - 180 * 86_400_000).toISOString().slice(0, 10);
    const looker = agents[0]!.client;
    for (let warm = 0; warm < 50; warm++) await looker.lookupHistory(benchPatientId(warm), since, { budgetMs: 5_000 });
    const latencies: number[] = [];
    let rowsSeen = 0;
    let misses = 0;
    for (let index = 0; index < LOOKUPS; index++) {
      const patient = benchPatientId(Math.floor(Math.random() * PATIENTS));
      const started = performance.now();
      const rows = await looker.lookupHistory(patient, since, { budgetMs: 5_000 });
      latencies.push(performance.now() - started);
      if (rows === null) misses++;
      else rowsSeen += rows.length;
    }
    latencies.sort((a, b) => a - b);

    // The same lookups straight against the database, to separate query time from HTTP and
    // process scheduling on this shared machine.
    const keyer = patientKeyer(key);
    const credentialHash = hashSecret(lookerSecret);
    const queryLatencies: number[] = [];
    for (let index = 0; index < LOOKUPS; index++) {
      const patientKey = keyer.key(benchPatientId(Math.floor(Math.random() * PATIENTS)));
      const started = performance.now();
      const rows = await store.history(agents[0]!.agentId, credentialHash, patientKey, since, 500);
      queryLatencies.push(performance.now() - started);
      if (!Array.isArray(rows)) throw new Error(`lookup refused: ${rows}`);
    }
    queryLatencies.sort((a, b) => a - b);

    // Ingest: agents deliver their batches in order, CONCURRENCY agents at a time.
    log(`ingest: ${AGENTS} agents × ${BATCHES} batches × ${BATCH_SIZE} events`);
    const batchLatencies: number[] = [];
    let accepted = 0;
    const ingestStarted = performance.now();
    await pool(agents, CONCURRENCY, async (agent) => {
      const index = agents.indexOf(agent);
      for (let round = 0; round < BATCHES; round++) {
        const started = performance.now();
        const reply = await agent.client.deliver(batch(index, round, round * BATCH_SIZE + 1));
        batchLatencies.push(performance.now() - started);
        accepted += reply.accepted;
      }
    });
    const ingestSeconds = (performance.now() - ingestStarted) / 1000;
    batchLatencies.sort((a, b) => a - b);
    const stored = await store.eventCount();
    await store.close();

    const rowsOut = [
      ['ledger rows at the hub', rowCount.toLocaleString('en'), `generated in ${fillSeconds.toFixed(0)} s`],
      ['history lookup p50 (HTTP, one agent)', `${percentile(latencies, 50).toFixed(2)} ms`, `${LOOKUPS} lookups, ${(rowsSeen / Math.max(1, LOOKUPS - misses)).toFixed(1)} rows each, ${misses} failed`],
      ['history lookup p99', `${percentile(latencies, 99).toFixed(2)} ms`, 'target ≤ 10 ms'],
      ['  of which the query (p50 / p99)', `${percentile(queryLatencies, 50).toFixed(2)} / ${percentile(queryLatencies, 99).toFixed(2)} ms`, 'credential check and rows in one statement, timed from this process'],
      ['ingest rate (one hub process)', `${Math.round(accepted / ingestSeconds).toLocaleString('en')} events/s`, `${accepted.toLocaleString('en')} events from ${AGENTS} agents in ${ingestSeconds.toFixed(1)} s; target ≥ 5,000`],
      ['batch delivery p50 / p99', `${percentile(batchLatencies, 50).toFixed(1)} / ${percentile(batchLatencies, 99).toFixed(1)} ms`, `${BATCH_SIZE} events per batch, ${CONCURRENCY} agents at once`],
      ['events stored (exactly once)', stored.toLocaleString('en'), `expected ${(AGENTS * BATCHES * BATCH_SIZE).toLocaleString('en')}`],
    ];
    console.log('| measure | value | notes |\n|---|---|---|');
    for (const row of rowsOut) console.log(`| ${row.join(' | ')} |`);
  } finally {
    for (const client of clients) client.close();
    await hub?.stop();
    cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench:hub failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
