import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DoctorChoice, Finding } from '../../../app/core/protocol/messages';
import type { AgentBridge, BridgeReply, PendingChange, PendingView, StatusView } from '../../../app/core/protocol/ui';
import { connectStore, createAppStore, selectCurrentView } from '../../../renderer/store/store';
import { applyPendingChange } from '../../../renderer/store/pending-slice';

function pendingView(id: string, findings: Array<Pick<Finding, 'findingId' | 'level' | 'lines'>>): PendingView {
  return {
    id,
    receivedAt: '2026-11-24T01:00:00Z',
    patient: {},
    visit: { type: 'outpatient', date: '2026-11-24' },
    items: [
      { line: '1', name: '紫龙金片', category: 'drug', channel: 'insured' },
      { line: '2', name: '氨氯地平片', category: 'drug', channel: 'insured' },
    ],
    result: findings.some((finding) => finding.level === 'block') ? 'block' : 'warn',
    findings: findings.map((finding) => ({
      ruleId: 'R',
      kind: 'indication',
      title: '规则',
      message: '',
      basis: '',
      actions: finding.level === 'block' ? ['selfpay', 'remove', 'revise'] : ['continue', 'selfpay', 'remove', 'revise'],
      details: {},
      ...finding,
    })),
  };
}

const status: StatusView = {
  agentVersion: '0.1.0',
  startedAt: '2026-11-24T00:00:00Z',
  port: 17380,
  rules: null,
  sync: { configured: false, servers: [], state: 'disabled' },
  clients: [],
  checks: { total: 0, byResult: { pass: 0, warn: 0, block: 0, unchecked: 0 }, recent: [] },
  pendingCount: 0,
  integrity: { ok: true, problems: [], audit: { state: 'verified' } },
};

/** A bridge that records decisions and lets the test push snapshots. */
function fakeBridge(reply: BridgeReply<null> = { ok: true, value: null }) {
  const decided: DoctorChoice[] = [];
  const pendingListeners = new Set<(change: PendingChange) => void>();
  const statusListeners = new Set<(status: StatusView) => void>();
  let syncReply: BridgeReply<string> = { ok: true, value: '已是最新' };
  const bridge: AgentBridge = {
    getPending: async () => [],
    getStatus: async () => status,
    decide: async (choice) => {
      decided.push(choice);
      return reply;
    },
    syncNow: async () => syncReply,
    onPending: (listener) => {
      pendingListeners.add(listener);
      return () => pendingListeners.delete(listener);
    },
    onStatus: (listener) => {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
  };
  return {
    bridge,
    decided,
    pushPending: (change: PendingChange) => pendingListeners.forEach((listener) => listener(change)),
    pushStatus: (next: StatusView) => statusListeners.forEach((listener) => listener(next)),
    setSyncReply: (next: BridgeReply<string>) => {
      syncReply = next;
    },
    listenerCount: () => pendingListeners.size + statusListeners.size,
  };
}

test('the newest check comes first; an untouched popup gives way to a new order', () => {
  const { bridge } = fakeBridge();
  const store = createAppStore(bridge);
  const first = pendingView('c-1', [{ findingId: 'f1', level: 'block', lines: ['1'] }]);
  const second = { ...pendingView('c-2', [{ findingId: 'f1', level: 'warn', lines: ['2'] }]), receivedAt: '2026-11-24T01:05:00Z' };
  store.getState().receivePending([first]);
  store.getState().receivePending([first, second]);
  assert.equal(selectCurrentView(store.getState())?.id, 'c-2');
  assert.deepEqual(store.getState().pending.map((view) => view.id), ['c-2', 'c-1'], 'newest first');
  store.getState().moveCheck(1);
  assert.equal(store.getState().currentId, 'c-1');
  store.getState().moveCheck(1);
  assert.equal(store.getState().currentId, 'c-2', 'paging wraps around');
});

test('a choice in progress is not pulled away by a new order', () => {
  const { bridge } = fakeBridge();
  const store = createAppStore(bridge);
  const first = pendingView('c-1', [{ findingId: 'f1', level: 'block', lines: ['1'] }]);
  const second = { ...pendingView('c-2', [{ findingId: 'f1', level: 'warn', lines: ['2'] }]), receivedAt: '2026-11-24T01:05:00Z' };
  store.getState().receivePending([first]);
  store.getState().pickAction('1', 'selfpay');
  store.getState().receivePending([first, second]);
  assert.equal(store.getState().currentId, 'c-1');
  assert.deepEqual(store.getState().pending.map((view) => view.id), ['c-2', 'c-1']);
});

test('checks that arrived in the same instant are shown in reverse arrival order', () => {
  const { bridge } = fakeBridge();
  const store = createAppStore(bridge);
  const views = ['c-1', 'c-2', 'c-3'].map((id) => pendingView(id, [{ findingId: 'f1', level: 'block', lines: ['1'] }]));
  store.getState().receivePending(views);
  assert.deepEqual(store.getState().pending.map((view) => view.id), ['c-3', 'c-2', 'c-1']);
  assert.equal(store.getState().currentId, 'c-3');
});

test('a check that disappears (HIS cancel) closes, and its draft goes with it', () => {
  const { bridge } = fakeBridge();
  const store = createAppStore(bridge);
  const first = pendingView('c-1', [{ findingId: 'f1', level: 'block', lines: ['1'] }]);
  const second = pendingView('c-2', [{ findingId: 'f1', level: 'warn', lines: ['2'] }]);
  store.getState().receivePending([first, second]);
  store.getState().pickAction('1', 'remove');
  store.getState().receivePending([second]);
  assert.equal(store.getState().currentId, 'c-2');
  assert.deepEqual(Object.keys(store.getState().drafts), []);
  store.getState().receivePending([]);
  assert.equal(selectCurrentView(store.getState()), null);
});

test('drafts survive paging and new snapshots of the same check', () => {
  const { bridge } = fakeBridge();
  const store = createAppStore(bridge);
  const first = pendingView('c-1', [{ findingId: 'f1', level: 'block', lines: ['1'] }]);
  const second = pendingView('c-2', [{ findingId: 'f1', level: 'warn', lines: ['2'] }]);
  store.getState().receivePending([second, first]);
  assert.equal(store.getState().currentId, 'c-1');
  store.getState().pickAction('1', 'selfpay');
  store.getState().moveCheck(1);
  store.getState().setReason(['f1'], '已核实诊断');
  store.getState().receivePending([{ ...first }, { ...second }]);
  assert.deepEqual(store.getState().drafts['c-1']?.actions, { '1': 'selfpay' });
  assert.deepEqual(store.getState().drafts['c-2']?.reasons, { f1: '已核实诊断' });
});

test('actions a line does not offer are refused (the keyboard can ask for any)', () => {
  const { bridge } = fakeBridge();
  const store = createAppStore(bridge);
  store.getState().receivePending([pendingView('c-1', [{ findingId: 'f1', level: 'block', lines: ['1'] }])]);
  store.getState().pickAction('1', 'continue');
  store.getState().pickAction('2', 'remove');
  assert.equal(store.getState().drafts['c-1'], undefined);
});

test('confirm is refused locally until the choice is complete, then sent once', async () => {
  const fake = fakeBridge();
  const store = createAppStore(fake.bridge);
  store.getState().receivePending([
    pendingView('c-1', [
      { findingId: 'f1', level: 'block', lines: ['1'] },
      { findingId: 'f2', level: 'warn', lines: ['2'] },
    ]),
  ]);
  assert.equal(await store.getState().decide('proceed'), false);
  assert.match(store.getState().decideError ?? '', /还需处理/);
  assert.equal(fake.decided.length, 0);

  store.getState().pickAction('1', 'selfpay');
  store.getState().setReason(['f2'], '患者病情需要');
  assert.equal(store.getState().decideError, null, 'editing clears the old complaint');
  assert.equal(await store.getState().decide('proceed'), true);
  assert.deepEqual(fake.decided, [
    {
      id: 'c-1',
      outcome: 'proceed',
      lines: [
        { line: '1', action: 'selfpay' },
        { line: '2', action: 'continue' },
      ],
      reasons: [{ findingId: 'f2', reason: '患者病情需要' }],
    },
  ]);
  assert.equal(selectCurrentView(store.getState()), null, 'the answered check leaves the screen at once');
  assert.equal(await store.getState().decide('proceed'), false, 'a second Enter answers nothing');
  assert.equal(fake.decided.length, 1);
});

test('返回修改 needs nothing and sends revise', async () => {
  const fake = fakeBridge();
  const store = createAppStore(fake.bridge);
  store.getState().receivePending([pendingView('c-1', [{ findingId: 'f1', level: 'block', lines: ['1'] }])]);
  assert.equal(await store.getState().decide('revise'), true);
  assert.deepEqual(fake.decided, [{ id: 'c-1', outcome: 'revise', lines: [], reasons: [] }]);
});

test('a refusal from the core is shown and the check stays', async () => {
  const fake = fakeBridge({ ok: false, error: '没有等待处理的检查: c-1' });
  const store = createAppStore(fake.bridge);
  store.getState().receivePending([pendingView('c-1', [{ findingId: 'f1', level: 'block', lines: ['1'] }])]);
  assert.equal(await store.getState().decide('revise'), false);
  assert.match(store.getState().decideError ?? '', /没有等待处理的检查/);
  assert.equal(store.getState().submitting, false);
  assert.equal(selectCurrentView(store.getState())?.id, 'c-1');
});

test('basis toggles open all of an item’s findings, then closes them', () => {
  const { bridge } = fakeBridge();
  const store = createAppStore(bridge);
  store.getState().receivePending([pendingView('c-1', [{ findingId: 'f1', level: 'block', lines: ['1'] }])]);
  store.getState().toggleBasis(['f1', 'f2']);
  assert.deepEqual(store.getState().expandedBasis['c-1'], { f1: true, f2: true });
  store.getState().toggleBasis(['f1', 'f2']);
  assert.deepEqual(store.getState().expandedBasis['c-1'], { f1: false, f2: false });
});

test('sync now reports the core’s words either way', async () => {
  const fake = fakeBridge();
  const store = createAppStore(fake.bridge);
  await store.getState().syncNow();
  assert.deepEqual(store.getState().syncMessage, { ok: true, text: '已是最新' });
  fake.setSyncReply({ ok: false, error: '服务器无响应' });
  await store.getState().syncNow();
  assert.deepEqual(store.getState().syncMessage, { ok: false, text: '服务器无响应' });
  assert.equal(store.getState().syncing, false);
});

test('a pushed change removes, then appends, replacing a view with the same id; reset replaces the queue', () => {
  const a = pendingView('c-1', [{ findingId: 'f1', level: 'warn', lines: ['1'] }]);
  const b = pendingView('c-2', [{ findingId: 'f1', level: 'warn', lines: ['1'] }]);
  const newerA = { ...a, result: 'block' as const };
  assert.deepEqual(applyPendingChange([a, b], { added: [newerA], removed: [] }), [b, newerA]);
  assert.deepEqual(applyPendingChange([a, b], { added: [], removed: ['c-2', 'c-404'] }), [a]);
  assert.deepEqual(applyPendingChange([a, b], { added: [b], removed: [], reset: true }), [b]);
});

test('connectStore loads the first snapshots, follows pushes, and unsubscribes', async () => {
  const fake = fakeBridge();
  const store = createAppStore(fake.bridge);
  const stop = connectStore(store, fake.bridge);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(store.getState().connection, 'open');
  assert.equal(store.getState().status?.port, 17380);
  fake.pushPending({ added: [pendingView('c-9', [{ findingId: 'f1', level: 'warn', lines: ['1'] }])], removed: [] });
  assert.equal(store.getState().currentId, 'c-9');
  fake.pushPending({ added: [pendingView('c-10', [{ findingId: 'f1', level: 'warn', lines: ['1'] }])], removed: [] });
  // Newest first (the order the doctor has just submitted), and it takes the screen.
  assert.deepEqual(store.getState().pending.map((view) => view.id), ['c-10', 'c-9']);
  assert.equal(store.getState().currentId, 'c-10');
  fake.pushPending({ added: [], removed: ['c-9'] });
  assert.deepEqual(store.getState().pending.map((view) => view.id), ['c-10']);
  assert.equal(store.getState().currentId, 'c-10');
  fake.pushStatus({ ...status, pendingCount: 1 });
  assert.equal(store.getState().status?.pendingCount, 1);
  stop();
  assert.equal(fake.listenerCount(), 0);
});
