/**
 * The hub's secrets: agent credentials, enrolment codes, console passwords and sessions, and
 * the key that turns patient ids into keyed hashes. Pure functions over node:crypto.
 */
import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** SHA-256 of a random secret. Secrets are 256 random bits, so a slow hash would add nothing. */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function newAgentId(): string {
  return `a${randomBytes(9).toString('hex')}`;
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * A one-time enrolment code IT reads out or pastes: 16 characters from an alphabet without
 * look-alikes (no 0/O, 1/I/L), grouped by four, about 80 bits.
 */
export function newEnrolmentCode(): string {
  const alphabet = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
  const bytes = randomBytes(16);
  let code = '';
  for (let index = 0; index < 16; index++) {
    if (index > 0 && index % 4 === 0) code += '-';
    code += alphabet[bytes[index]! % alphabet.length];
  }
  return code;
}

/** The hash under which a code is stored; spaces, dashes and case do not matter when typing it. */
export function hashEnrolmentCode(code: string): Buffer {
  return hashSecret(code.replace(/[\s-]/g, '').toUpperCase());
}

/** Splits `Authorization: Bearer <agentId>.<secret>`; null when the header is not that shape. */
export function parseAgentCredential(header: string | undefined): { agentId: string; secret: string } | null {
  const match = /^Bearer ([A-Za-z0-9]{1,64})\.([A-Za-z0-9_-]{16,128})$/.exec(header ?? '');
  return match ? { agentId: match[1]!, secret: match[2]! } : null;
}

/** Keyed hash of patient ids (HMAC-SHA256 with the hub's key). */
export interface PatientKeyer {
  key(patientId: string): Buffer;
  /** Identifies the key without revealing it, so every hub process can check it uses the same one. */
  readonly fingerprint: string;
}

export function patientKeyer(secret: Buffer): PatientKeyer {
  if (secret.length < 32) throw new Error('院端密钥至少 32 字节');
  return {
    key: (patientId) => createHmac('sha256', secret).update(patientId, 'utf8').digest(),
    fingerprint: createHmac('sha256', secret).update('rxgate-hub-key-fingerprint').digest('hex').slice(0, 16),
  };
}

/**
 * Reads the hub's key file (64 hex digits), creating it with owner-only permissions when it
 * does not exist. Every hub process on one database must be given the same file.
 */
export function loadOrCreateKeyFile(path: string): { key: Buffer; created: boolean } {
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`院端密钥文件格式不对 (应为 64 位十六进制): ${path}`);
    return { key: Buffer.from(text, 'hex'), created: false };
  }
  mkdirSync(dirname(path), { recursive: true });
  const key = randomBytes(32);
  writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { key, created: true };
}

// Console passwords: scrypt with N = 2^15 (about 32 MiB and tens of milliseconds per try).
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } satisfies ScryptOptions;

function scryptAsync(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, length, options, (error, derived) => (error ? reject(error) : resolve(derived))),
  );
}

/** `scrypt$N$r$p$salt$hash` (base64url parts), so the cost can rise later without breaking old hashes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const derived = await scryptAsync(password, salt, 32, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), derived.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const expected = Buffer.from(parts[5]!, 'base64url');
  const derived = await scryptAsync(password, Buffer.from(parts[4]!, 'base64url'), expected.length, {
    N,
    r,
    p,
    maxmem: Math.max(SCRYPT.maxmem, 256 * N * r),
  });
  return sameHash(derived, expected);
}

/** A password that can be run through scrypt for an unknown user, so timing does not tell who exists. */
export const DUMMY_PASSWORD_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
