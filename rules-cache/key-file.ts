/**
 * The install's secret, kept in its own owner-only file beside the database rather than inside
 * it: whoever copies or edits `rxgate.db` alone can neither recover patient ids from their
 * keyed hashes nor re-hash the audit chain. In the desktop app the secret is additionally
 * sealed with the operating system's key store (Electron `safeStorage`) where one is available.
 *
 * From the one 32-byte secret come separate keys (HMAC-SHA256 of a label), so that the key that
 * hides patient ids is never the key that signs the audit chain.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { z } from 'zod';

/** Seals the secret with the OS key store; Electron's `safeStorage` in the desktop app. */
export interface SecretSealer {
  /** Written into the file, so a reader knows which sealer it needs. */
  readonly name: string;
  seal(secret: Buffer): Buffer;
  unseal(sealed: Buffer): Buffer;
}

const KeyFileContent = z
  .object({
    format: z.literal('rxgate-key/1'),
    /** `none`: the secret in base64; otherwise the sealer's name and its sealed bytes. */
    sealedWith: z.string().min(1),
    secret: z.string().min(1),
    /** Audit records from this `seq` on are keyed (HMAC); earlier ones were plain SHA-256. */
    auditKeyedFrom: z.number().int().min(1),
    createdAt: z.string(),
  })
  .strict();

/** The secret and the keys derived from it. */
export interface InstallKeys {
  /** Keys patient and visit ids (the same derivation as before the key left the database). */
  readonly patient: Buffer;
  /** Keys the audit chain. */
  readonly audit: Buffer;
  /** Keys the rule library digest, so a library edited in the database is told apart. */
  readonly library: Buffer;
  /** Encrypts the hub outbox, whose events carry patient ids until the hub has them. */
  readonly outbox: Buffer;
  readonly auditKeyedFrom: number;
  /** A short public fingerprint of the secret, kept in the database to notice a swapped key file. */
  readonly fingerprint: string;
}

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

/** Derives the working keys from the secret. */
export function deriveKeys(secret: Buffer, auditKeyedFrom: number): InstallKeys {
  if (secret.length !== 32) throw new KeyFileError('密钥长度不对 (应为 32 字节)');
  const derive = (label: string) => createHmac('sha256', secret).update(label, 'utf8').digest();
  return {
    // Patient ids were keyed with the secret itself before it moved out of the database;
    // keeping that keeps every existing ledger row findable.
    patient: secret,
    audit: derive('rxgate audit chain v1'),
    library: derive('rxgate rule library v1'),
    outbox: derive('rxgate hub outbox v1'),
    auditKeyedFrom,
    fingerprint: derive('rxgate key fingerprint v1').subarray(0, 8).toString('hex'),
  };
}

/** Reads the key file; throws {@link KeyFileError} naming the file when it cannot be used. */
export function readKeyFile(path: string, sealer?: SecretSealer): InstallKeys {
  let content: z.infer<typeof KeyFileContent>;
  try {
    content = KeyFileContent.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    throw new KeyFileError(`密钥文件 ${path} 无法读取或已损坏: ${(error as Error).message}`);
  }
  const bytes = Buffer.from(content.secret, 'base64');
  let secret: Buffer;
  if (content.sealedWith === 'none') secret = bytes;
  else if (!sealer || sealer.name !== content.sealedWith) {
    throw new KeyFileError(`密钥文件 ${path} 由系统密钥库 (${content.sealedWith}) 保护, 只能由 RxGate 桌面程序以同一用户打开`);
  } else {
    try {
      secret = sealer.unseal(bytes);
    } catch (error) {
      throw new KeyFileError(`密钥文件 ${path} 无法用系统密钥库解开: ${(error as Error).message}`);
    }
  }
  return deriveKeys(secret, content.auditKeyedFrom);
}

/**
 * Writes a key file owner-only (0600, its folder 0700 on POSIX), atomically: a crash leaves
 * either no file or the whole file. Never overwrites an existing one.
 */
export function writeKeyFile(path: string, secret: Buffer, auditKeyedFrom: number, sealer?: SecretSealer, now = new Date()): InstallKeys {
  if (existsSync(path)) throw new KeyFileError(`密钥文件 ${path} 已存在, 不会覆盖`);
  secureDirectory(dirname(path));
  const content: z.infer<typeof KeyFileContent> = {
    format: 'rxgate-key/1',
    sealedWith: sealer ? sealer.name : 'none',
    secret: (sealer ? sealer.seal(secret) : secret).toString('base64'),
    auditKeyedFrom,
    createdAt: now.toISOString(),
  };
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temporary, path);
  return deriveKeys(secret, auditKeyedFrom);
}

/** A new random secret. */
export function newSecret(): Buffer {
  return randomBytes(32);
}

/** Creates `dir` owner-only, or narrows an existing one to owner-only (POSIX; a no-op on Windows). */
export function secureDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') chmodSync(dir, 0o700);
}

/** Makes an existing file owner-only (POSIX). */
export function secureFile(path: string): void {
  if (process.platform !== 'win32' && existsSync(path)) chmodSync(path, 0o600);
}
