import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '../../../app/core/protocol/messages';
import type { PendingView } from '../../../app/core/protocol/ui';
import { resolveChoice } from '../../../app/core/decisions';
import { buildChoice, effectiveAction, emptyDraft, evaluateChoice, flaggedItems, orderFindings, unflaggedItems, type Draft } from '../../../renderer/logic/choice';

function finding(partial: Partial<Finding> & Pick<Finding, 'findingId' | 'level' | 'lines'>): Finding {
  return {
    ruleId: `R-${partial.findingId}`,
    kind: 'indication',
    title: `规则 ${partial.findingId}`,
    message: '',
    basis: '',
    actions: partial.level === 'block' ? ['selfpay', 'remove', 'revise'] : ['continue', 'selfpay', 'remove', 'revise'],
    details: {},
    ...partial,
  };
}

function view(findings: Finding[], lines = ['1', '2', '3']): PendingView {
  return {
    id: 'c-1',
    receivedAt: '2026-11-24T01:00:00Z',
    patient: { name: '张三', gender: 'M', age: 75 },
    visit: { type: 'outpatient', date: '2026-11-24' },
    items: lines.map((line) => ({ line, name: `药品${line}`, category: 'drug', channel: 'insured' as const })),
    result: findings.some((candidate) => candidate.level === 'block') ? 'block' : 'warn',
    findings,
  };
}

const draft = (actions: Draft['actions'] = {}, reasons: Draft['reasons'] = {}): Draft => ({ actions, reasons });

test('flagged items follow the order of the items and offer only what their findings allow', () => {
  const pending = view([
    finding({ findingId: 'f1', level: 'warn', lines: ['3'] }),
    finding({ findingId: 'f2', level: 'block', lines: ['1'], actions: ['remove', 'revise'] }),
  ]);
  const items = flaggedItems(pending);
  assert.deepEqual(items.map((item) => item.line), ['1', '3']);
  assert.deepEqual(items[0]!.actions, ['remove'], 'no 转自费 where the rule forbids it, never 继续 past a block');
  assert.deepEqual(items[1]!.actions, ['selfpay', 'remove', 'continue']);
  assert.deepEqual(unflaggedItems(pending).map((item) => item.line), ['2']);
});

test('a line with a block and a warning offers no 继续', () => {
  const items = flaggedItems(view([finding({ findingId: 'f1', level: 'block', lines: ['1'] }), finding({ findingId: 'f2', level: 'warn', lines: ['1'] })]));
  assert.equal(items[0]!.level, 'block');
  assert.equal(items[0]!.actions.includes('continue'), false);
});

test('a finding naming a line the view lacks still gets a card', () => {
  const items = flaggedItems(view([finding({ findingId: 'f1', level: 'warn', lines: ['9'] })], ['1']));
  assert.equal(items[0]!.name, '第 9 行');
});

test('warnings default to 继续, blocks to nothing', () => {
  const [block, warn] = flaggedItems(view([finding({ findingId: 'f1', level: 'block', lines: ['1'] }), finding({ findingId: 'f2', level: 'warn', lines: ['2'] })]));
  assert.equal(effectiveAction(block!, emptyDraft), undefined);
  assert.equal(effectiveAction(warn!, emptyDraft), 'continue');
  assert.equal(effectiveAction(warn!, draft({ '2': 'remove' })), 'remove');
});

test('确认 waits for a fixing action on every block and a reason on every continued warning', () => {
  const pending = view([finding({ findingId: 'f1', level: 'block', lines: ['1'] }), finding({ findingId: 'f2', level: 'warn', lines: ['2'] })]);
  let evaluation = evaluateChoice(pending, emptyDraft);
  assert.equal(evaluation.canProceed, false);
  assert.deepEqual(evaluation.problems.map((problem) => problem.kind), ['needs-action', 'needs-reason']);
  assert.match(evaluation.problems[0]!.message, /药品1: 拦截, 须选择转自费或删除/);

  evaluation = evaluateChoice(pending, draft({ '1': 'selfpay' }));
  assert.deepEqual(evaluation.problems.map((problem) => problem.kind), ['needs-reason']);

  evaluation = evaluateChoice(pending, draft({ '1': 'selfpay' }, { f2: '   ' }));
  assert.equal(evaluation.canProceed, false, 'blank reasons do not count');

  evaluation = evaluateChoice(pending, draft({ '1': 'selfpay' }, { f2: '患者病情需要' }));
  assert.equal(evaluation.canProceed, true);

  evaluation = evaluateChoice(pending, draft({ '1': 'selfpay', '2': 'remove' }));
  assert.equal(evaluation.canProceed, true, 'removing the warned item needs no reason');
});

test('an action resolves only the findings that offer it', () => {
  const pending = view([
    finding({ findingId: 'f1', level: 'warn', lines: ['1'], actions: ['continue', 'selfpay', 'revise'] }),
    finding({ findingId: 'f2', level: 'warn', lines: ['1'], actions: ['continue', 'remove', 'revise'] }),
  ]);
  const evaluation = evaluateChoice(pending, draft({ '1': 'selfpay' }));
  assert.equal(evaluation.states.get('f1'), 'resolved');
  assert.equal(evaluation.states.get('f2'), 'needs-reason');
  assert.equal(evaluation.reasonLines.get('f2'), '1');
});

test('a warning over several lines asks once, under the first line continuing it', () => {
  const pending = view([finding({ findingId: 'f1', kind: 'repeat', level: 'warn', lines: ['1', '3'] })]);
  assert.equal(evaluateChoice(pending, emptyDraft).reasonLines.get('f1'), '1');
  assert.equal(evaluateChoice(pending, draft({ '1': 'remove' })).reasonLines.get('f1'), '3');
  assert.equal(evaluateChoice(pending, draft({ '1': 'remove', '3': 'remove' })).states.get('f1'), 'resolved');
});

test('whole-order findings: a warning wants a reason, a block can only be revised', () => {
  const warn = view([finding({ findingId: 'f1', kind: 'herbal', level: 'warn', lines: [] })]);
  assert.equal(orderFindings(warn).length, 1);
  assert.equal(evaluateChoice(warn, emptyDraft).states.get('f1'), 'needs-reason');
  assert.equal(evaluateChoice(warn, draft({}, { f1: '病情复杂' })).canProceed, true);
  const block = view([finding({ findingId: 'f1', kind: 'herbal', level: 'block', lines: [] })]);
  assert.deepEqual(evaluateChoice(block, emptyDraft).problems.map((problem) => problem.kind), ['needs-revise']);
});

test('the choice names every flagged line and only the reasons that apply', () => {
  const pending = view([
    finding({ findingId: 'f1', level: 'block', lines: ['1'] }),
    finding({ findingId: 'f2', level: 'warn', lines: ['2'] }),
    finding({ findingId: 'f3', level: 'warn', lines: ['3'] }),
  ]);
  const choice = buildChoice(pending, draft({ '1': 'remove', '3': 'selfpay' }, { f2: ' 已核实诊断 ', f3: '不再需要' }), 'proceed');
  assert.deepEqual(choice, {
    id: 'c-1',
    outcome: 'proceed',
    lines: [
      { line: '1', action: 'remove' },
      { line: '2', action: 'continue' },
      { line: '3', action: 'selfpay' },
    ],
    reasons: [{ findingId: 'f2', reason: '已核实诊断' }],
  });
  assert.deepEqual(buildChoice(pending, emptyDraft, 'revise'), { id: 'c-1', outcome: 'revise', lines: [], reasons: [] });
});

test('an action the line does not offer is ignored rather than sent', () => {
  const pending = view([finding({ findingId: 'f1', level: 'block', lines: ['1'], actions: ['remove', 'revise'] })]);
  const evaluation = evaluateChoice(pending, draft({ '1': 'selfpay' }));
  assert.equal(evaluation.canProceed, false);
});

test('whatever the popup lets through, the core accepts, and vice versa', () => {
  // The core's resolveChoice has the final word; the popup must agree with it exactly.
  const findings = [
    finding({ findingId: 'f1', level: 'block', lines: ['1'] }),
    finding({ findingId: 'f2', level: 'block', lines: ['2'], actions: ['remove', 'revise'] }),
    finding({ findingId: 'f3', level: 'warn', lines: ['2'], actions: ['continue', 'selfpay', 'revise'] }),
    finding({ findingId: 'f4', level: 'warn', lines: ['3'] }),
    finding({ findingId: 'f5', kind: 'repeat', level: 'warn', lines: ['1', '3'], actions: ['continue', 'remove', 'revise'] }),
  ];
  const pending = view(findings);
  const options: Array<Array<'selfpay' | 'remove' | 'continue' | undefined>> = [
    [undefined, 'selfpay', 'remove'],
    [undefined, 'remove', 'selfpay'],
    [undefined, 'continue', 'selfpay', 'remove'],
  ];
  const reasonSets: Array<Record<string, string>> = [{}, { f3: '甲', f4: '乙', f5: '丙' }, { f4: '乙' }, { f5: '丙' }];
  let compared = 0;
  for (const first of options[0]!) {
    for (const second of options[1]!) {
      for (const third of options[2]!) {
        for (const reasons of reasonSets) {
          const actions: Record<string, 'selfpay' | 'remove' | 'continue'> = {};
          if (first) actions['1'] = first;
          if (second) actions['2'] = second;
          if (third) actions['3'] = third;
          const current = draft(actions, reasons);
          const popupSays = evaluateChoice(pending, current).canProceed;
          let coreSays = true;
          try {
            resolveChoice(findings, buildChoice(pending, current, 'proceed'));
          } catch {
            coreSays = false;
          }
          assert.equal(popupSays, coreSays, `popup and core disagree on ${JSON.stringify(current)}`);
          compared += 1;
        }
      }
    }
  }
  assert.ok(compared > 100);
});

test('符合限定条件 resolves a block and a warning without a reason, and the core agrees', { timeout: 5000 }, () => {
  const attestable = (findingId: string, level: 'warn' | 'block', line: string) =>
    finding({
      findingId,
      level,
      lines: [line],
      actions: level === 'block' ? ['attest', 'selfpay', 'remove', 'revise'] : ['attest', 'continue', 'selfpay', 'remove', 'revise'],
      details: { confirm: ['重度骨质疏松'] },
    });
  const pending = view([attestable('f1', 'block', '1'), attestable('f2', 'warn', '2'), finding({ findingId: 'f3', level: 'warn', lines: ['2'] })]);
  const items = flaggedItems(pending);
  assert.deepEqual(items[0]!.actions, ['selfpay', 'remove', 'attest']);
  assert.deepEqual(items[1]!.actions, ['selfpay', 'remove', 'continue', 'attest']);
  const attested = draft({ '1': 'attest', '2': 'attest' });
  const evaluation = evaluateChoice(pending, attested);
  // f3 on line 2 does not offer attest: it is continued past, and only it asks for a reason.
  assert.deepEqual(evaluation.problems.map((problem) => problem.findingId), ['f3']);
  const reasoned = draft({ '1': 'attest', '2': 'attest' }, { f3: '患者病情需要' });
  assert.equal(evaluateChoice(pending, reasoned).canProceed, true);
  const choice = buildChoice(pending, reasoned, 'proceed');
  const resolved = resolveChoice(pending.findings, choice);
  assert.deepEqual(resolved.lines, [
    { line: '1', action: 'attest', attested: ['重度骨质疏松'] },
    { line: '2', action: 'attest', attested: ['重度骨质疏松'] },
  ]);
  assert.deepEqual(resolved.reasons, [{ findingId: 'f3', reason: '患者病情需要' }]);
});
