/**
 * The starter library from the real catalogue (rules-cache/nrdl/): it is what the generator
 * writes, loads without a problem, encodes every sample row, matches the coverage table in
 * docs/rules.md, and answers real orders as the restriction texts say.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { evaluate, mergeHistory } from '../app/core/engine';
import { Check, type CheckInput } from '../app/core/protocol/messages';
import { coverageCounts, readSample, starterFiles } from '../scripts/nrdl-starter';
import { compileRules } from './compile';
import type { Rule } from './model';
import { loadRuleSources } from './sources';

const timeout = { timeout: 60_000 };
const folder = join(__dirname, 'nrdl');

describe('starter library from the national catalogue', timeout, () => {
  const loading = loadRuleSources([folder], { today: '2026-11-30' });

  test('the committed sheets are what the generator writes', timeout, async () => {
    for (const [name, content] of await starterFiles()) {
      assert.equal(await readFile(join(folder, name), 'utf8'), content, name);
    }
  });

  test('loads without errors or warnings, and every sample row is encoded with its text as basis', timeout, async () => {
    const result = await loading;
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.warnings, []);
    const rows = await readSample();
    assert.equal(rows.length, 245);
    for (const row of rows) {
      const id = `NRDL-${String(row.row).padStart(3, '0')}`;
      const rules = result.rules.filter((rule) => rule.id === id || rule.id.startsWith(`${id}-`));
      assert.ok(rules.length > 0, `row ${row.row} ${row.name}`);
      for (const rule of rules) assert.ok(rule.basis.includes(row.text), rule.id);
    }
  });

  test('the coverage table in docs/rules.md has the measured counts, and at least 90 % is exact or attested', timeout, async () => {
    const { rows, counts } = await coverageCounts();
    const docs = await readFile(join(__dirname, '..', 'docs', 'rules.md'), 'utf8');
    for (const [coverage, count] of Object.entries(counts)) {
      const line = docs.split('\n').find((text) => text.includes(`(${coverage}) |`));
      assert.ok(line, coverage);
      assert.match(line, new RegExp(`\\| ${count} \\| ${count === 0 ? '0' : ((count / rows) * 100).toFixed(1)} %`), coverage);
    }
    assert.ok((counts.exact + counts.attest) / rows >= 0.9);
  });

  describe('answers real orders', timeout, () => {
    const compiled = loading.then((result) => compileRules({ version: 1, source: 'test', rules: result.rules }));
    const codeOf = async (id: string): Promise<string> => {
      const rule = (await compiled).byId.get(id) as Extract<Rule, { drugs?: string[] }> | undefined;
      assert.ok(rule?.drugs?.[0], id);
      return `${rule.drugs[0]}A001010100001`;
    };
    const check = (input: Partial<CheckInput> & { items: CheckInput['items'] }): Check =>
      Check.parse({
        type: 'check',
        id: 'c-nrdl',
        patient: { id: 'P1', gender: 'M', birthDate: '1958-03-02', insurance: '310' },
        visit: { id: 'V1', type: 'inpatient', medType: '21', date: '2026-11-16', hospitalLevel: 3 },
        diagnoses: [],
        ...input,
      } satisfies CheckInput);
    const run = async (order: Check) => evaluate(await compiled, order, mergeHistory(order.history, []));

    test('奥扎格雷: 14 days from the first use', timeout, async () => {
      const code = await codeOf('NRDL-034-D');
      const verdict = await run(
        check({
          diagnoses: [{ code: 'I63.900', name: '脑梗死' }],
          items: [{ line: '1', code, name: '奥扎格雷钠注射液', days: 1, attested: true }],
          history: [{ rxId: 'R1', code, date: '2026-11-01', days: 14 }],
        }),
      );
      const days = verdict.findings.filter((finding) => finding.ruleId === 'NRDL-034-D');
      assert.equal(days.length, 1);
      assert.match(days[0]!.message, /11月1日首次使用，本次为第16天/);
    });

    test('门冬胰岛素50: type 2 diabetes asks to attest; type 1 passes', timeout, async () => {
      const code = await codeOf('NRDL-002');
      const type2 = await run(check({ diagnoses: [{ code: 'E11.900' }], items: [{ line: '1', code, name: '门冬胰岛素50' }] }));
      assert.deepEqual(type2.findings.map((finding) => finding.details.confirm), [['其他短效胰岛素或口服药难以控制']]);
      const type1 = await run(check({ diagnoses: [{ code: 'E10.900' }], items: [{ line: '1', code, name: '门冬胰岛素50' }] }));
      assert.equal(type1.result, 'pass');
    });

    test('anti-VEGF injections share one cap', timeout, async () => {
      const conbercept = await codeOf('NRDL-231');
      const faricimab = await codeOf('NRDL-230');
      const verdict = await run(
        check({
          diagnoses: [{ code: 'E11.301' }],
          items: [{ line: '1', code: conbercept, name: '康柏西普眼用注射液', qty: 1, unit: '支', attested: true }],
          history: [
            { rxId: 'R1', code: faricimab, date: '2025-02-01', qty: 5 },
            { rxId: 'R2', code: conbercept, date: '2025-08-01', qty: 4 },
          ],
        }),
      );
      const capped = verdict.findings.filter((finding) => finding.ruleId === 'NRDL-L-VEGF');
      assert.equal(capped.length, 1);
      assert.equal(capped[0]!.level, 'warn');
      assert.equal(capped[0]!.details.total, 10);
    });
  });
});
