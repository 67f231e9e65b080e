/**
 * The audit trail's hash chain, kept apart from SQL so that anything holding an export of the
 * trail (a CLI check, an auditor's script) can recompute it with the same few lines.
 *
 * What is hashed, for record n:
 *
 *     hash(n) = lowercase hex HMAC-SHA256, keyed with the install's audit key, of the UTF-8 bytes of
 *               prevHash(n) + "\n" + canonicalJson({ seq, at, type, checkId, patientKey, data })
 *
 * The key lives outside the database (rules-cache/key-file.ts), so whoever edits a record and
 * recomputes the chain from the database alone produces hashes that do not verify. Records
 * written before the chain was keyed (databases from before schema 3) use plain SHA-256 of the
 * same text; the key file says from which `seq` on records are keyed, so a keyed tail cannot
 * be rewritten as an unkeyed one.
 *
 * - `prevHash(n)` is `hash(n - 1)`; the first record's is {@link GENESIS_HASH} (64 zeros).
 * - `seq` is the record's number (1, 2, 3, ...), `at` its ISO-8601 time, `type` the event type.
 * - Text columns are hashed as stored: a lone UTF-16 surrogate (legal in a JSON string, not in
 *   UTF-8) is replaced by U+FFFD before hashing, exactly as SQLite replaces it when it stores
 *   the text, so a check id like "\ud800" cannot make the stored record disagree with its hash.
 * - `checkId` and `patientKey` are `null` when the record has none, never left out, so that
 *   "absent" cannot be confused with a field someone deleted.
 * - `data` is the event's JSON object as stored (after the store has removed patient ids).
 * - `canonicalJson` is RFC 8785 (JCS) for plain JSON values: object keys sorted by UTF-16 code
 *   units, no whitespace, strings and numbers written exactly as `JSON.stringify` writes them.
 *   Sorting keys makes the hash independent of the order in which a caller built the object.
 */
import { createHash, createHmac } from 'node:crypto';

/** `prevHash` of the first audit record. */
export const GENESIS_HASH = '0'.repeat(64);

/** The part of an audit record that the hash covers (everything but `prevHash` and `hash`). */
export interface AuditContent {
  seq: number;
  at: string;
  type: string;
  checkId: string | null;
  patientKey: string | null;
  data: Record<string, unknown>;
}

/**
 * Canonical JSON text of a plain JSON value (see the file comment). Object members whose value
 * is `undefined` are left out, as `JSON.stringify` does; anything JSON cannot represent
 * (functions, symbols, bigints) is an error rather than silently changing the hashed text.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      // JSON.stringify escapes lone surrogates (\ud800), so the text is well-formed either way.
      return JSON.stringify(value);
    case 'number':
      // JSON has no NaN or Infinity; JSON.stringify would quietly write null.
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${String(value)} is not a JSON number`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((element) => canonicalJson(element ?? null)).join(',')}]`;
      const record = value as Record<string, unknown>;
      const members: string[] = [];
      for (const key of Object.keys(record).sort()) {
        if (record[key] === undefined) continue;
        members.push(`${JSON.stringify(key)}:${canonicalJson(record[key])}`);
      }
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} is not a JSON value`);
  }
}

/** The text a record's hash covers (see the file comment). */
function hashedText(prevHash: string, content: AuditContent): string {
  return `${prevHash}\n${canonicalJson({
    seq: content.seq,
    at: content.at,
    type: content.type,
    checkId: content.checkId,
    patientKey: content.patientKey,
    data: content.data,
  })}`;
}

/**
 * The hash of one audit record given the previous record's hash: keyed (HMAC-SHA256) when
 * `key` is given, plain SHA-256 for records from before the chain was keyed.
 */
export function auditHash(prevHash: string, content: AuditContent, key?: Buffer): string {
  const text = hashedText(prevHash, content);
  return (key ? createHmac('sha256', key) : createHash('sha256')).update(text, 'utf8').digest('hex');
}

/** Text as SQLite stores it: lone surrogates become U+FFFD (see the file comment). */
export function storedText(text: string): string {
  return text.isWellFormed() ? text : text.toWellFormed();
}
