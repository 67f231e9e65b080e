/**
 * Where loading a large rule library spends its time and memory: validating raw rules,
 * compiling them, the heap the compiled library keeps, and the agent's cold-start path from
 * SQLite (read rows, digest, parse, compile). Each phase is timed several times, phases
 * alternating, so the machine's load falls on all of them alike; medians are printed.
 *
 *   node --expose-gc --import tsx scripts/bench-load.ts [--rules 100000] [--rounds 5] [--v2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { compileRules, type CompiledRules } from '../rules-cache/compile';
import { validateRules, type RuleLibrary } from '../rules-cache/model';
import { openStore } from '../rules-cache/store';
import { generateLibrary } from './bench-data';

const { values } = parseArgs({
  options: {
    rules: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '5' },
    v2: { type: 'boolean', default: false },
  },
});
const RULES = Number(values.rules);
const ROUNDS = Number(values.rounds);

const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with node --expose-gc so that heap figures mean something');
const gc: () => void = collect;

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ms = (value: number) => `${value.toFixed(0)} ms`;

function main(): void {
  const generated = generateLibrary(RULES, 42, values.v2);
  // As a pack or an import hands them over: plain JSON, nothing shared with the generator.
  const text = JSON.stringify(generated.rules);
  const phases = { parse: [] as number[], validate: [] as number[], compile: [] as number[], total: [] as number[], cpu: [] as number[] };
  for (let round = 0; round < ROUNDS; round += 1) {
    let started = performance.now();
    const raw = JSON.parse(text) as unknown[];
    phases.parse.push(performance.now() - started);
    started = performance.now();
    // CPU time of this process (the collector's threads included): steadier than the wall
    // clock on a machine whose other processes come and go.
    const cpuStarted = process.cpuUsage();
    const validated = validateRules(raw);
    const validateMs = performance.now() - started;
    if (validated.problems.length) throw new Error(`generated rules invalid: ${JSON.stringify(validated.problems[0])}`);
    started = performance.now();
    compileRules({ version: generated.version, source: 'pack', rules: validated.rules });
    const compileMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuStarted);
    phases.cpu.push((cpu.user + cpu.system) / 1000);
    phases.validate.push(validateMs);
    phases.compile.push(compileMs);
    phases.total.push(validateMs + compileMs);
  }
  console.log(`${RULES} rules${values.v2 ? ' (rules v2 conditions)' : ''}, ${ROUNDS} rounds, medians; node ${process.version}`);
  console.log(`  JSON.parse of the rule list   ${ms(median(phases.parse))}`);
  console.log(`  validateRules                 ${ms(median(phases.validate))}`);
  console.log(`  compileRules                  ${ms(median(phases.compile))}`);
  console.log(`  validate + compile            ${ms(median(phases.total))}  (each: ${phases.total.map(ms).join(', ')}); CPU ${ms(median(phases.cpu))}`);

  // The heap a loaded library keeps: the compiled form alone, once the raw list is gone.
  const base = heapUsed();
  let raw: unknown[] | null = JSON.parse(text) as unknown[];
  const rawHeap = heapUsed() - base;
  let library: RuleLibrary | null = { version: generated.version, source: 'pack', rules: validateRules(raw).rules };
  raw = null;
  const validatedHeap = heapUsed() - base;
  let compiled: CompiledRules | null = compileRules(library);
  const bothHeap = heapUsed() - base;
  library = null;
  const compiledHeap = heapUsed() - base;
  console.log(`  heap: raw JSON objects ${mb(rawHeap)}; validated rules ${mb(validatedHeap)}; + compiled ${mb(bothHeap)}; compiled alone ${mb(compiledHeap)}`);
  if (compiled.ruleCount !== RULES) throw new Error('compiled library lost rules');
  compiled = null;

  // The agent's cold start: the active library read back from SQLite and compiled.
  const dataDir = mkdtempSync(join(tmpdir(), 'rxgate-load-'));
  try {
    const store = openStore(join(dataDir, 'rxgate.db'));
    store.applyLibrary({ version: generated.version, source: 'pack', rules: JSON.parse(text) as RuleLibrary['rules'] });
    const cold = { read: [] as number[], compile: [] as number[] };
    for (let round = 0; round < ROUNDS; round += 1) {
      let started = performance.now();
      const active = store.activeLibrary();
      cold.read.push(performance.now() - started);
      started = performance.now();
      compileRules(active!.library);
      cold.compile.push(performance.now() - started);
    }
    console.log(`  from SQLite: activeLibrary (rows, digest, parse) ${ms(median(cold.read))}; compile ${ms(median(cold.compile))}`);
    store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main();
