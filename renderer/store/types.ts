/**
 * The shape of the one renderer store, assembled from slices (architecture.md: one zustand
 * store from slices). The core owns the truth; these are its latest snapshots plus what the
 * doctor has picked but not yet sent.
 */
import type { PendingChange, PendingView, StatusView } from '../../app/core/protocol/ui';
import type { Draft } from '../logic/choice';
import type { LineAction } from '../logic/labels';

/** Checks waiting for the doctor, and the doctor's unsent choices on them. */
export interface PendingSlice {
  /** The latest snapshot from the core, oldest first. */
  pending: PendingView[];
  /** The check on screen; the oldest one unless the doctor paged to another. */
  currentId: string | null;
  /** Per check id. */
  drafts: Record<string, Draft>;
  /** Per check id: the line whose card has the focus (number keys act on it). */
  focusedLines: Record<string, string>;
  /** Per check id, then finding id: whether the policy basis is unfolded. */
  expandedBasis: Record<string, Record<string, boolean>>;
  /** A decision is on its way to the core; buttons wait for it. */
  submitting: boolean;
  /** Why the last decision was refused, in the core's words. */
  decideError: string | null;
  /** Replaces the whole queue (the first snapshot). */
  receivePending(pending: PendingView[]): void;
  /** Applies one change the core pushed (see `PendingChange`). */
  receivePendingChange(change: PendingChange): void;
  moveCheck(delta: 1 | -1): void;
  pickAction(line: string, action: LineAction): void;
  /** One reason for one or more findings (an item's warnings share the picker). */
  setReason(findingIds: string[], reason: string): void;
  focusLine(line: string): void;
  toggleBasis(findingIds: string[]): void;
  /** Sends the choice; resolves true when the core accepted it. */
  decide(outcome: 'proceed' | 'revise'): Promise<boolean>;
}

/** The agent's status for the tray/status window. */
export interface StatusSlice {
  status: StatusView | null;
  syncing: boolean;
  syncMessage: { ok: boolean; text: string } | null;
  receiveStatus(status: StatusView): void;
  syncNow(): Promise<void>;
}

/** Whether the renderer can reach the core (only a browser window can lose it). */
export interface ConnectionSlice {
  connection: 'connecting' | 'open' | 'lost';
  connectionMessage: string | null;
  setConnection(state: ConnectionSlice['connection'], message?: string): void;
}

export type AppState = PendingSlice & StatusSlice & ConnectionSlice;
