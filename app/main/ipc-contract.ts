/**
 * The one IPC contract between the preload and the main process: a channel per message of
 * `AgentBridge`, and the validation the main process applies to every call before it reaches
 * the agent (architecture.md: validate at the privileged side). No Electron import, so it is
 * tested in Node; the preload mirrors the channel names with a `satisfies` check against
 * these types.
 */
import { z } from 'zod';
import { DoctorChoice } from '../core/protocol/messages';
import type { AgentBridge } from '../core/protocol/ui';
import { isTrustedRendererUrl } from './security';

/** Request/reply channels: the renderer invokes, the main process answers. */
export const invokeChannels = {
  getPending: 'rxgate:get-pending',
  getStatus: 'rxgate:get-status',
  decide: 'rxgate:decide',
  syncNow: 'rxgate:sync-now',
} as const satisfies Record<Exclude<keyof AgentBridge, 'onPending' | 'onStatus'>, string>;

/** Push channels: the main process sends, the renderer listens. */
export const eventChannels = {
  pending: 'rxgate:pending',
  status: 'rxgate:status',
} as const;

export type InvokeChannels = typeof invokeChannels;
export type EventChannels = typeof eventChannels;
export type InvokeName = keyof InvokeChannels;

const noArguments = z.tuple([]);

/** What each invoke channel accepts as its arguments (after the event). */
const argumentSchemas = {
  getPending: noArguments,
  getStatus: noArguments,
  decide: z.tuple([DoctorChoice]),
  syncNow: noArguments,
} satisfies Record<InvokeName, z.ZodType>;

export type ValidatedArguments<Name extends InvokeName> = z.infer<(typeof argumentSchemas)[Name]>;

/** The outcome of validating one call. */
export type Validation<T> = { ok: true; value: T } | { ok: false; error: string };

/** Checks the arguments of a call on `name`; the error names the first bad field. */
export function validateArguments<Name extends InvokeName>(name: Name, args: unknown[]): Validation<ValidatedArguments<Name>> {
  const parsed = argumentSchemas[name].safeParse(args);
  if (parsed.success) return { ok: true, value: parsed.data as ValidatedArguments<Name> };
  const issue = parsed.error.issues[0];
  const path = issue ? issue.path.join('.') : '';
  return { ok: false, error: `参数无效 (${name}${path ? ` ${path}` : ''}): ${issue?.message ?? '格式错误'}` };
}

/** Who sent an IPC message, as far as the check needs to know. */
export interface SenderFacts {
  /** The sending frame's URL; null when the frame is gone. */
  frameUrl: string | null | undefined;
  /** Whether the sending frame is the top frame of its page (not an iframe). */
  isTopFrame: boolean;
  /** Whether the sending page belongs to one of our windows. */
  isOurWindow: boolean;
}

/**
 * Only the top frame of our own windows, showing our own page, may call the agent. Anything
 * else (an iframe, a page that navigated away, a stray WebContents) is refused.
 */
export function isTrustedSender(sender: SenderFacts): boolean {
  return sender.isOurWindow && sender.isTopFrame && isTrustedRendererUrl(sender.frameUrl);
}
