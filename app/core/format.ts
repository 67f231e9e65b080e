/**
 * Plain-text renderings of protocol replies for the command line (his-sim). Chinese, one
 * finding per line, so an integrator sees at a glance what fired and why.
 */
const resultLabel: Record<string, string> = { pass: '通过', warn: '提醒', block: '拦截', unchecked: '未检查' };
const levelLabel: Record<string, string> = { warn: '提醒', block: '拦截' };
const actionLabel: Record<string, string> = { continue: '继续', selfpay: '转自费', remove: '删除', revise: '返回修改' };

/** Rule kinds as IT reads them on the command line (the same words as the status window). */
export function ruleKindLabel(kind: string): string {
  return ({ indication: '限定支付', chronic: '慢特病', repeat: '重复开药', days: '用药天数', herbal: '中药味数' } as Record<string, string>)[kind] ?? kind;
}

/** The hub's flag on this PC's audit trail, as IT reads it (`truncated` → 被截断). */
export function anchorStateLabel(state: string): string {
  return ({ truncated: '被截断', rewritten: '被改写' } as Record<string, string>)[state] ?? state;
}

export function formatVerdict(verdict: Record<string, unknown>): string {
  const lines: string[] = [];
  const rules = verdict.rules as { version?: number } | undefined;
  lines.push(
    `检查 ${String(verdict.id)}: ${resultLabel[String(verdict.result)] ?? String(verdict.result)} (${String(verdict.result)})` +
      `${rules?.version !== undefined ? `  规则库版本 ${rules.version}` : ''}  用时 ${String(verdict.elapsedMs)} ms`,
  );
  if (verdict.reason) lines.push(`  原因: ${String(verdict.reason)}`);
  for (const finding of (verdict.findings as Array<Record<string, unknown>>) ?? []) {
    lines.push(
      `  [${levelLabel[String(finding.level)] ?? String(finding.level)}] ${String(finding.ruleId)} ${String(finding.title)} — 第 ${(finding.lines as string[]).join('、')} 行`,
    );
    lines.push(`      ${String(finding.message)}`);
    if (finding.basis) lines.push(`      依据: ${String(finding.basis)}`);
    lines.push(`      可选处理: ${(finding.actions as string[]).map((action) => actionLabel[action] ?? action).join(' / ')}`);
  }
  for (const summary of (verdict.chronic as Array<Record<string, unknown>> | undefined) ?? []) {
    const disease = summary.disease as { name?: string; code: string };
    const cap = summary.capAmount !== undefined ? ` / 上限 ${String(summary.capAmount)} 元` : '';
    lines.push(`  慢特病 ${disease.name ?? disease.code} ${String(summary.year)} 年累计: ${String(summary.amount)} 元${cap}, 数量 ${String(summary.quantity)}`);
  }
  return lines.join('\n');
}

export function formatDecision(decision: Record<string, unknown>): string {
  const outcome = decision.outcome === 'proceed' ? '确认 (proceed)' : '返回修改 (revise)';
  const lines = [`医生处理 ${String(decision.id)}: ${outcome}`];
  for (const entry of (decision.lines as Array<{ line: string; action: string }>) ?? []) {
    lines.push(`  第 ${entry.line} 行: ${actionLabel[entry.action] ?? entry.action}`);
  }
  for (const entry of (decision.reasons as Array<{ findingId: string; reason: string }>) ?? []) {
    lines.push(`  理由 (${entry.findingId}): ${entry.reason}`);
  }
  return lines.join('\n');
}

export function formatNhsaResponse(envelope: Record<string, unknown>): string {
  if (envelope.infcode !== 0) return `3101 错误 (infcode ${String(envelope.infcode)}): ${String(envelope.err_msg)}`;
  const results = ((envelope.output as { result?: Array<Record<string, unknown>> } | null)?.result ?? []);
  if (results.length === 0) return '3101 应答: 未发现违规 (result 为空)';
  const lines = [`3101 应答: ${results.length} 条`];
  for (const result of results) {
    const details = (result.judge_result_detail_dtos as Array<{ rx_id: string }>) ?? [];
    lines.push(
      `  [sev_deg ${String(result.sev_deg)}] ${String(result.rule_id)} ${String(result.rule_name)} — 医嘱 ${details.map((d) => d.rx_id).join('、')}`,
      `      ${String(result.vola_cont)}`,
      `      jr_id ${String(result.jr_id)}  金额 ${String(result.vola_amt)}`,
    );
  }
  return lines.join('\n');
}
