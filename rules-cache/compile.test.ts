import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileRules, compileRulesSliced, type CompiledDrugRule } from './compile';
import { parseRuleLibraryDocument, validateRules, type RuleInput, type RuleLibrary } from './model';

function library(rules: RuleInput[], extra: Partial<RuleLibrary> = {}): RuleLibrary {
  const { rules: valid, problems } = validateRules(rules);
  assert.deepEqual(problems, []);
  return { version: 7, source: 'test', rules: valid, ...extra };
}

/** `kind:id` of each rule in an index entry. */
function ids(list: readonly CompiledDrugRule[] | undefined): string[] | undefined {
  return list?.map((compiled) => `${compiled.kind}:${compiled.rule.id}`);
}

const indication = (id: string, drugs: string[], extra: Partial<RuleInput> = {}): RuleInput =>
  ({ id, kind: 'indication', level: 'block', title: id, drugs, require: { diagnoses: ['C34'] }, ...extra }) as RuleInput;

test('the compiled library reports version, source, dates and counts by kind', () => {
  const compiled = compileRules(
    library(
      [
        indication('A', ['ZA12AAZ017']),
        indication('B', ['XC08'], { enabled: false }),
        { id: 'R', kind: 'repeat', level: 'warn', title: 'r' },
        { id: 'D', kind: 'days', level: 'warn', title: 'd', maxDays: 7 },
      ],
      { publishedAt: '2026-11-01T00:00:00Z', expiresAt: '2027-11-01T00:00:00Z' },
    ),
  );
  assert.equal(compiled.version, 7);
  assert.equal(compiled.source, 'test');
  assert.equal(compiled.ruleCount, 4);
  assert.equal(compiled.enabledCount, 3);
  assert.deepEqual(compiled.counts, { indication: 2, chronic: 0, repeat: 1, days: 1, herbal: 0, limit: 0 });
  assert.equal(compiled.publishedAt, '2026-11-01T00:00:00Z');
  assert.equal(compiled.expiresAt, '2027-11-01T00:00:00Z');
  assert.equal(compiled.byId.get('B')?.enabled, false);
});

test('drug rules are indexed by every prefix they name; disabled rules are not indexed', () => {
  const compiled = compileRules(
    library([
      indication('A', ['zA12 AAZ017', 'ZA12AAZ017']),
      indication('B', ['XC08'], { enabled: false }),
      indication('H', [], { hospCodes: ['yp0451'] }),
      { id: 'D', kind: 'days', level: 'warn', title: 'd', maxDays: 14, drugs: ['XJ04'] },
      { id: 'R', kind: 'repeat', level: 'warn', title: 'r', drugs: ['XN05C'] },
    ]),
  );
  assert.deepEqual(ids(compiled.byDrugPrefix.get('ZA12AAZ017')), ['indication:A']);
  assert.equal(compiled.byDrugPrefix.get('XC08'), undefined);
  assert.deepEqual(ids(compiled.byHospCode.get('YP0451')), ['indication:H']);
  assert.deepEqual(ids(compiled.byDrugPrefix.get('XJ04')), ['days:D']);
  assert.deepEqual(ids(compiled.byDrugPrefix.get('XN05C')), ['repeat:R']);
  assert.equal(compiled.daysGeneral.length, 0);
  assert.equal(compiled.repeatGeneral.length, 0);
  assert.equal(Math.max(...compiled.prefixLengths), 10);
});

test('rules that name no drug go to the general lists', () => {
  const compiled = compileRules(
    library([
      { id: 'R', kind: 'repeat', level: 'warn', title: 'r' },
      { id: 'D', kind: 'days', level: 'warn', title: 'd', maxDays: 7 },
      { id: 'H', kind: 'herbal', level: 'warn', title: 'h', maxItems: 20, except: { diagnoses: ['C00-C97'], maxItems: 25 } },
    ]),
  );
  assert.deepEqual(compiled.repeatGeneral.map((rule) => rule.rule.id), ['R']);
  assert.deepEqual(compiled.daysGeneral.map((rule) => rule.rule.id), ['D']);
  assert.deepEqual(compiled.herbal.map((rule) => rule.rule.id), ['H']);
  assert.ok(compiled.herbal[0]!.except?.matches('C34.900'));
});

test('chronic rules are indexed by disease code and diagnosis, carry their scope as sets; medTypes default to 14', () => {
  const compiled = compileRules(
    library([
      {
        id: 'C1',
        kind: 'chronic',
        level: 'block',
        title: '高血压',
        disease: { code: 'm03900', name: '高血压', diagnoses: ['I10-I15', 'I10'] },
        allow: ['XC08'],
      },
      {
        id: 'C2',
        kind: 'chronic',
        level: 'block',
        title: '糖尿病',
        scope: { medTypes: ['14', '15'] },
        disease: { code: 'M01600', name: '糖尿病', diagnoses: ['E11.9'] },
        allow: ['XA10'],
        allowHospCodes: ['YP0001'],
      },
    ]),
  );
  assert.deepEqual(compiled.chronicByDisease.get('M03900')?.map((rule) => rule.rule.id), ['C1']);
  assert.deepEqual(compiled.chronicByDiagnosis.get('I12')?.map((rule) => rule.rule.id), ['C1']);
  assert.deepEqual(compiled.chronicByDiagnosis.get('I10')?.map((rule) => rule.rule.id), ['C1']);
  assert.deepEqual(compiled.chronicByDiagnosis.get('E119')?.map((rule) => rule.rule.id), ['C2']);
  assert.ok(compiled.chronicByDisease.get('M03900')?.[0]?.allowPrefixes.includes('XC08'));
  assert.ok(compiled.chronicByDisease.get('M01600')?.[0]?.allowHospCodes.includes('YP0001'));
  assert.equal(compiled.byDrugPrefix.get('XC08'), undefined);
  assert.deepEqual(compiled.chronicByDisease.get('M03900')?.[0]?.medTypes, ['14']);
  assert.deepEqual([...compiled.chronicMedTypes].sort(), ['14', '15']);
});

test('the compiled library is frozen', () => {
  const compiled = compileRules(library([indication('A', ['ZA12AAZ017']), { id: 'D', kind: 'days', level: 'warn', title: 'd', maxDays: 7 }]));
  assert.ok(Object.isFrozen(compiled));
  assert.ok(Object.isFrozen(compiled.counts));
  assert.ok(Object.isFrozen(compiled.daysGeneral));
  assert.ok(Object.isFrozen(compiled.byDrugPrefix.get('ZA12AAZ017')));
  assert.ok(Object.isFrozen(compiled.byDrugPrefix.get('ZA12AAZ017')![0]));
  assert.throws(() => {
    (compiled as { version: number }).version = 8;
  });
});

test('the demo library parses and compiles with every kind represented', () => {
  const document: unknown = JSON.parse(readFileSync(join(__dirname, 'demo/demo-rules.json'), 'utf8'));
  const compiled = compileRules(parseRuleLibraryDocument(document, 'demo'));
  assert.equal(compiled.version, 1);
  for (const count of Object.values(compiled.counts)) assert.ok(count > 0);
});

test('a library of 100,000 rules compiles and every rule is reachable by its prefix', () => {
  const rules: RuleInput[] = [];
  for (let index = 0; index < 100_000; index += 1) {
    const generic = `XA${String(index).padStart(8, '0')}`;
    const kind = index % 4;
    if (kind === 0 || kind === 1) rules.push(indication(`I${index}`, [generic]));
    else if (kind === 2) rules.push({ id: `D${index}`, kind: 'days', level: 'warn', title: 'd', maxDays: 14, drugs: [generic] });
    else
      rules.push({
        id: `C${index}`,
        kind: 'chronic',
        level: 'block',
        title: 'c',
        disease: { code: `M${index}`, name: 'd', diagnoses: ['I10-I15'] },
        allow: [generic],
      });
  }
  const compiled = compileRules(library(rules));
  assert.equal(compiled.ruleCount, 100_000);
  assert.equal(compiled.byDrugPrefix.size, 75_000);
  assert.deepEqual(ids(compiled.byDrugPrefix.get('XA00099998')), ['days:D99998']);
  assert.ok(compiled.chronicByDisease.get('M99999')?.[0]?.allowPrefixes.includes('XA00099999'));
  assert.equal(compiled.chronicByDiagnosis.get('I13')?.length, 25_000);
});

test('the sliced compile yields between slices and builds the same index as the one-step compile', async () => {
  const rules = Array.from({ length: 3000 }, (_, index) => ({
    id: `S-${index}`,
    kind: 'indication' as const,
    level: index % 2 ? ('warn' as const) : ('block' as const),
    title: `规则 ${index}`,
    drugs: [`XA10BA${String(index).padStart(4, '0')}`],
    require: { diagnoses: ['E11', 'C15-C26'] },
  }));
  const { rules: validated, problems } = validateRules(rules);
  assert.deepEqual(problems, []);
  const library = { version: 7, source: 'pack', rules: validated };
  let turns = 0;
  const ticking = setInterval(() => (turns += 1), 0);
  const sliced = await compileRulesSliced(library, 0);
  clearInterval(ticking);
  assert.ok(turns > 0, 'other work ran while it compiled');
  assert.deepStrictEqual(sliced, compileRules(library));
});

test('rules v2: codes, limit rules and course windows are indexed by prefix; alternatives and notAlone are compiled once', { timeout: 10_000 }, () => {
  const compiled = compileRules(
    library([
      {
        id: 'IND-V2',
        kind: 'indication',
        level: 'block',
        title: 't',
        codes: ['0011', 'ZA12ABF009'],
        require: { confirm: '重度', anyOf: [{ diagnoses: ['C34'] }, { procedures: { codes: ['81.51'] } }] },
      },
      { id: 'LIM-1', kind: 'limit', level: 'warn', title: 't', codes: ['311000001'], hospCodes: [' h1 '], maxCount: 1, per: 'day' },
      { id: 'DAY-W', kind: 'days', level: 'block', title: 't', maxDays: 14, codes: ['XB01AC'], window: 'fromFirstUse' },
      { id: 'HRB-NA', kind: 'herbal', level: 'block', title: 't', notAlone: ['t0001'] },
    ]),
  );
  assert.deepEqual(ids(compiled.byDrugPrefix.get('0011')), ['indication:IND-V2']);
  assert.deepEqual(ids(compiled.byDrugPrefix.get('ZA12ABF009')), ['indication:IND-V2']);
  assert.deepEqual(ids(compiled.byDrugPrefix.get('311000001')), ['limit:LIM-1']);
  assert.deepEqual(ids(compiled.byHospCode.get('H1')), ['limit:LIM-1']);
  assert.deepEqual(ids(compiled.byDrugPrefix.get('XB01AC')), ['days:DAY-W']);
  assert.deepEqual(compiled.daysGeneral, []);
  assert.equal(Math.max(...compiled.prefixLengths), 10);
  const rule = compiled.byDrugPrefix.get('0011')![0]!;
  assert.ok(rule.kind === 'indication');
  assert.deepEqual(rule.requirement.confirm, ['重度']);
  assert.equal(rule.alternatives.length, 2);
  assert.ok(rule.alternatives[0]!.diagnoses?.matches('C34.900'));
  assert.deepEqual(rule.alternatives[1]!.procedureCodes, ['8151']);
  assert.deepEqual(compiled.herbal[0]!.notAlone, ['T0001']);
  assert.deepEqual(compiled.counts, { indication: 1, chronic: 0, repeat: 0, days: 1, herbal: 1, limit: 1 });
});
