/**
 * Engine latency with a rules v1 library against the same library with rules v2 conditions
 * (scripts/bench-data.ts), on the same orders and ledger rows, measured interleaved in one
 * process so both see the same machine load. `npm run bench` reports the same comparison;
 * this script is the quick one (no SQLite ledger, no agent process).
 *
 *   node --import tsx scripts/bench-engine.ts [--rules 100000] [--rounds 11000]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { evaluate, mergeHistory } from '../app/core/engine';
import { Check } from '../app/core/protocol/messages';
import { compileRules, type CompiledRules } from '../rules-cache/compile';
import { validateRules } from '../rules-cache/model';
import type { LedgerItem } from '../rules-cache/store-contract';
import { generateCheck, generateLedgerOrder, generateLibrary, patientId, seededRandom } from './bench-data';

/** Compiles a generated library, failing loudly if a generated rule is invalid. */
export function compileGenerated(count: number, v2: boolean): CompiledRules {
  const generated = generateLibrary(count, 42, v2);
  const validated = validateRules(generated.rules);
  if (validated.problems.length) throw new Error(`generated rules invalid: ${JSON.stringify(validated.problems[0])}`);
  return compileRules({ version: generated.version, source: 'pack', rules: validated.rules });
}

export interface EngineFigures {
  p50: number;
  p99: number;
  findings: number;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Runs the same checks against each library in turn, round by round, dropping the first
 * 1000 rounds as warm-up; returns p50/p99 (ms) and the average number of findings.
 */
export function compareEngines(
  libraries: readonly CompiledRules[],
  checks: readonly Check[],
  ledgerRows: ReadonlyArray<readonly LedgerItem[]>,
  rounds: number,
): EngineFigures[] {
  const samples = libraries.map(() => [] as number[]);
  const findings = libraries.map(() => 0);
  for (let round = 0; round < rounds; round += 1) {
    const index = round % checks.length;
    const check = checks[index]!;
    libraries.forEach((compiled, which) => {
      const begin = performance.now();
      const verdict = evaluate(compiled, check, mergeHistory(check.history, ledgerRows[index]!));
      const elapsed = performance.now() - begin;
      if (round >= 1000) samples[which]!.push(elapsed);
      findings[which]! += verdict.findings.length;
    });
  }
  return samples.map((list, which) => ({ p50: percentile(list, 50), p99: percentile(list, 99), findings: findings[which]! / rounds }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rules: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '11000' } } });
  const count = Number(values.rules);
  const rounds = Number(values.rounds);
  const v1 = compileGenerated(count, false);
  const v2 = compileGenerated(count, true);
  const generated = generateLibrary(count, 42, false);
  const random = seededRandom(11);
  const checks = Array.from({ length: 500 }, (_, index) => Check.parse(generateCheck(generated, random, `e-${index}`, patientId(index))));
  const ledgerRandom = seededRandom(7);
  const ledgerRows = checks.map((_, index) => generateLedgerOrder(index, 20, ledgerRandom).items);
  const [first, second] = compareEngines([v1, v2], checks, ledgerRows, rounds);
  const show = (name: string, figures: EngineFigures) =>
    console.log(`${name}: p50 ${figures.p50.toFixed(3)} ms, p99 ${figures.p99.toFixed(3)} ms, ${figures.findings.toFixed(1)} findings per check`);
  console.log(`engine, ${count} rules, 20 items + 200 history + 20 ledger rows, ${rounds - 1000} measured rounds each; node ${process.version}`);
  show('v1 library', first!);
  show('v2 library', second!);
  console.log(`v2 p99 / v1 p99: ${((second!.p99 / first!.p99) * 100).toFixed(0)} %`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
