/**
 * Rule packs: build, sign, publish and verify (product.md "Rule distribution"; the operations
 * guide for hospital IT is docs/operations.md).
 *
 * A pack is three files:
 * - `packs/<sha256>.pack`: gzip of the canonical JSON `{"format":1,"rules":[...],"version":N}`;
 * - `manifest.json`: what the pack is (version, dates, hash, size, counts, signing key id);
 * - `manifest.json.sig`: a detached Ed25519 signature (base64) over the manifest's exact bytes.
 *
 * Only the manifest is signed; it pins the pack by sha256 and size, so one signature covers
 * both and the pack can be served under a content-addressed name that caches may keep forever.
 * Nothing in a manifest is believed before its signature checks out against a pinned key
 * (`verifyManifest` is the only way to obtain a `VerifiedManifest`, which `verifyPack` demands).
 */
import { canonicalJson } from './audit-hash';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { createGunzip, gzip, type ZlibOptions } from 'node:zlib';
import { z } from 'zod';
import { RULE_KINDS, RuleLibraryError, validateRules, type Rule, type RuleLibrary, type RuleProblem } from './model';
import { TimeSlicer } from './time-slicer';

const gzipAsync = promisify<Buffer, ZlibOptions, Buffer>(gzip);

/** The pack and manifest format this agent writes and reads. */
export const PACK_FORMAT = 1;
/** Folder under the web root (or shared folder) that `publishPack` writes and agents read. */
export const PUBLISHED_FOLDER = 'rxgate';
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.json.sig';
/**
 * The public half of the key a pack was signed with, written next to the manifest by
 * `buildPack`, so `publishPack` can check what is already published without being told the key.
 * It is never published and never trusted by agents, which pin their own keys.
 */
export const PACK_PUBLIC_KEY_FILE = 'public.pem';
export const PACKS_FOLDER = 'packs';
/** A manifest is a few hundred bytes; anything near this is not one. */
export const MAX_MANIFEST_BYTES = 256 * 1024;
/** A base64 Ed25519 signature is 88 characters. */
export const MAX_SIGNATURE_BYTES = 4 * 1024;
/** Default cap on a downloaded or imported pack (compressed). */
export const DEFAULT_MAX_PACK_BYTES = 64 * 1024 * 1024;
/**
 * Default cap on a pack's decompressed JSON. 100,000 rules are roughly 30–50 MB of JSON; the
 * cap keeps a hostile or broken pack from taking the agent's memory (target: 300 MB RSS).
 */
export const DEFAULT_MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024;
/** A pack with no explicit expiry is valid this long after it was created. */
export const DEFAULT_LIFETIME_DAYS = 90;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Why a pack (or a key) was refused. Each code has its own meaning and remedy in docs/operations.md. */
export type PackErrorCode =
  | 'too_large'
  | 'bad_signature'
  | 'unknown_key'
  | 'bad_key'
  | 'bad_manifest'
  | 'not_newer'
  | 'expired'
  | 'agent_too_old'
  | 'hash_mismatch'
  | 'truncated'
  | 'corrupt'
  | 'invalid_rules'
  | 'not_found'
  | 'key_exists';

/** A refused pack or key. `message` is Chinese, for the IT person who reads status or a CLI error. */
export class PackError extends Error {
  constructor(
    readonly code: PackErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PackError';
  }
}

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const Timestamp = z.string().refine((value) => Number.isFinite(Date.parse(value)), 'not a timestamp');
const AgentVersion = z.string().regex(/^\d+\.\d+\.\d+$/);

/**
 * The manifest as published. Unknown fields are kept, not refused, so a later format-1
 * publisher may add information without breaking agents already in the wards.
 */
export const PackManifest = z
  .looseObject({
    format: z.literal(PACK_FORMAT),
    packId: z.string().min(1).max(128).regex(/^[\w.\-:]+$/),
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    createdAt: Timestamp,
    expiresAt: Timestamp,
    keyId: z.string().regex(/^[0-9a-f]{16}$/),
    minAgentVersion: AgentVersion.optional(),
    pack: z
      .looseObject({
        file: z.string(),
        encoding: z.literal('gzip'),
        sha256: Sha256Hex,
        size: z.number().int().min(1),
        uncompressedSize: z.number().int().min(1),
      })
      // The name is derived from the hash so a manifest can never point outside `packs/`.
      .refine((pack) => pack.file === `${PACKS_FOLDER}/${pack.sha256}.pack`, { message: 'pack.file must be packs/<sha256>.pack', path: ['file'] }),
    ruleCount: z.number().int().min(0),
    counts: z.record(z.string(), z.number().int().min(0)),
  })
  .refine((manifest) => Date.parse(manifest.expiresAt) > Date.parse(manifest.createdAt), {
    message: 'expiresAt must be after createdAt',
    path: ['expiresAt'],
  });
export type PackManifest = z.infer<typeof PackManifest>;

declare const verifiedBrand: unique symbol;
/** A manifest whose signature was checked against a pinned key; only `verifyManifest` makes one. */
export type VerifiedManifest = PackManifest & { readonly [verifiedBrand]: true };

// ---------------------------------------------------------------------------------------------
// Keys

/** Files written by `generateKeyPair`. */
export interface GeneratedKeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  publicKeyPem: string;
  keyId: string;
}

/**
 * Creates an Ed25519 key pair: `outDir/private.pem` (PKCS#8, owner-only) and `outDir/public.pem`.
 * The private key file is created with mode 0600 in the same call that creates it, so there is
 * no moment when another user could open it; an existing private key is never overwritten,
 * because losing it means re-pinning every PC in the hospital.
 */
export async function generateKeyPair(outDir: string): Promise<GeneratedKeyPair> {
  await fs.mkdir(outDir, { recursive: true, mode: 0o700 });
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const publicKeyPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const privateKeyPath = join(outDir, 'private.pem');
  const publicKeyPath = join(outDir, 'public.pem');

  let handle: fs.FileHandle;
  try {
    handle = await fs.open(privateKeyPath, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new PackError('key_exists', `私钥文件 ${privateKeyPath} 已存在, 不会覆盖。如确需新密钥, 请换一个目录生成, 并按轮换流程发布新公钥。`);
    }
    throw error;
  }
  try {
    await handle.writeFile(privateKeyPem);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await writeFileAtomic(publicKeyPath, publicKeyPem);
  return { privateKeyPath, publicKeyPath, publicKeyPem, keyId: keyId(publicKeyPem) };
}

function loadPublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new PackError('bad_key', '公钥无法读取(应为 PEM 格式的 Ed25519 公钥, 即 rxgate rules keygen 生成的 public.pem)', { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new PackError('bad_key', `公钥类型为 ${key.asymmetricKeyType ?? '未知'}, 应为 Ed25519`);
  }
  return key;
}

function loadPrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new PackError('bad_key', '私钥无法读取(应为 PEM 格式的 Ed25519 私钥, 即 rxgate rules keygen 生成的 private.pem)', { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new PackError('bad_key', `私钥类型为 ${key.asymmetricKeyType ?? '未知'}, 应为 Ed25519`);
  }
  return key;
}

function keyIdOf(key: KeyObject): string {
  const raw = Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url');
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/**
 * A short stable id of a key: the first 16 hex digits of sha256 over the raw 32-byte Ed25519
 * public key. Accepts a public key, or a private key (its public half is used). Manifests carry
 * it so an agent can tell "signed by a key I do not know" from "signature broken".
 */
export function keyId(publicKeyPem: string): string {
  if (publicKeyPem.includes('PRIVATE KEY')) return keyIdOf(createPublicKey(loadPrivateKey(publicKeyPem)));
  return keyIdOf(loadPublicKey(publicKeyPem));
}

/** A detached Ed25519 signature over exactly these bytes, base64 with a trailing newline. */
export function signManifest(manifestBytes: Uint8Array, privateKeyPem: string): string {
  return `${sign(null, manifestBytes, loadPrivateKey(privateKeyPem)).toString('base64')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Building

/** What `buildPack` needs. Rules come already validated by the source loader. */
export interface BuildPackOptions {
  rules: readonly Rule[];
  privateKeyPem: string;
  /** Positive integer; each published pack must have a higher one than the last (publisher's duty). */
  version: number;
  /** Default: `createdAt` + 90 days. A bare date `YYYY-MM-DD` means the end of that day, China time. */
  expiresAt?: Date | string;
  /** Default: now. */
  createdAt?: Date | string;
  /** Default: `rxgate-v<version>-<first 12 hex of the pack hash>`. */
  packId?: string;
  /** Agents older than this (x.y.z) refuse the pack instead of misreading it. */
  minAgentVersion?: string;
  outDir: string;
}

/** What `buildPack` wrote. */
export interface BuiltPack {
  manifest: PackManifest;
  manifestPath: string;
  signaturePath: string;
  packPath: string;
}

/** Canonical JSON (audit-hash.ts): the same rules always give the same bytes and pack hash. */
export { canonicalJson };

function toTimestamp(value: Date | string, field: string): number {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new PackError('bad_manifest', `${field} 不是有效时间`);
    return value.getTime();
  }
  // A bare date is what people type for an expiry; they mean "through that day", and every
  // hospital using this runs on China Standard Time, whatever the build machine's zone is.
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T23:59:59.999+08:00` : value;
  const parsed = Date.parse(text);
  if (!Number.isFinite(parsed)) throw new PackError('bad_manifest', `${field} 不是有效时间: ${value}`);
  return parsed;
}

function countsByKind(rules: readonly Rule[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(RULE_KINDS.map((kind) => [kind, 0]));
  for (const rule of rules) counts[rule.kind] = (counts[rule.kind] ?? 0) + 1;
  return counts;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Writes a signed pack into `outDir`: `packs/<sha256>.pack`, `manifest.json` and
 * `manifest.json.sig`. The rules are validated once more here, because a pack every agent
 * would refuse is better stopped on the build machine than discovered on a thousand PCs.
 */
export async function buildPack(options: BuildPackOptions): Promise<BuiltPack> {
  const { version } = options;
  if (!Number.isSafeInteger(version) || version < 1) throw new PackError('bad_manifest', `版本号必须是正整数, 收到 ${String(version)}`);
  if (options.minAgentVersion !== undefined && !AgentVersion.safeParse(options.minAgentVersion).success) {
    throw new PackError('bad_manifest', `最低客户端版本应为 x.y.z 形式, 收到 ${options.minAgentVersion}`);
  }
  const privateKey = loadPrivateKey(options.privateKeyPem);
  const { rules, problems } = validateRules([...options.rules]);
  if (problems.length > 0) throw new RuleLibraryError(problems);

  const createdAt = toTimestamp(options.createdAt ?? new Date(), 'createdAt');
  const expiresAt = options.expiresAt === undefined ? createdAt + DEFAULT_LIFETIME_DAYS * DAY_MS : toTimestamp(options.expiresAt, 'expiresAt');
  if (expiresAt <= createdAt) throw new PackError('expired', '有效期截止时间必须晚于创建时间');

  const body = Buffer.from(canonicalJson({ format: PACK_FORMAT, version, rules }), 'utf8');
  const compressed = await gzipAsync(body, { level: 9 });
  const hash = sha256Hex(compressed);
  const manifest: PackManifest = {
    format: PACK_FORMAT,
    packId: options.packId ?? `rxgate-v${version}-${hash.slice(0, 12)}`,
    version,
    createdAt: new Date(createdAt).toISOString(),
    expiresAt: new Date(expiresAt).toISOString(),
    keyId: keyIdOf(createPublicKey(privateKey)),
    ...(options.minAgentVersion === undefined ? {} : { minAgentVersion: options.minAgentVersion }),
    pack: { file: `${PACKS_FOLDER}/${hash}.pack`, encoding: 'gzip', sha256: hash, size: compressed.byteLength, uncompressedSize: body.byteLength },
    ruleCount: rules.length,
    counts: countsByKind(rules),
  };
  const checked = PackManifest.safeParse(manifest);
  if (!checked.success) throw new PackError('bad_manifest', `清单字段无效: ${checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);

  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  const signature = `${sign(null, manifestBytes, privateKey).toString('base64')}\n`;

  await fs.mkdir(join(options.outDir, PACKS_FOLDER), { recursive: true });
  const packPath = join(options.outDir, manifest.pack.file);
  const manifestPath = join(options.outDir, MANIFEST_FILE);
  const signaturePath = join(options.outDir, SIGNATURE_FILE);
  await writeFileAtomic(packPath, compressed);
  await writeFileAtomic(join(options.outDir, PACK_PUBLIC_KEY_FILE), createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString());
  await writeFileAtomic(signaturePath, signature);
  await writeFileAtomic(manifestPath, manifestBytes);
  return { manifest, manifestPath, signaturePath, packPath };
}

// ---------------------------------------------------------------------------------------------
// Verifying

function decodeSignature(signatureText: string | Uint8Array): Buffer | undefined {
  const text = (typeof signatureText === 'string' ? signatureText : Buffer.from(signatureText).toString('utf8')).trim();
  if (!/^[A-Za-z0-9+/]{86}==$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** The key id a manifest claims, read only to word an error; never trusted for anything else. */
function claimedKeyId(manifestBytes: Uint8Array): string | undefined {
  try {
    const parsed: unknown = JSON.parse(decodeUtf8(manifestBytes) ?? '');
    const claimed = parsed && typeof parsed === 'object' ? (parsed as { keyId?: unknown }).keyId : undefined;
    return typeof claimed === 'string' ? claimed.slice(0, 64) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks a manifest's detached signature against the pinned public keys (normally the current
 * key and the next one, for rotation) and only then parses it.
 * Throws `PackError`: `too_large`, `unknown_key` (signed, or claiming to be signed, by a key not
 * pinned here), `bad_signature`, `bad_manifest`, `agent_too_old` (a newer manifest format).
 */
export function verifyManifest(
  manifestBytes: Uint8Array,
  signatureText: string | Uint8Array,
  pinnedPublicKeysPem: readonly string[],
): VerifiedManifest {
  if (manifestBytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new PackError('too_large', `清单文件 ${manifestBytes.byteLength} 字节, 超过上限 ${MAX_MANIFEST_BYTES} 字节, 不是有效清单`);
  }
  const pinned = pinnedPublicKeysPem.map((pem) => {
    const key = loadPublicKey(pem);
    return { key, keyId: keyIdOf(key) };
  });
  const signature = decodeSignature(signatureText);
  const signer = signature ? pinned.find((candidate) => verify(null, manifestBytes, candidate.key, signature)) : undefined;
  if (!signer) {
    const claimed = claimedKeyId(manifestBytes);
    const pinnedIds = pinned.map((candidate) => candidate.keyId).join(', ') || '无';
    if (claimed !== undefined && !pinned.some((candidate) => candidate.keyId === claimed)) {
      throw new PackError('unknown_key', `规则包由未知密钥 ${claimed} 签名, 本机信任的密钥为 ${pinnedIds}。如果是密钥轮换, 请先把新公钥配置到客户端。`);
    }
    throw new PackError('bad_signature', `清单签名无效(本机信任的密钥为 ${pinnedIds}): 清单或签名文件被改动、损坏, 或发布尚未完成`);
  }

  const text = decodeUtf8(manifestBytes);
  let document: unknown;
  try {
    document = JSON.parse(text ?? '');
  } catch (error) {
    throw new PackError('bad_manifest', '清单已签名但不是有效 JSON(发布工具故障)', { cause: error });
  }
  const format = document && typeof document === 'object' ? (document as { format?: unknown }).format : undefined;
  if (typeof format === 'number' && format > PACK_FORMAT) {
    throw new PackError('agent_too_old', `规则包格式 ${format} 需要更新版本的 RxGate(本机支持格式 ${PACK_FORMAT}), 请升级客户端`);
  }
  const parsed = PackManifest.safeParse(document);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(清单)'}: ${issue.message}`)
      .join('; ');
    throw new PackError('bad_manifest', `清单已签名但字段无效: ${detail}`);
  }
  if (parsed.data.keyId !== signer.keyId) {
    throw new PackError('bad_manifest', `清单声明的密钥 ${parsed.data.keyId} 与实际签名密钥 ${signer.keyId} 不一致`);
  }
  return parsed.data as VerifiedManifest;
}

/** Limits and context for accepting a pack. */
export interface VerifyOptions {
  /** Version of the library active now; a pack must be strictly higher. */
  activeVersion: number;
  /** Epoch milliseconds; default `Date.now()`. */
  now?: number;
  /** Compressed size cap; default 64 MiB. */
  maxBytes?: number;
  /** Decompressed size cap; default 256 MiB. */
  maxUncompressedBytes?: number;
  /** This agent's version (x.y.z) for `minAgentVersion`; default the installed package's. */
  agentVersion?: string;
}

/** Compares dotted numeric versions (`0.10.2` > `0.9.9`); anything after `-` or `+` is ignored. */
export function compareVersions(left: string, right: string): number {
  const parts = (value: string) => value.split(/[-+]/)[0]!.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const a = parts(left);
  const b = parts(right);
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

let installedVersion: string | undefined;

/**
 * This agent's version, from the package.json next to the code (source tree or `dist/`). When
 * it cannot be found the answer is 0.0.0, so a pack demanding a minimum version is refused
 * rather than misread.
 */
export function currentAgentVersion(): string {
  if (installedVersion !== undefined) return installedVersion;
  installedVersion = '0.0.0';
  for (const candidate of [join(__dirname, '..', 'package.json'), join(__dirname, '..', '..', 'package.json')]) {
    try {
      const parsed = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown; version?: unknown };
      if (parsed.name === 'rxgate' && typeof parsed.version === 'string') {
        installedVersion = parsed.version;
        break;
      }
    } catch {
      continue;
    }
  }
  return installedVersion;
}

/**
 * The checks that need only the (verified) manifest, in the order the agent applies them:
 * declared size, version strictly newer, not expired, agent new enough. The sync client runs
 * them before downloading, so a pack it would refuse is never fetched.
 */
export function checkManifest(manifest: VerifiedManifest, options: VerifyOptions): void {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_PACK_BYTES;
  const maxUncompressed = options.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES;
  if (manifest.pack.size > maxBytes) {
    throw new PackError('too_large', `规则包 ${formatBytes(manifest.pack.size)}, 超过本机上限 ${formatBytes(maxBytes)}`);
  }
  if (manifest.pack.uncompressedSize > maxUncompressed) {
    throw new PackError('too_large', `规则包解压后 ${formatBytes(manifest.pack.uncompressedSize)}, 超过本机上限 ${formatBytes(maxUncompressed)}`);
  }
  if (manifest.version <= options.activeVersion) {
    throw new PackError(
      'not_newer',
      manifest.version === options.activeVersion
        ? `规则包版本 v${manifest.version} 与当前规则库相同, 无需更新`
        : `规则包版本 v${manifest.version} 低于当前规则库 v${options.activeVersion}, 已拒绝(发布了旧版本, 或有人重放旧规则包; 回退请用更高版本号重新发布旧内容)`,
    );
  }
  const now = options.now ?? Date.now();
  if (now >= Date.parse(manifest.expiresAt)) {
    throw new PackError('expired', `规则包 v${manifest.version} 已于 ${manifest.expiresAt} 过期, 已拒绝。请信息科重新构建发布(或检查本机时钟)`);
  }
  const agentVersion = options.agentVersion ?? currentAgentVersion();
  if (manifest.minAgentVersion !== undefined && compareVersions(agentVersion, manifest.minAgentVersion) < 0) {
    throw new PackError('agent_too_old', `规则包 v${manifest.version} 需要 RxGate ${manifest.minAgentVersion} 或更高版本, 本机为 ${agentVersion}, 请升级客户端`);
  }
}

/**
 * Verifies a pack's bytes against its verified manifest and returns the rule library. Checks,
 * in order, each with its own code: size cap (`too_large`), version (`not_newer`), expiry
 * (`expired`), agent version (`agent_too_old`), length (`truncated` when short) and sha256
 * (`hash_mismatch`), bounded gunzip (`corrupt`; `too_large` past the declared size, so a zip
 * bomb stops at the cap), UTF-8 and JSON (`corrupt`), rule schema (`invalid_rules`).
 * Asynchronous because decompression runs on the thread pool and the rest is cut into slices
 * of a few milliseconds, so checks on the same event loop keep answering meanwhile.
 */
export async function verifyPack(manifest: VerifiedManifest, packBytes: Uint8Array, options: VerifyOptions): Promise<RuleLibrary> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_PACK_BYTES;
  if (packBytes.byteLength > maxBytes) {
    throw new PackError('too_large', `规则包 ${formatBytes(packBytes.byteLength)}, 超过本机上限 ${formatBytes(maxBytes)}`);
  }
  checkManifest(manifest, options);
  if (packBytes.byteLength < manifest.pack.size) {
    throw new PackError('truncated', `规则包不完整: 收到 ${packBytes.byteLength} 字节, 清单为 ${manifest.pack.size} 字节(下载中断或文件未复制完整)`);
  }
  const slicer = new TimeSlicer();
  if (packBytes.byteLength !== manifest.pack.size || (await sha256Sliced(packBytes, slicer)) !== manifest.pack.sha256) {
    throw new PackError('hash_mismatch', `规则包内容与清单的 sha256 不符(文件被替换或损坏, 或缓存返回了别的文件)`);
  }

  let document: unknown;
  try {
    document = await parsePackDocument(gunzipped(packBytes, manifest.pack.uncompressedSize), slicer);
  } catch (error) {
    if (error instanceof PackError) throw error;
    throw new PackError('corrupt', `规则包内容不是有效 JSON: ${(error as Error).message}`, { cause: error });
  }
  const shape = document as { format?: unknown; version?: unknown; rules?: unknown } | null;
  if (!shape || typeof shape !== 'object' || shape.format !== PACK_FORMAT || !Array.isArray(shape.rules)) {
    throw new PackError('corrupt', '规则包内容结构不对(应为 {format:1, version, rules:[...]})');
  }
  if (shape.version !== manifest.version) {
    throw new PackError('corrupt', `规则包内容版本 ${String(shape.version)} 与清单版本 ${manifest.version} 不一致`);
  }

  const { rules, problems } = await validateSliced(shape.rules, slicer);
  if (problems.length > 0) {
    throw new PackError('invalid_rules', `规则包中的规则未通过校验(本机版本可能过旧, 或发布工具有误): ${new RuleLibraryError(problems).message}`);
  }
  if (rules.length !== manifest.ruleCount) {
    throw new PackError('corrupt', `规则包有 ${rules.length} 条规则, 清单为 ${manifest.ruleCount} 条`);
  }
  return { version: manifest.version, source: 'pack', publishedAt: manifest.createdAt, expiresAt: manifest.expiresAt, rules };
}

const SLICE_BYTES = 1024 * 1024;

/**
 * The pack's body, decompressed a megabyte at a time as the parser takes it. Gunzipped whole,
 * a 100,000-rule body was one 40 MB buffer that zlib joined from its pieces on the main thread
 * at the end, an 85 ms stall in the middle of the apply (docs/benchmarks.md, "Apply"). Bounded
 * by the declared size: a zip bomb stops at the first piece past it (`too_large`).
 */
async function* gunzipped(packBytes: Uint8Array, declaredSize: number): AsyncGenerator<Buffer> {
  const inflater = createGunzip({ chunkSize: SLICE_BYTES });
  inflater.end(Buffer.from(packBytes.buffer, packBytes.byteOffset, packBytes.byteLength));
  let total = 0;
  try {
    for await (const piece of inflater as AsyncIterable<Buffer>) {
      total += piece.byteLength;
      if (total > declaredSize) {
        throw new PackError('too_large', `规则包解压后超过清单声明的 ${declaredSize} 字节, 已停止解压(疑似压缩炸弹)`);
      }
      yield piece;
    }
  } catch (error) {
    if (error instanceof PackError) throw error;
    throw new PackError('corrupt', `规则包无法解压: ${(error as Error).message}`, { cause: error });
  } finally {
    inflater.destroy();
  }
  if (total !== declaredSize) throw new PackError('corrupt', `规则包解压后 ${total} 字节, 与清单声明的 ${declaredSize} 字节不符`);
}

async function sha256Sliced(bytes: Uint8Array, slicer: TimeSlicer): Promise<string> {
  const hash = createHash('sha256');
  for (let offset = 0; offset < bytes.byteLength; offset += SLICE_BYTES) {
    hash.update(bytes.subarray(offset, offset + SLICE_BYTES));
    await slicer.pause();
  }
  return hash.digest('hex');
}

/**
 * Decodes and parses a pack body as it is decompressed. `buildPack` writes canonical JSON,
 * `{"format":1,"rules":[...],"version":N}` without whitespace, so the rules array can be split
 * at its top-level commas while the UTF-8 is decoded a piece at a time, and each rule parsed on
 * its own between pauses, instead of one JSON.parse that holds the thread for a quarter of a
 * second. Every piece is still parsed strictly, so a malformed body fails as it would whole.
 * A body in any other layout gets one plain JSON.parse.
 */
async function parsePackDocument(body: AsyncIterable<Uint8Array>, slicer: TimeSlicer): Promise<unknown> {
  const prefix = `{"format":${PACK_FORMAT},"rules":[`;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const parts: string[] = [];
  const rules: unknown[] = [];
  let canonical: boolean | undefined;
  let head = '';
  let carry = '';
  let tail: string | undefined;
  let depth = 0;
  let inString = false;
  let escaped = false;

  const addPiece = (piece: string, closing: boolean) => {
    // `[]` is the one place an empty piece is allowed; `[,]` and `[1,]` are not JSON.
    if (closing && piece === '' && rules.length === 0) return;
    rules.push(JSON.parse(piece));
  };
  const scan = async (chunk: string): Promise<void> => {
    let start = 0;
    for (let index = 0; index < chunk.length && tail === undefined; index += 1) {
      const code = chunk.charCodeAt(index);
      if (inString) {
        if (escaped) escaped = false;
        else if (code === 0x5c) escaped = true;
        else if (code === 0x22) inString = false;
      } else if (code === 0x22) {
        inString = true;
      } else if (code === 0x7b || code === 0x5b) {
        depth += 1;
      } else if (code === 0x7d || code === 0x5d) {
        if (depth > 0) {
          depth -= 1;
        } else if (code === 0x5d) {
          addPiece(carry + chunk.slice(start, index), true);
          carry = '';
          tail = '';
          start = index + 1;
        } else {
          throw new SyntaxError('unbalanced braces in the rules array');
        }
      } else if (code === 0x2c && depth === 0) {
        addPiece(carry + chunk.slice(start, index), false);
        carry = '';
        start = index + 1;
        if (slicer.due()) await slicer.pause();
      }
    }
    if (tail === undefined) {
      carry += chunk.slice(start);
    } else {
      tail += chunk.slice(start);
      if (tail.length > 64) throw new SyntaxError('unexpected text after the rules array');
    }
  };
  const feed = async (chunk: string) => {
    if (canonical === undefined) {
      head += chunk;
      if (head.length < prefix.length) return;
      canonical = head.startsWith(prefix);
      if (canonical) await scan(head.slice(prefix.length));
      else parts.push(head);
      return;
    }
    if (canonical) await scan(chunk);
    else parts.push(chunk);
  };

  try {
    for await (const piece of body) {
      await feed(decoder.decode(piece, { stream: true }));
      await slicer.pause();
    }
    await feed(decoder.decode());
  } catch (error) {
    if (error instanceof TypeError) throw new PackError('corrupt', '规则包内容不是有效的 UTF-8 文本', { cause: error });
    throw error;
  }
  if (!canonical) return JSON.parse(canonical === undefined ? head : parts.join(''));
  const version = tail === undefined ? null : /^,"version":(\d{1,16})\}$/.exec(tail);
  if (!version) throw new SyntaxError('the rules array is not followed by the version');
  return { format: PACK_FORMAT, rules, version: Number(version[1]) };
}

/** `validateRules`, a rule at a time between pauses, with duplicate ids found across the whole list. */
async function validateSliced(raw: readonly unknown[], slicer: TimeSlicer): Promise<{ rules: Rule[]; problems: RuleProblem[] }> {
  const rules: Rule[] = [];
  const problems: RuleProblem[] = [];
  const seen = new Map<string, number>();
  for (let index = 0; index < raw.length; index += 1) {
    const one = validateRules([raw[index]]);
    for (const problem of one.problems) problems.push({ ...problem, index });
    const rule = one.rules[0];
    if (rule) {
      const earlier = seen.get(rule.id);
      if (earlier === undefined) {
        seen.set(rule.id, index);
        rules.push(rule);
      } else {
        problems.push({ index, ruleId: rule.id, field: 'id', message: `规则编号重复(第 ${earlier + 1} 条已使用)` });
      }
    }
    if (slicer.due()) await slicer.pause();
  }
  return { rules, problems };
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} 字节`;
}

// ---------------------------------------------------------------------------------------------
// Files: publishing and offline import

/** Where a pack's files are on disk. */
interface PackLocation {
  directory: string;
  manifestPath: string;
  signaturePath: string;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds the manifest for a path a person typed: a pack directory (what `buildPack` wrote), the
 * published `rxgate/` folder, the web root above it, the manifest itself, or a `.pack` file.
 */
async function locatePack(path: string): Promise<PackLocation> {
  let stat;
  try {
    stat = await fs.stat(path);
  } catch {
    throw new PackError('not_found', `找不到 ${path}`);
  }
  const candidates: string[] = [];
  if (stat.isDirectory()) candidates.push(path, join(path, PUBLISHED_FOLDER));
  else if (basename(path) === MANIFEST_FILE) candidates.push(dirname(path));
  else if (path.endsWith('.pack')) candidates.push(dirname(dirname(path)), dirname(path));
  for (const directory of candidates) {
    const manifestPath = join(directory, MANIFEST_FILE);
    if (await isFile(manifestPath)) return { directory, manifestPath, signaturePath: join(directory, SIGNATURE_FILE) };
  }
  throw new PackError('not_found', `${path} 下找不到 ${MANIFEST_FILE}; 请指定规则包目录(含 manifest.json、manifest.json.sig 和 packs/)`);
}

async function readCapped(path: string, maxBytes: number, what: string): Promise<Buffer> {
  let size: number;
  try {
    size = (await fs.stat(path)).size;
  } catch {
    throw new PackError('not_found', `找不到${what} ${path}`);
  }
  if (size > maxBytes) throw new PackError('too_large', `${what} ${path} 为 ${formatBytes(size)}, 超过上限 ${formatBytes(maxBytes)}`);
  const bytes = await fs.readFile(path);
  if (bytes.byteLength > maxBytes) throw new PackError('too_large', `${what} ${path} 超过上限 ${formatBytes(maxBytes)}`);
  return bytes;
}

async function packFilePath(location: PackLocation, manifest: PackManifest): Promise<string> {
  const expected = join(location.directory, manifest.pack.file);
  if (await isFile(expected)) return expected;
  // People copying a pack by hand sometimes flatten the folder; the hash still decides.
  const flattened = join(location.directory, basename(manifest.pack.file));
  if (await isFile(flattened)) return flattened;
  throw new PackError('not_found', `找不到规则包文件 ${expected}`);
}

/** A pack read from disk and verified. */
export interface ReadPack {
  library: RuleLibrary;
  manifest: VerifiedManifest;
  directory: string;
}

/**
 * Offline import (`rxgate rules import FILE`): reads a pack directory, a published folder or a
 * manifest path and verifies it exactly as the sync client does (pinned keys, newer version,
 * not expired, hash, schema).
 */
export async function readPackFile(path: string, options: VerifyOptions & { publicKeys: readonly string[] }): Promise<ReadPack> {
  const location = await locatePack(path);
  const manifestBytes = await readCapped(location.manifestPath, MAX_MANIFEST_BYTES, '清单文件');
  const signature = await readCapped(location.signaturePath, MAX_SIGNATURE_BYTES, '签名文件');
  const manifest = verifyManifest(manifestBytes, signature, options.publicKeys);
  checkManifest(manifest, options);
  const packPath = await packFilePath(location, manifest);
  const packBytes = await readCapped(packPath, options.maxBytes ?? DEFAULT_MAX_PACK_BYTES, '规则包文件');
  const library = await verifyPack(manifest, packBytes, options);
  return { library, manifest, directory: location.directory };
}

/** What `publishPack` did. */
export interface PublishedPack {
  manifest: PackManifest;
  manifestPath: string;
  signaturePath: string;
  packPath: string;
  /** True when exactly this manifest was already published; nothing was written. */
  unchanged: boolean;
  /**
   * Set when the manifest found at the destination failed its signature check and was replaced:
   * why it was not trusted (tampered, damaged, or signed by another key), for the publisher to read.
   */
  replacedUntrusted?: string;
}

/** Options for `publishPack`. */
export interface PublishOptions {
  /**
   * When given, the signature is checked before publishing, as the agents will check it, and the
   * manifest already published is checked with these keys. Without them, the pack's own
   * `public.pem` (written by `buildPack`) checks both.
   */
  publicKeys?: readonly string[];
}

/** The keys to check with: those given, else the pack's own public key when its id matches. */
async function publishingKeys(location: PackLocation, manifest: PackManifest, options: PublishOptions): Promise<readonly string[]> {
  if (options.publicKeys) return options.publicKeys;
  const pem = await fs.readFile(join(location.directory, PACK_PUBLIC_KEY_FILE), 'utf8').catch(() => undefined);
  if (pem === undefined) return [];
  if (keyId(pem) !== manifest.keyId) {
    throw new PackError('bad_key', `${join(location.directory, PACK_PUBLIC_KEY_FILE)} 不是签名此规则包的公钥 (应为 ${manifest.keyId}), 请重新构建后再发布`);
  }
  return [pem];
}

/**
 * The version already published at the destination, when its manifest can be trusted. A manifest
 * whose signature fails with the publishing keys (someone edited `version`, a copy broke) is
 * not trusted: its version must not stop a re-publish, which is how it gets repaired.
 */
async function publishedVersion(
  manifestPath: string,
  signaturePath: string,
  keys: readonly string[],
): Promise<{ version: number; bytes: Buffer } | { untrusted: string } | undefined> {
  const bytes = await fs.readFile(manifestPath).catch(() => undefined);
  if (!bytes) return undefined;
  const signature = await fs.readFile(signaturePath).catch(() => Buffer.alloc(0));
  if (keys.length === 0) {
    // Nothing to check with (a pack built before packs carried their key): the old behaviour.
    const parsed = PackManifest.safeParse(parseJsonOrUndefined(bytes));
    return parsed.success ? { version: parsed.data.version, bytes } : undefined;
  }
  try {
    return { version: verifyManifest(bytes, signature, keys).version, bytes };
  } catch (error) {
    if (error instanceof PackError) return { untrusted: `${manifestPath} 未通过签名校验 (${error.message})` };
    throw error;
  }
}

/**
 * Lays a built pack out under `wwwDir/rxgate/` for any static web server or shared folder:
 * `packs/<sha256>.pack` first, then `manifest.json.sig`, then `manifest.json`, each written to a
 * temporary file and renamed into place, so a reader never finds a manifest whose pack is
 * missing. Packs of earlier versions stay, because agents that read the previous manifest a
 * moment ago may still be downloading them.
 * Refuses (`not_newer`) a version not higher than the one already published; to roll back,
 * rebuild the old rules with a higher version number.
 */
export async function publishPack(packDir: string, wwwDir: string, options: PublishOptions = {}): Promise<PublishedPack> {
  const location = await locatePack(packDir);
  const manifestBytes = await readCapped(location.manifestPath, MAX_MANIFEST_BYTES, '清单文件');
  const signature = await readCapped(location.signaturePath, MAX_SIGNATURE_BYTES, '签名文件');
  let manifest: PackManifest;
  if (!decodeSignature(signature)) throw new PackError('bad_signature', `${location.signaturePath} 不是有效签名`);
  const parsed = PackManifest.safeParse(parseJsonOrUndefined(manifestBytes));
  if (!parsed.success) throw new PackError('bad_manifest', `${location.manifestPath} 不是有效清单`);
  manifest = parsed.data;
  const keys = await publishingKeys(location, manifest, options);
  if (keys.length > 0) manifest = verifyManifest(manifestBytes, signature, keys);
  const sourcePackPath = await packFilePath(location, manifest);
  if ((await fs.stat(sourcePackPath)).size !== manifest.pack.size) {
    throw new PackError('hash_mismatch', '规则包文件大小与清单不符, 请重新构建后再发布');
  }
  const packBytes = await fs.readFile(sourcePackPath);
  if (packBytes.byteLength !== manifest.pack.size || sha256Hex(packBytes) !== manifest.pack.sha256) {
    throw new PackError('hash_mismatch', '规则包文件与清单不符, 请重新构建后再发布');
  }

  const target = join(wwwDir, PUBLISHED_FOLDER);
  const manifestPath = join(target, MANIFEST_FILE);
  const signaturePath = join(target, SIGNATURE_FILE);
  const packPath = join(target, manifest.pack.file);
  const existing = await publishedVersion(manifestPath, signaturePath, keys);
  if (existing && 'version' in existing && existing.version >= manifest.version) {
    const sameSignature = (await fs.readFile(signaturePath).catch(() => Buffer.alloc(0))).equals(signature);
    if (existing.bytes.equals(manifestBytes) && sameSignature && (await isFile(packPath))) {
      return { manifest, manifestPath, signaturePath, packPath, unchanged: true };
    }
    throw new PackError(
      'not_newer',
      `${target} 已发布 v${existing.version}, 新包 v${manifest.version} 不高于它, 客户端不会接受。回退旧规则请用更高版本号重新构建。`,
    );
  }
  const replacedUntrusted = existing && 'untrusted' in existing ? existing.untrusted : undefined;

  await fs.mkdir(join(target, PACKS_FOLDER), { recursive: true });
  const existingPack = await fs.readFile(packPath).catch(() => undefined);
  if (!existingPack || sha256Hex(existingPack) !== manifest.pack.sha256) await writeFileAtomic(packPath, packBytes);
  await writeFileAtomic(signaturePath, signature);
  await writeFileAtomic(manifestPath, manifestBytes);
  return { manifest, manifestPath, signaturePath, packPath, unchanged: false, ...(replacedUntrusted ? { replacedUntrusted } : {}) };
}

function parseJsonOrUndefined(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decodeUtf8(bytes) ?? '');
  } catch {
    return undefined;
  }
}

/**
 * Writes through a temporary file in the same folder and renames it into place, so readers see
 * the old file or the new one, never half of one. On Windows a web server reading the old file
 * can make the rename fail for a moment, hence the short retries.
 */
async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(temporary, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  for (let attempt = 1; ; attempt += 1) {
    try {
      await fs.rename(temporary, path);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (attempt < 10 && (code === 'EPERM' || code === 'EBUSY' || code === 'EACCES')) {
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        continue;
      }
      await fs.rm(temporary, { force: true });
      throw error;
    }
  }
}
