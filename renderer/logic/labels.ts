/**
 * Every word the doctor reads for a protocol value, in one place so the popup, the status
 * window and the tests agree. Levels always carry a word and a symbol as well as a colour,
 * because a red/amber difference alone is lost on colour-blind eyes and washed-out ward screens.
 */
import type { Action, Finding, Result } from '../../app/core/protocol/messages';

export type Level = Finding['level'];

/** The per-line actions the doctor picks from; `revise` belongs to the whole order. */
export type LineAction = Exclude<Action, 'revise'>;

export const levelLabel: Record<Level, string> = { block: '拦截', warn: '提醒' };

export const actionLabel: Record<Action, string> = {
  selfpay: '转自费',
  remove: '删除',
  continue: '继续',
  revise: '返回修改',
  attest: '符合限定条件',
};

export const resultLabel: Record<Result, string> = {
  pass: '通过',
  warn: '提醒',
  block: '拦截',
  unchecked: '未能审核',
};

export const resultHeadline: Record<Result, string> = {
  pass: '医保审核通过',
  warn: '医保提醒: 可继续, 须说明理由',
  block: '医保拦截: 须处理后才能保存',
  unchecked: '未能完成医保审核',
};

export const kindLabel: Record<Finding['kind'], string> = {
  indication: '限定支付范围',
  chronic: '慢特病用药范围',
  repeat: '重复开药',
  days: '用药天数',
  herbal: '中药饮片味数',
  limit: '数量与频次',
};

export const visitTypeLabel: Record<string, string> = {
  outpatient: '门诊',
  emergency: '急诊',
  inpatient: '住院',
};

/** 医疗类别 codes the ward sees every day; other codes are shown as they are. */
export const medTypeLabel: Record<string, string> = {
  '11': '普通门诊',
  '12': '门诊挂号',
  '13': '急诊',
  '14': '门诊慢特病',
  '21': '普通住院',
  '51': '生育门诊',
  '52': '生育住院',
};

export const genderLabel: Record<'M' | 'F', string> = { M: '男', F: '女' };
