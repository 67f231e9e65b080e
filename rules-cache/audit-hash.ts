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
 * - `data` is the event's JSON object as stored (after the store has removed patient ids). The
 *   store writes the column as exactly the canonical text hashed here; records from before it
 *   did hold `JSON.stringify` text, which parses to the same object, so one verifier serves both.
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
  // Strict writing throws where it would have nothing to write.
  return new CanonicalWriter(true, undefined).write(value, '')!;
}

/**
 * What a stored audit record's `data` becomes, in one pass: the canonical JSON text of the
 * value as `JSON.stringify` would store it (`toJSON` applied, non-finite numbers null,
 * functions and `undefined` dropped from objects and null in arrays), without any `patientId`
 * member at any depth, and with every string equal to `patientId` replaced by `replacement`.
 * It equals `canonicalJson(scrubbed(JSON.parse(JSON.stringify(value))))` (held to that by its
 * test) at a fraction of the cost: the per-check audit record is written on the agent's main
 * thread between checks. Throws what JSON.stringify throws (a cycle, a bigint); undefined
 * where JSON.stringify gives undefined.
 */
export function storedCanonicalJson(value: unknown, patientId: string | undefined, replacement: string): string | undefined {
  return new CanonicalWriter(false, patientId === undefined ? undefined : { value: patientId, replacement }).write(value, '');
}

/**
 * Writes canonical JSON into one string. `strict`: canonicalJson's rules (a value JSON cannot
 * hold is an error); otherwise JSON.stringify's, plus the audit trail's patient-id scrubbing
 * (`patientId` members dropped, the id itself redacted).
 */
class CanonicalWriter {
  /** Objects being written, to refuse a cycle as JSON.stringify does. */
  private readonly open: object[] = [];

  constructor(
    private readonly strict: boolean,
    private readonly redact: { value: string; replacement: string } | undefined,
  ) {}

  /** The text of `value`, or undefined where JSON.stringify would leave the member out. */
  write(value: unknown, key: string): string | undefined {
    if (!this.strict && value !== null && (typeof value === 'object' || typeof value === 'bigint')) {
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') value = toJSON.call(value, key);
    }
    if (value === null) return 'null';
    switch (typeof value) {
      case 'string':
        // JSON.stringify escapes lone surrogates (\ud800), so the text is well-formed either way.
        return JSON.stringify(this.redact !== undefined && value === this.redact.value ? this.redact.replacement : value);
      case 'boolean':
        return value ? 'true' : 'false';
      case 'number':
        if (Number.isFinite(value)) return JSON.stringify(value);
        // JSON has no NaN or Infinity; JSON.stringify would quietly write null.
        if (this.strict) throw new TypeError(`canonicalJson: ${String(value)} is not a JSON number`);
        return 'null';
      case 'object':
        return this.writeObject(value);
      case 'undefined':
        if (this.strict) throw new TypeError('canonicalJson: a undefined is not a JSON value');
        return undefined;
      case 'bigint':
        throw new TypeError(this.strict ? 'canonicalJson: a bigint is not a JSON value' : 'Do not know how to serialize a BigInt');
      default:
        if (this.strict) throw new TypeError(`canonicalJson: a ${typeof value} is not a JSON value`);
        return undefined;
    }
  }

  private writeObject(value: object): string {
    if (!this.strict) {
      // JSON.stringify writes boxed primitives as the primitive.
      if (value instanceof Number || value instanceof String || value instanceof Boolean) return this.write(value.valueOf(), '')!;
      if (this.open.includes(value)) throw new TypeError('Converting circular structure to JSON');
      this.open.push(value);
    }
    let text: string;
    if (Array.isArray(value)) {
      text = '[';
      for (let index = 0; index < value.length; index += 1) {
        if (index > 0) text += ',';
        const element: unknown = value[index];
        text += (element === undefined ? undefined : this.write(element, String(index))) ?? 'null';
      }
      text += ']';
    } else {
      const record = value as Record<string, unknown>;
      text = '{';
      for (const key of Object.keys(record).sort()) {
        if (!this.strict && key === 'patientId') continue;
        const raw = record[key];
        if (raw === undefined) continue;
        const member = this.write(raw, key);
        if (member === undefined) continue;
        if (text.length > 1) text += ',';
        text += `${JSON.stringify(key)}:${member}`;
      }
      text += '}';
    }
    if (!this.strict) this.open.pop();
    return text;
  }
}

/** The text a record's hash covers (see the file comment). */
function hashedText(prevHash: string, content: AuditContent): string {
  return hashedTextOf(prevHash, content, canonicalJson(content.data));
}

/**
 * The same text with `data` already canonical: the members of the record in canonical (sorted)
 * order, written out here so that the store need not build and walk the record again.
 */
function hashedTextOf(prevHash: string, content: Omit<AuditContent, 'data'>, canonicalData: string): string {
  const text = (value: string | null) => (value === null ? 'null' : JSON.stringify(value));
  return (
    `${prevHash}\n{"at":${text(content.at)},"checkId":${text(content.checkId)},"data":${canonicalData},` +
    `"patientKey":${text(content.patientKey)},"seq":${canonicalJson(content.seq)},"type":${text(content.type)}}`
  );
}

/**
 * The hash of one audit record given the previous record's hash: keyed (HMAC-SHA256) when
 * `key` is given, plain SHA-256 for records from before the chain was keyed.
 */
export function auditHash(prevHash: string, content: AuditContent, key?: Buffer): string {
  return digest(hashedText(prevHash, content), key);
}

/** {@link auditHash} of a record whose `data` is given as its canonical text ({@link storedCanonicalJson}). */
export function auditHashOfText(prevHash: string, content: Omit<AuditContent, 'data'>, canonicalData: string, key?: Buffer): string {
  return digest(hashedTextOf(prevHash, content, canonicalData), key);
}

function digest(text: string, key: Buffer | undefined): string {
  return (key ? createHmac('sha256', key) : createHash('sha256')).update(text, 'utf8').digest('hex');
}

/** Text as SQLite stores it: lone surrogates become U+FFFD (see the file comment). */
export function storedText(text: string): string {
  return text.isWellFormed() ? text : text.toWellFormed();
}
