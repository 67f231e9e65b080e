/**
 * Errors the agent answers with instead of dropping a connection: a stable `code` for
 * programs, a `message` for people, and the JSON path of the bad field where there is one.
 */
import type { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './error-codes';
import type { ErrorReply } from './messages';

/** At most this many schema problems are listed in one reply. */
const MAX_ISSUES = 50;

export class ProtocolError extends Error {
  /** HTTP status for the HTTP transport, from the error-code table. */
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path?: string,
    readonly id?: string,
    /** Every schema problem (for `invalid`), so an integrator fixes them all in one go. */
    readonly issues?: Array<{ path: string; message: string }>,
  ) {
    super(message);
    this.name = 'ProtocolError';
    this.status = ERROR_CODES[code].status ?? 400;
  }

  /** The first schema problem, phrased for an integrator, with its JSON path; every problem in `issues`. */
  static fromZod(error: z.ZodError, id: string | undefined): ProtocolError {
    const issue = error.issues[0]!;
    const more = error.issues.length > 1 ? ` (共 ${error.issues.length} 处问题)` : '';
    const issues = error.issues.slice(0, MAX_ISSUES).map((each) => ({ path: issuePath(each.path), message: each.message }));
    return new ProtocolError('invalid', `${issue.message}${more}`, issuePath(issue.path), id, issues);
  }

  toReply(id?: string): ErrorReply {
    const reply: ErrorReply = { type: 'error', code: this.code, message: this.message };
    const replyId = id ?? this.id;
    if (replyId !== undefined) reply.id = replyId;
    if (this.path !== undefined) reply.path = this.path;
    if (this.issues !== undefined && this.issues.length > 1) reply.issues = this.issues;
    return reply;
  }
}

/** An error reply for a code, for the places that answer before any request is parsed. */
export function errorReply(code: ErrorCode, message: string): ErrorReply {
  return { type: 'error', code, message };
}

/** `['items', 0, 'code']` → `$.items[0].code`. */
export function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : `${text}.${String(part)}`),
    '$',
  );
}
