/**
 * Errors the agent answers with instead of dropping a connection: a stable `code` for
 * programs, a `message` for people, and the JSON path of the bad field where there is one.
 */
import type { z } from 'zod';
import type { ErrorReply } from './messages';

export class ProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly path?: string,
    /** HTTP status for the HTTP transport. */
    readonly status = 400,
    readonly id?: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }

  /** The first schema problem, phrased for an integrator, with its JSON path. */
  static fromZod(error: z.ZodError, id: string | undefined): ProtocolError {
    const issue = error.issues[0]!;
    const more = error.issues.length > 1 ? ` (共 ${error.issues.length} 处问题)` : '';
    return new ProtocolError('invalid', `${issue.message}${more}`, issuePath(issue.path), 400, id);
  }

  toReply(id?: string): ErrorReply {
    const reply: ErrorReply = { type: 'error', code: this.code, message: this.message };
    const replyId = id ?? this.id;
    if (replyId !== undefined) reply.id = replyId;
    if (this.path !== undefined) reply.path = this.path;
    return reply;
  }
}

/** `['items', 0, 'code']` → `$.items[0].code`. */
export function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : `${text}.${String(part)}`),
    '$',
  );
}
