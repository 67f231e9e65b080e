/**
 * Reasons doctors give most often for continuing past a warning, offered as one-click choices.
 * Free text is always possible as well; the national 3103 feedback only asks that a reason
 * exists, so these are worded the way insurance reviewers read them.
 */
import type { Finding } from '../../app/core/protocol/messages';

const common = ['患者病情需要', '已核实诊断', '患者知情同意'];

/** Extra choices that only make sense for particular rule kinds. */
const byKind: Partial<Record<Finding['kind'], string[]>> = {
  repeat: ['跨科室续方', '原处方药品已用完或遗失', '调整剂量'],
  days: ['慢性病长期用药', '行动不便, 取药困难'],
  indication: ['诊断已在他处记录'],
  chronic: ['慢特病病情需要'],
  herbal: ['病情复杂, 需加味'],
};

/** The choices shown for one finding: the common ones, then the ones for its kind. */
export function commonReasons(kind: Finding['kind']): string[] {
  return [...common, ...(byKind[kind] ?? [])];
}
