/**
 * `npm run bench`: measures RxGate against the quality targets in product.md and prints a
 * table. A report, not a test: these machines are shared, so numbers vary run to run.
 *
 *   --rules N     rules in the library (default 100000)
 *   --ledger N    ledger rows (default 1000000)
 *   --checks N    checks per latency run (default 10000)
 *
 * The WebSocket latency is measured against a floor in the same run: a bare WebSocket server
 * (scripts/bench-floor.js) that only parses each frame and answers, driven by the same client
 * (scripts/bench-client.js, a process of its own) with the same frames, in alternating blocks so
 * that the machine's load falls on both alike.
 * The ladder (scripts/bench-ladder.js) then times the agent's work a step at a time against the
 * same floor. The bounded cases (scripts/bench-bounded.ts) follow, against the same agent process.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { evaluate, mergeHistory } from '../app/core/engine';
import { Check } from '../app/core/protocol/messages';
import { historySince } from '../app/core/agent';
import { compileRules } from '../rules-cache/compile';
import { validateRules, type RuleLibrary } from '../rules-cache/model';
import { openStore } from '../rules-cache/store';
import { createServer } from 'node:http';
import { readFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { buildPack, generateKeyPair, publishPack } from '../rules-cache/pack';
import { generateCheck, generateLedgerOrder, generateLibrary, patientId, seededRandom } from './bench-data';
import { compareEngines, compileGenerated } from './bench-engine';
import { runBoundedCases } from './bench-bounded';
import { benchHubCheck } from './bench-hub-check';

const { values } = parseArgs({
  options: {
    rules: { type: 'string', default: '100000' },
    ledger: { type: 'string', default: '1000000' },
    checks: { type: 'string', default: '10000' },
  },
});
const RULES = Number(values.rules);
const LEDGER = Number(values.ledger);
const CHECKS = Number(values.checks);
const PER_PATIENT = 20;
const PATIENTS = Math.max(1, Math.floor(LEDGER / PER_PATIENT));
const TOKEN = 'bench-token-0123456789abcdef';
const root = join(__dirname, '..');

interface Row {
  what: string;
  measured: string;
  target: string;
  ok?: boolean;
}
const rows: Row[] = [];
function report(what: string, measured: string, target = '', ok?: boolean): void {
  rows.push({ what, measured, target, ok });
  console.log(`  ${what}: ${measured}${target ? `  (target ${target})` : ''}`);
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const ms = (value: number) => `${value.toFixed(3)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** Checks per target in the ladder: six targets, so fewer than the main run's. */
const LADDER_CHECKS = Math.min(CHECKS, 2000);

/** Runs the latency client (scripts/bench-client.js, a process of its own) over `targets`. */
async function driveClient(
  framesFile: string,
  checks: number,
  targets: Array<{ name: string; url: string; inside?: boolean }>,
): Promise<{ samples: Record<string, number[]>; inside: Record<string, number[]> }> {
  const client = fork(join(__dirname, 'bench-client.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  type Timed = { samples: Record<string, number[]>; inside: Record<string, number[]>; error?: string };
  const timed = await new Promise<Timed>((resolve, reject) => {
    client.once('message', (message) => resolve(message as Timed));
    client.once('exit', (code) => reject(new Error(`latency client exited ${code}`)));
    client.send({ targets, framesFile, checks, block: 500, warmup: 500 });
  });
  if (timed.error) throw new Error(`latency client: ${timed.error}`);
  return timed;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rxgate-bench-'));
  try {
    console.log(`RxGate benchmark — ${RULES} rules, ${LEDGER} ledger rows, ${CHECKS} checks; node ${process.version}`);

    console.log('Preparing data…');
    const generated = generateLibrary(RULES);
    const validated = validateRules(generated.rules);
    if (validated.problems.length) throw new Error(`generated rules invalid: ${JSON.stringify(validated.problems[0])}`);
    const library: RuleLibrary = { version: generated.version, source: 'pack', rules: validated.rules };

    const store = openStore(join(dataDir, 'rxgate.db'));
    let started = performance.now();
    store.applyLibrary(library);
    report(`store.applyLibrary, ${RULES} rules (SQLite transaction, validation included)`, ms(performance.now() - started));

    started = performance.now();
    const random = seededRandom(7);
    for (let patient = 0; patient < PATIENTS; patient += 1) store.recordOrder(generateLedgerOrder(patient, PER_PATIENT, random));
    console.log(`  ledger: ${store.ledgerCount()} rows written in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    started = performance.now();
    const compiled = compileRules(library);
    const compileMs = performance.now() - started;
    report(`compileRules, ${RULES} rules`, ms(compileMs));
    // What an import or a pack costs before it can check: every rule validated, then compiled.
    const rawRules = JSON.parse(JSON.stringify(generated.rules)) as unknown[];
    started = performance.now();
    const loaded = compileRules({ version: generated.version, source: 'pack', rules: validateRules(rawRules).rules });
    const loadMs = performance.now() - started;
    report(`loading ${RULES} rules (validate + compile)`, `${ms(loadMs)} (${loaded.version === generated.version ? 'ok' : 'wrong'})`, '≤ 1 s', loadMs <= 1000);

    // ---- engine --------------------------------------------------------------------------
    const checkRandom = seededRandom(11);
    const samplesChecks = Array.from({ length: 500 }, (_, index) =>
      Check.parse(generateCheck(generated, checkRandom, `e-${index}`, patientId(Math.floor(checkRandom() * PATIENTS)))),
    );
    const ledgerRows = samplesChecks.map((check) => store.priorItems(check.patient.id, historySince(check.visit.date)));
    let findings = 0;
    const engineSamples: number[] = [];
    for (let round = 0; round < 11_000; round += 1) {
      const index = round % samplesChecks.length;
      const check = samplesChecks[index]!;
      const begin = performance.now();
      const verdict = evaluate(compiled, check, mergeHistory(check.history, ledgerRows[index]!));
      const elapsed = performance.now() - begin;
      if (round >= 1000) engineSamples.push(elapsed);
      findings += verdict.findings.length;
    }
    const enginePercentile99 = percentile(engineSamples, 99);
    report(
      'engine: 20 items + 200 history (+ ~20 ledger rows), p50 / p99',
      `${ms(percentile(engineSamples, 50))} / ${ms(enginePercentile99)}  (avg ${(findings / 11_000).toFixed(1)} findings)`,
      'p99 ≤ 1 ms',
      enginePercentile99 <= 1,
    );
    // Rules v2: the same library with v2 conditions, measured interleaved with v1 on the same orders.
    const [v1Figures, v2Figures] = compareEngines([compiled, compileGenerated(RULES, true)], samplesChecks, ledgerRows, 11_000);
    report(
      'engine, v1 library vs the same with rules v2 conditions (interleaved), p50 / p99',
      `v1 ${ms(v1Figures!.p50)} / ${ms(v1Figures!.p99)}, v2 ${ms(v2Figures!.p50)} / ${ms(v2Figures!.p99)} (${((v2Figures!.p99 / v1Figures!.p99) * 100).toFixed(0)} %)`,
      'v2 p99 within 110 % of v1',
      v2Figures!.p99 <= v1Figures!.p99 * 1.1,
    );
    const lookupSamples: number[] = [];
    for (let round = 0; round < 5000; round += 1) {
      const begin = performance.now();
      store.priorItems(patientId(Math.floor(checkRandom() * PATIENTS)), '2025-11-23');
      lookupSamples.push(performance.now() - begin);
    }
    report('ledger lookup per check (indexed SQLite read), p50 / p99', `${ms(percentile(lookupSamples, 50))} / ${ms(percentile(lookupSamples, 99))}`);
    store.close();

    // ---- the agent as a separate process -------------------------------------------------
    console.log('Building dist/ for the agent process…');
    const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
    if (build.status !== 0) throw new Error('tsc build failed');

    // A full pack of the same size, one version up, served from loopback once the latency run is over.
    console.log('Building and publishing a signed pack for the apply run…');
    const keys = await generateKeyPair(join(dataDir, 'keys'));
    const next = generateLibrary(RULES, 43);
    await buildPack({ rules: validateRules(next.rules).rules, privateKeyPem: readFileSync(keys.privateKeyPath, 'utf8'), version: 3, outDir: join(dataDir, 'pack') });
    const www = join(dataDir, 'www');
    await publishPack(join(dataDir, 'pack'), www);
    let serving = false;
    const web = createServer((request, response) => {
      const file = join(www, new URL(request.url ?? '/', 'http://x').pathname);
      if (!serving || !file.startsWith(www) || !existsSync(file) || statSync(file).isDirectory()) {
        response.writeHead(404);
        return void response.end();
      }
      response.end(readFileSync(file));
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const webUrl = `http://127.0.0.1:${(web.address() as { port: number }).port}/`;

    const spawnedAt = performance.now();
    const child = fork(join(__dirname, 'bench-agent.js'), [join(root, 'dist'), dataDir, TOKEN, webUrl, keys.publicKeyPem], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<{ port: number; uiToken: string; readyMs: number; rss: number }>((resolve, reject) => {
      child.once('message', (message) => resolve(message as { port: number; uiToken: string; readyMs: number; rss: number }));
      child.once('exit', (code) => reject(new Error(`agent exited ${code}`)));
    });
    const wallReady = performance.now() - spawnedAt;
    report(
      `cold start to ready (listening, ${RULES} rules loaded): process start → ready / spawn → ready`,
      `${ms(ready.readyMs)} / ${ms(wallReady)}`,
      '≤ 1.5 s',
      wallReady <= 1500,
    );

    // ---- the agent against the transport floor --------------------------------------------
    const floor = fork(join(__dirname, 'bench-floor.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const floorPort = await new Promise<number>((resolve, reject) => {
      floor.once('message', (message) => resolve((message as { port: number }).port));
      floor.once('exit', (code) => reject(new Error(`floor server exited ${code}`)));
    });
    const connect = async (url: string) => {
      const opened = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
      await new Promise((resolve, reject) => {
        opened.once('open', resolve);
        opened.once('error', reject);
      });
      return opened;
    };
    const socket = await connect(`ws://127.0.0.1:${ready.port}/v1?token=${TOKEN}`);
    const wsRandom = seededRandom(23);
    // Serialised before timing: the client's own JSON work is not the agent's.
    const frames = Array.from({ length: 500 }, (_, index) =>
      JSON.stringify(generateCheck(generated, wsRandom, `w-${index}`, patientId(Math.floor(wsRandom() * PATIENTS)))),
    );
    /** One check from this process (while a pack applies), timed to its reply. */
    const roundTrip = (frame: string) =>
      new Promise<number>((resolve) => {
        const begin = performance.now();
        socket.once('message', () => resolve(performance.now() - begin));
        socket.send(frame);
      });
    // Timed from a client process of its own (scripts/bench-client.js), not from this one.
    const framesFile = join(dataDir, 'frames.json');
    writeFileSync(framesFile, JSON.stringify(frames));
    const timed = await driveClient(framesFile, CHECKS, [
      { name: 'agent', url: `ws://127.0.0.1:${ready.port}/v1?token=${TOKEN}`, inside: true },
      { name: 'floor', url: `ws://127.0.0.1:${floorPort}/` },
    ]);
    const [wsSamples, floorSamples, insideSamples] = [timed.samples['agent']!, timed.samples['floor']!, timed.inside['agent']!];
    const agent50 = percentile(wsSamples, 50);
    const agent99 = percentile(wsSamples, 99);
    const floor50 = percentile(floorSamples, 50);
    const floor99 = percentile(floorSamples, 99);
    console.log(`\n  WebSocket round trip, ${CHECKS} checks of 20 items + 200 history (${(frames[0]!.length / 1024).toFixed(0)} KB frames):`);
    console.log('                 p50        p99        max');
    console.log(`    floor   ${ms(floor50).padStart(10)} ${ms(floor99).padStart(10)} ${ms(Math.max(...floorSamples)).padStart(10)}`);
    console.log(`    agent   ${ms(agent50).padStart(10)} ${ms(agent99).padStart(10)} ${ms(Math.max(...wsSamples)).padStart(10)}`);
    console.log(`    ratio   ${`${(agent50 / floor50).toFixed(2)}×`.padStart(10)} ${`${(agent99 / floor99).toFixed(2)}×`.padStart(10)}\n`);
    report('floor (bare WebSocket server, parse + answer) p50 / p99', `${ms(floor50)} / ${ms(floor99)}`);
    report('agent WebSocket check → verdict p50 / p99', `${ms(agent50)} / ${ms(agent99)}`, 'p99 ≤ 5 ms', agent99 <= 5);
    report('agent ÷ floor, p50', `${(agent50 / floor50).toFixed(2)}×`, '≤ 1.5×', agent50 / floor50 <= 1.5);
    report('agent ÷ floor, p99', `${(agent99 / floor99).toFixed(2)}×`, '≤ 1.5×', agent99 / floor99 <= 1.5);
    const inside99 = percentile(insideSamples, 99);
    report('inside the agent (verdict elapsedMs) p50 / p99', `${ms(percentile(insideSamples, 50))} / ${ms(inside99)}`, 'p99 ≤ 1 ms', inside99 <= 1);
    child.send('rss');
    const after = await new Promise<{ rss: number; heapUsed: number }>((resolve) => child.once('message', (message) => resolve(message as { rss: number; heapUsed: number })));
    report(`agent RSS: after start / after ${CHECKS} checks`, `${mb(ready.rss)} / ${mb(after.rss)} (heap ${mb(after.heapUsed)})`, '≤ 300 MB', after.rss <= 300 * 1024 * 1024);

    // ---- the ladder: where the agent's time over the floor goes -----------------------------
    console.log(`\nThe ladder (scripts/bench-ladder.js): the floor, then the agent's work a step at a time, ${LADDER_CHECKS} checks each, the agent idle:`);
    const ladder = fork(join(__dirname, 'bench-ladder.js'), [join(root, 'dist'), join(dataDir, 'rxgate.db')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ladderReady = await new Promise<{ port: number; steps: Array<{ step: string; label: string }> }>((resolve, reject) => {
      ladder.once('message', (message) => resolve(message as { port: number; steps: Array<{ step: string; label: string }> }));
      ladder.once('exit', (code) => reject(new Error(`ladder server exited ${code}`)));
    });
    const climbed = await driveClient(framesFile, LADDER_CHECKS, [
      { name: 'floor', url: `ws://127.0.0.1:${floorPort}/` },
      ...ladderReady.steps.map(({ step }) => ({ name: step, url: `ws://127.0.0.1:${ladderReady.port}/${step}` })),
    ]);
    ladder.send('stop');
    floor.send('stop');
    const ladderFloor = { p50: percentile(climbed.samples['floor']!, 50), p99: percentile(climbed.samples['floor']!, 99) };
    console.log(`    the floor (its own process): ${ms(ladderFloor.p50)} / ${ms(ladderFloor.p99)}`);
    const ladderRows = ladderReady.steps.map(({ step, label }) => {
      const p50 = percentile(climbed.samples[step]!, 50);
      const p99 = percentile(climbed.samples[step]!, 99);
      console.log(`    ${label}: ${ms(p50)} / ${ms(p99)}  (${(p50 / ladderFloor.p50).toFixed(2)}× / ${(p99 / ladderFloor.p99).toFixed(2)}× the floor)`);
      return `${step} ${(p50 / ladderFloor.p50).toFixed(2)}×`;
    });
    report(
      'the ladder, p50 × the floor (parse in a process holding the rules, + validation, + engine, + verdict reply, + ledger read)',
      `floor ${ms(ladderFloor.p50)}; ${ladderRows.join(', ')}; the agent in the run above ${(agent50 / floor50).toFixed(2)}×`,
    );

    // ---- a full pack applied while checks keep coming ---------------------------------------
    serving = true;
    let applying = true;
    const duringSamples: number[] = [];
    const checking = (async () => {
      for (let index = 0; applying; index += 1) duringSamples.push(await roundTrip(frames[index % frames.length]!));
    })();
    const syncStarted = performance.now();
    const response = await fetch(`http://127.0.0.1:${ready.port}/v1/sync`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    const syncMs = performance.now() - syncStarted;
    const syncBody = (await response.json()) as { result: string };
    applying = false;
    await checking;
    const statusResponse = await fetch(`http://127.0.0.1:${ready.port}/v1/status`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    const activeVersion = ((await statusResponse.json()) as { rules: { version: number } }).rules.version;
    if (activeVersion !== 3) throw new Error(`the pack was not applied: ${syncBody.result}`);
    report(`sync of a full ${RULES}-rule pack (fetch, verify, write, compile, swap)`, ms(syncMs), '≤ 5 s', syncMs <= 5000);
    const duringPercentile99 = percentile(duringSamples, 99);
    report(
      `checks answered while it applied: count, p50 / p99 / max`,
      `${duringSamples.length}, ${ms(percentile(duringSamples, 50))} / ${ms(duringPercentile99)} / ${ms(Math.max(...duringSamples))}`,
      'p99 ≤ 10 ms',
      duringPercentile99 <= 10,
    );
    child.send('rss');
    const afterApply = await new Promise<{ rss: number }>((resolve) => child.once('message', (message) => resolve(message as { rss: number })));
    report('agent RSS after the apply', mb(afterApply.rss), '≤ 300 MB', afterApply.rss <= 300 * 1024 * 1024);
    web.close();
    socket.close();

    // ---- bounded under hostile clients ---------------------------------------------------
    console.log('\nBounded cases (same agent process):');
    const agentRss = () =>
      new Promise<number>((resolve) => {
        child.once('message', (message) => resolve((message as { rss: number }).rss));
        child.send('rss');
      });
    await runBoundedCases({ port: ready.port, token: TOKEN, uiToken: ready.uiToken, library: generated, patients: PATIENTS, agentRss, report });

    child.send('stop');
    await new Promise((resolve) => child.once('exit', resolve));

    console.log('\nHub on vs off (separate agent processes, same frames in alternating blocks):');
    const hubCheck = await benchHubCheck({ log: (line) => console.log(`  ${line}`) });
    if ('skipped' in hubCheck) console.log(`  ${hubCheck.skipped}`);
    else {
      report(`check round trip p50 / p99, hub off → on (${hubCheck.hubAnswered}/${hubCheck.checks} with the hub's history)`, `${ms(hubCheck.off.p50)} / ${ms(hubCheck.off.p99)} → ${ms(hubCheck.on.p50)} / ${ms(hubCheck.on.p99)}`, 'hub on p99 ≤ 5 ms', hubCheck.on.p99 <= 5);
      report('history lookup alone p50 / p99 (this process → hub, same patients)', `${ms(hubCheck.lookup.p50)} / ${ms(hubCheck.lookup.p99)}`);
    }

    console.log('\n| what | measured | target | |');
    console.log('|---|---|---|---|');
    for (const row of rows) console.log(`| ${row.what} | ${row.measured} | ${row.target} | ${row.ok === undefined ? '' : row.ok ? 'met' : 'MISSED'} |`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
