/**
 * `rxgate rules keygen | build | publish`: how the insurance office's spreadsheets become a
 * signed pack on a static web server (docs/operations.md walks through it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { buildPack, generateKeyPair, publishPack } from '../../rules-cache/pack';
import { formatSourceProblem, loadRuleSources } from '../../rules-cache/sources';
import { CliError } from './cli-error';
import { readPublicKeys } from './config';
import { ruleKindLabel } from './format';

/** `rules keygen --out DIR`. */
export async function rulesKeygen(values: Record<string, unknown>): Promise<number> {
  const out = values.out as string | undefined;
  if (!out) throw new CliError('缺少 --out DIR — 用法: rxgate rules keygen --out DIR');
  const pair = await generateKeyPair(out);
  console.log(`已生成密钥对 (密钥编号 ${pair.keyId})`);
  console.log(`  私钥: ${pair.privateKeyPath}  (仅所有者可读; 请离线妥善保管, 不要放到规则服务器或医生电脑上)`);
  console.log(`  公钥: ${pair.publicKeyPath}  (分发到每台电脑: --public-key 或配置文件 publicKeys)`);
  return 0;
}

/** A default version that grows with time, so two builds in a row never collide: YYYYMMDDHHmm. */
export function timeVersion(date: Date): number {
  const pad = (value: number) => String(value).padStart(2, '0');
  return Number(`${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}${pad(date.getHours())}${pad(date.getMinutes())}`);
}

/**
 * `--expires` as typed: a real calendar day (YYYY-MM-DD, through that day) or a full ISO time,
 * in the future. Refused in Chinese naming the flag, before any work is done.
 */
export function checkExpires(value: string, now: Date = new Date()): string {
  const example = '如 --expires 2026-12-31';
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (day) {
    const [year, month, date] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const probe = new Date(Date.UTC(year, month - 1, date));
    if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== date) {
      throw new CliError(`--expires ${value} 不是日历上的日期 — 请写 YYYY-MM-DD, ${example}`, 2);
    }
  } else if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || !Number.isFinite(Date.parse(value))) {
    throw new CliError(`--expires ${value} 不是有效日期 — 请写 YYYY-MM-DD (当天 23:59 北京时间到期) 或带时区的完整时间, ${example}`, 2);
  }
  const end = day ? Date.parse(`${value}T23:59:59.999+08:00`) : Date.parse(value);
  if (end <= now.getTime()) throw new CliError(`--expires ${value} 已经过去 — 有效期截止时间必须晚于现在`, 2);
  return value;
}

/** `rules build SOURCES… --key PRIVATE --out DIR [--version N] [--expires DATE]`. */
export async function rulesBuild(values: Record<string, unknown>, sources: string[]): Promise<number> {
  if (sources.length === 0) throw new CliError('缺少规则源 (CSV/XLSX/JSON 文件或文件夹) — 用法: rxgate rules build SOURCES --key PRIVATE --out DIR');
  const keyFile = values.key as string | undefined;
  const out = values.out as string | undefined;
  if (!keyFile) throw new CliError('缺少 --key PRIVATE (私钥文件)');
  if (!out) throw new CliError('缺少 --out DIR (规则包输出目录)');
  let version: number | undefined;
  if (values.version !== undefined) {
    version = Number(values.version);
    if (!Number.isSafeInteger(version) || version < 1) throw new CliError(`--version 应为正整数, 收到 ${String(values.version)}`);
  }
  if (!existsSync(keyFile)) throw new CliError(`找不到 --key 指定的私钥文件: ${keyFile} (用 rxgate rules keygen --out DIR 生成)`);
  const expires = values.expires === undefined ? undefined : checkExpires(String(values.expires));
  const catalogueFile = values.catalogue as string | undefined;
  if (catalogueFile !== undefined && !existsSync(catalogueFile)) throw new CliError(`找不到 --catalogue 指定的文件: ${catalogueFile}`);
  const catalogue = catalogueFile
    ? readFileSync(catalogueFile, 'utf8').split(/\r?\n/).map((line) => line.trim()).filter(Boolean)
    : undefined;
  const result = await loadRuleSources(sources, { catalogue });
  for (const warning of result.warnings) console.log(`提醒: ${formatSourceProblem(warning)}`);
  if (result.errors.length > 0) {
    for (const error of result.errors) console.error(`错误: ${formatSourceProblem(error)}`);
    throw new CliError(`规则源有 ${result.errors.length} 处错误, 未生成规则包 (请修改后重新构建)`);
  }
  const built = await buildPack({
    rules: result.rules,
    privateKeyPem: readFileSync(keyFile, 'utf8'),
    version: version ?? timeVersion(new Date()),
    expiresAt: expires,
    minAgentVersion: values['min-agent-version'] as string | undefined,
    outDir: out,
  });
  const { manifest } = built;
  console.log(`已生成规则包 版本 ${manifest.version}  共 ${manifest.ruleCount} 条 (${Object.entries(manifest.counts).map(([kind, count]) => `${ruleKindLabel(kind)} ${count}`).join(', ')})`);
  console.log(`  来源: ${result.files.length} 个文件  有效期至 ${manifest.expiresAt}  密钥 ${manifest.keyId}`);
  console.log(`  输出: ${out}`);
  return 0;
}

/** `rules publish DIR --to WWWDIR [--public-key FILE]…`. */
export async function rulesPublish(values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const packDir = positionals[0];
  const to = values.to as string | undefined;
  if (!packDir || !to) throw new CliError('用法: rxgate rules publish DIR --to WWWDIR');
  const keys = values['public-key'] as string[] | undefined;
  const published = await publishPack(packDir, to, keys?.length ? { publicKeys: readPublicKeys(keys) } : {});
  if (published.replacedUntrusted) console.log(`注意: ${published.replacedUntrusted}; 已用新包替换。请查明清单为何被改动。`);
  console.log(
    published.unchanged
      ? `该规则包已发布, 未做改动 (版本 ${published.manifest.version})`
      : `已发布规则包 版本 ${published.manifest.version} 到 ${to} (清单 rxgate/manifest.json)`,
  );
  return 0;
}
