/**
 * Schema problems in the words hospital IT reads: zod's own messages are English
 * ("Too small: expected string to have >=16 characters", "Invalid ISO date"). A message a
 * schema wrote itself in Chinese is kept as written.
 */
import type { z } from 'zod';

const typeNames: Record<string, string> = {
  string: '文本 (加引号)',
  number: '数字',
  int: '整数',
  boolean: 'true 或 false',
  array: '数组 [...]',
  object: '对象 {...}',
};

const formatNames: Record<string, string> = {
  url: '完整网址, 带 http:// 或 https://',
  date: '有效日期 YYYY-MM-DD',
  datetime: '有效时间, 如 2026-12-31T23:59:59+08:00',
  email: '电子邮件地址',
};

function sizeWord(origin: unknown): { unit: string; what: string } {
  if (origin === 'string') return { what: '长度', unit: ' 个字符' };
  if (origin === 'array') return { what: '项数', unit: ' 项' };
  return { what: '值', unit: '' };
}

/** One schema problem as a Chinese sentence, without its path. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  if (/[\u4e00-\u9fff]/.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      // zod reports a missing field only in its English message.
      return /received undefined/.test(issue.message)
        ? `缺少此项, 应为${typeNames[issue.expected] ?? issue.expected}`
        : `类型不对, 应为${typeNames[issue.expected] ?? issue.expected}`;
    case 'too_small': {
      const { what, unit } = sizeWord(issue.origin);
      return `${what}至少为 ${String(issue.minimum)}${unit}${issue.inclusive === false ? ' (不含)' : ''}`;
    }
    case 'too_big': {
      const { what, unit } = sizeWord(issue.origin);
      return `${what}最多为 ${String(issue.maximum)}${unit}${issue.inclusive === false ? ' (不含)' : ''}`;
    }
    case 'invalid_format':
      return `格式不对, 应为${formatNames[issue.format] ?? issue.format}`;
    case 'unrecognized_keys':
      return `不认识的字段 ${issue.keys.map((key) => `"${key}"`).join(', ')} (检查拼写; 不认识的字段会被拒绝, 以免写错的设置被悄悄忽略)`;
    case 'invalid_value':
      return `取值应为 ${issue.values.map((value) => JSON.stringify(value)).join(' / ')} 之一`;
    case 'not_multiple_of':
      return `应为 ${String(issue.divisor)} 的倍数`;
    default:
      return `取值无效 (${issue.message})`;
  }
}

/** The path of an issue as IT would find it in a JSON file: `servers.1`, or `(根)`. */
export function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.map(String).join('.') || '(根)';
}
