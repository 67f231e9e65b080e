/**
 * What `rxgate … --help` prints and how command-line mistakes are worded: each flag with its
 * meaning and default, and Node's parseArgs errors ("Unknown option '--prot'") turned into
 * Chinese that names the flag and says what to do.
 */
import type { ParseArgsConfig } from 'node:util';
import { ConfigFile } from './config';
import { describeIssue } from './zod-messages';

/** One flag in a command's help: the value it takes (if any) and what it does, with its default. */
export interface FlagHelp {
  value?: string;
  text: string;
}

/** The parts of a command its help is made from. */
export interface HelpSource {
  usage: string;
  summary: string;
  options: ParseArgsConfig['options'];
  flags: Record<string, FlagHelp>;
}

/** The full help of one command: usage, summary and every flag with its meaning and default. */
export function commandHelp(command: HelpSource): string {
  const options = command.options ?? {};
  const rows = Object.keys(options).map((name) => {
    const help = command.flags[name];
    const label = `--${name}${help?.value ? ` ${help.value}` : ''}${options[name]?.multiple ? ' (可重复)' : ''}`;
    return { label, text: help?.text ?? '' };
  });
  const width = Math.max(0, ...rows.map((row) => displayWidth(row.label)));
  const lines = [`用法: ${command.usage}`, '', command.summary];
  if (rows.length > 0) {
    lines.push('', '参数:');
    for (const row of rows) lines.push(`  ${row.label}${' '.repeat(width - displayWidth(row.label) + 2)}${row.text}`);
  }
  lines.push('  --help' + ' '.repeat(Math.max(2, width - 4)) + '显示本说明');
  return lines.join('\n');
}

/** Terminal columns: CJK characters take two. */
function displayWidth(text: string): number {
  let width = 0;
  for (const character of text) width += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(character) ? 2 : 1;
  return width;
}

/** Edit distance, to suggest the flag meant by a typo. */
function distance(left: string, right: string): number {
  const previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let i = 1; i <= left.length; i += 1) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= right.length; j += 1) {
      const above = previous[j]!;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + (left[i - 1] === right[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[right.length]!;
}

/**
 * Node's parseArgs error, in Chinese, naming the flag: an unknown flag (with the nearest known
 * one), a flag missing its value, a switch given a value.
 */
export function explainArgsError(error: unknown, commandName: string, options: HelpSource['options']): string {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  const flag = /'(-{1,2}[^' <]+)/.exec(message)?.[1] ?? '';
  const more = `运行 rxgate ${commandName} --help 查看可用参数`;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const typed = flag.replace(/^-+/, '').split('=')[0] ?? '';
    const nearest = Object.keys(options ?? {})
      .map((name) => ({ name, score: distance(typed, name) }))
      .filter((candidate) => candidate.score <= (candidate.name.length >= 4 ? 2 : 1))
      .sort((left, right) => left.score - right.score)[0];
    return `未知参数 ${flag}${nearest ? `, 是不是 --${nearest.name}?` : ''} — ${more}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/does not take an argument/.test(message)) return `参数 ${flag} 是开关, 不带取值 (只写 ${flag}) — ${more}`;
    return `参数 ${flag} 缺少取值 (写成 ${flag} 值) — ${more}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `多余的参数 ${flag || message} — ${more}`;
  return `参数有误 (${message}) — ${more}`;
}

/** Config fields that the agent's flags set, and the flag that sets each. */
const flagOfField: Partial<Record<keyof ConfigFile, string>> = {
  port: '--port',
  token: '--token',
  allowOrigins: '--allow-origin',
  servers: '--server',
  publicKeys: '--public-key',
};

/**
 * Checks settings given as flags with the rules config.json follows, so a flag can never be
 * looser than the file (a 5-character `--token` is refused as it would be in config.json).
 * Returns the first problem, naming the flag, or null.
 */
export function checkFlagSettings(settings: ConfigFile): string | null {
  const given = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined && !(Array.isArray(value) && value.length === 0)));
  const result = ConfigFile.safeParse(given);
  if (result.success) return null;
  const issue = result.error.issues[0]!;
  const field = issue.path[0] as keyof ConfigFile;
  const flag = flagOfField[field] ?? String(field);
  const value = given[field];
  const shown = Array.isArray(value) && typeof issue.path[1] === 'number' ? value[issue.path[1]] : value;
  const problem = describeIssue(issue);
  if (typeof shown === 'string' && field !== 'token' && problem.includes(shown)) return `${flag}: ${problem}`;
  const received = field === 'token' ? `${String(shown).length} 个字符` : JSON.stringify(shown);
  return `${flag}: ${problem} (收到 ${received})`;
}
