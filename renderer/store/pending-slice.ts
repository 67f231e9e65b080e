/**
 * The pending-checks slice: the queue the popup works through, and the doctor's draft choice
 * per check. Drafts live here rather than in components so that paging between queued checks,
 * or a snapshot arriving mid-choice, does not lose what was picked.
 */
import type { StateCreator } from 'zustand';
import type { AgentBridge, PendingChange, PendingView } from '../../app/core/protocol/ui';
import { buildChoice, emptyDraft, evaluateChoice, flaggedItems } from '../logic/choice';
import type { AppState, PendingSlice } from './types';

/** Drops per-check entries for checks that are no longer pending. */
function keepOnly<T>(record: Record<string, T>, ids: ReadonlySet<string>): Record<string, T> {
  const kept: Record<string, T> = {};
  for (const [id, value] of Object.entries(record)) if (ids.has(id)) kept[id] = value;
  return kept;
}

/**
 * The queue as the doctor sees it: newest first. The check that arrived last is the order the
 * doctor has just submitted in the HIS and is looking at; older ones (a HIS window closed
 * without answering, a test sent with `--wait 0`) must not stand in front of it. Ties keep the
 * agent's order reversed, since the agent lists checks in the order they arrived.
 */
export function queueOrder(pending: readonly PendingView[]): PendingView[] {
  return pending
    .map((view, index) => ({ view, index, at: Date.parse(view.receivedAt) || 0 }))
    .sort((left, right) => right.at - left.at || right.index - left.index)
    .map((entry) => entry.view);
}

/** Whether the doctor has started choosing on a check: picked an action or written a reason. */
function touched(draft: AppState['drafts'][string] | undefined): boolean {
  if (!draft) return false;
  return Object.keys(draft.actions).length > 0 || Object.values(draft.reasons).some((reason) => reason.trim() !== '');
}

/** The queue after `change`: removed ids leave, added views join the end (replacing one with the same id). */
export function applyPendingChange(pending: readonly PendingView[], change: PendingChange): PendingView[] {
  if (change.reset) return [...change.added];
  const leaving = new Set(change.removed);
  for (const view of change.added) leaving.add(view.id);
  return [...pending.filter((view) => !leaving.has(view.id)), ...change.added];
}

/** The check on screen, or null when nothing waits. */
export function selectCurrentView(state: Pick<AppState, 'pending' | 'currentId'>): PendingView | null {
  return state.pending.find((view) => view.id === state.currentId) ?? null;
}

export function createPendingSlice(bridge: AgentBridge): StateCreator<AppState, [], [], PendingSlice> {
  return (set, get) => {
    /** Applies `change` to the current check's draft. */
    const updateDraft = (change: (draft: NonNullable<AppState['drafts'][string]>) => AppState['drafts'][string]) => {
      const { currentId, drafts } = get();
      if (!currentId) return;
      set({ drafts: { ...drafts, [currentId]: change(drafts[currentId] ?? emptyDraft) }, decideError: null });
    };

    return {
      pending: [],
      currentId: null,
      drafts: {},
      focusedLines: {},
      expandedBasis: {},
      submitting: false,
      decideError: null,

      receivePending(incoming) {
        const pending = queueOrder(incoming);
        const ids = new Set(pending.map((view) => view.id));
        const { currentId, drafts, focusedLines, expandedBasis, pending: before } = get();
        const known = new Set(before.map((view) => view.id));
        const arrived = pending.find((view) => !known.has(view.id));
        // A new order comes to the front, unless the doctor is half-way through the one on
        // screen: a choice in progress is never pulled away (the queue shows 1/N to page back).
        const keepCurrent = currentId !== null && ids.has(currentId) && (!arrived || touched(drafts[currentId]));
        const nextId = keepCurrent ? currentId : (arrived?.id ?? pending[0]?.id ?? null);
        set({
          pending,
          currentId: nextId,
          drafts: keepOnly(drafts, ids),
          focusedLines: keepOnly(focusedLines, ids),
          expandedBasis: keepOnly(expandedBasis, ids),
          ...(nextId !== currentId ? { decideError: null } : {}),
        });
      },

      receivePendingChange(change) {
        get().receivePending(applyPendingChange(get().pending, change));
      },

      moveCheck(delta) {
        const { pending, currentId } = get();
        if (pending.length < 2) return;
        const index = Math.max(0, pending.findIndex((view) => view.id === currentId));
        const next = pending[(index + delta + pending.length) % pending.length]!;
        set({ currentId: next.id, decideError: null });
      },

      pickAction(line, action) {
        const view = selectCurrentView(get());
        const item = view ? flaggedItems(view).find((candidate) => candidate.line === line) : undefined;
        // The buttons only show offered actions; the keyboard can ask for any, so check here.
        if (!item || !item.actions.includes(action)) return;
        updateDraft((draft) => ({ ...draft, actions: { ...draft.actions, [line]: action } }));
      },

      setReason(findingIds, reason) {
        updateDraft((draft) => {
          const reasons = { ...draft.reasons };
          for (const findingId of findingIds) reasons[findingId] = reason;
          return { ...draft, reasons };
        });
      },

      focusLine(line) {
        const { currentId, focusedLines } = get();
        if (!currentId || focusedLines[currentId] === line) return;
        set({ focusedLines: { ...focusedLines, [currentId]: line } });
      },

      toggleBasis(findingIds) {
        const { currentId, expandedBasis } = get();
        if (!currentId || findingIds.length === 0) return;
        const current = expandedBasis[currentId] ?? {};
        // One key for several findings: open them all unless all are already open.
        const open = !findingIds.every((id) => current[id]);
        const next = { ...current };
        for (const id of findingIds) next[id] = open;
        set({ expandedBasis: { ...expandedBasis, [currentId]: next } });
      },

      async decide(outcome) {
        const state = get();
        const view = selectCurrentView(state);
        if (!view || state.submitting) return false;
        const draft = state.drafts[view.id] ?? emptyDraft;
        if (outcome === 'proceed') {
          const { problems } = evaluateChoice(view, draft);
          if (problems.length > 0) {
            set({ decideError: `还需处理: ${problems.map((problem) => problem.message).join('; ')}` });
            return false;
          }
        }
        set({ submitting: true, decideError: null });
        let reply: Awaited<ReturnType<AgentBridge['decide']>>;
        try {
          reply = await bridge.decide(buildChoice(view, draft, outcome));
        } catch (error) {
          reply = { ok: false, error: error instanceof Error ? error.message : String(error) };
        }
        if (!reply.ok) {
          set({ submitting: false, decideError: `未能提交: ${reply.error}` });
          return false;
        }
        // The core will push the shorter queue too; dropping the check now keeps a second
        // Enter from answering it twice while that push is on its way.
        const remaining = get().pending.filter((candidate) => candidate.id !== view.id);
        set({ submitting: false });
        get().receivePending(remaining);
        return true;
      },
    };
  };
}
