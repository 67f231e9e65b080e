/**
 * Every error code the agent answers with, in one table: its HTTP status, where it appears,
 * what it means and what the HIS should do. The protocol's `ErrorReply.code` is this enum, the
 * published JSON Schema lists it, and the table in docs/protocol.md is generated from it
 * (`npm run schemas`; a test fails when the document is stale).
 */
export interface ErrorCodeInfo {
  /** HTTP status on the HTTP transport; null where the code never travels over HTTP. */
  status: number | null;
  where: string;
  meaning: string;
  action: string;
}

export const ERROR_CODES = {
  unauthorized: { status: 401, where: '升级 / HTTP', meaning: '没有令牌或令牌不对', action: '检查令牌文件和请求头' },
  forbidden: {
    status: 403,
    where: '升级 / HTTP',
    meaning: '`Host` 不是本机名；`Origin` 不在白名单；界面通道来源不对',
    action: '用 `127.0.0.1`；配置白名单；原生客户端不要发 `Origin`',
  },
  not_found: { status: 404, where: '升级 / HTTP', meaning: '路径不存在', action: '' },
  method_not_allowed: { status: 405, where: 'HTTP', meaning: '方法不对（见 `Allow` 头）', action: '' },
  bad_request: {
    status: 400,
    where: 'HTTP `OPTIONS`；HTTP 路径；`/v1/attest`；界面静态文件',
    meaning: '预检请求没有 `Origin` 头；路径的百分号编码无效；`challenge` 不合格式；界面文件路径无效',
    action: '原生客户端不需要发 `OPTIONS`',
  },
  bad_json: { status: 400, where: 'WS / HTTP', meaning: '不是合法 JSON（HTTP 空请求体也是）', action: '' },
  bad_frame: { status: 400, where: 'WS / HTTP', meaning: '二进制帧；JSON 不是对象（`path: "$"`）', action: '' },
  too_large: {
    status: 413,
    where: 'WS / HTTP；`/nhsa…` 的 `err_msg` 文字',
    meaning: '超过 `maxFrameBytes`（WebSocket 上没有 HTTP 状态；`/nhsa…` 为 413 + `infcode: -1` 的国家信封）',
    action: '减少 `history`',
  },
  too_complex: {
    status: 413,
    where: 'WS / HTTP；3101 的 `err_msg`',
    meaning: '一次检查的工作量超过上限：处方行数 × (历史条数 + 1) > 100000（在校验之前判断，不占用其他检查的时间）',
    action: '只发送近一年的 `history`；或把处方拆成几次检查',
  },
  invalid: {
    status: 400,
    where: 'WS / HTTP；3101/3103 的 `err_msg`',
    meaning: '模式校验失败：`path` 是第一处，`issues` 列出全部',
    action: '按 `issues` 逐条修正',
  },
  unknown_type: {
    status: null,
    where: 'WS',
    meaning: '`type` 不是 `check`/`commit`/`cancel`/`status`，或没有 `type`（`path: "$.type"`）',
    action: '',
  },
  unknown_check: {
    status: 404,
    where: 'WS / HTTP；3103 的 `err_msg`',
    meaning: '代理不认识这个检查（从未检查、已超出最近 500 个、代理重启过；3103 的 `jr_id` 找不到）',
    action: '提交：可忽略或重新检查后提交；轮询：停止',
  },
  revised: { status: 409, where: '`commit`', meaning: '医生选了返回修改', action: '让医生修改后重新 `check`' },
  cancelled: { status: 410, where: '长轮询', meaning: '检查已取消', action: '停止轮询' },
  decision_timeout: {
    status: 408,
    where: '长轮询；WS 推送',
    meaning: '医生未在规定时间内处理',
    action: '按 HIS 策略处理（通常视为未处理，提示医生重新检查）',
  },
  committed: {
    status: 409,
    where: '长轮询',
    meaning: '医生还没处理，HIS 已经 `commit`（弹窗已关闭）；或提交过的、不需要处理的检查',
    action: '停止轮询（医嘱已按 HIS 的决定保存）',
  },
  no_decision: {
    status: 409,
    where: '长轮询',
    meaning: '这个检查不需要医生处理（`pass`/`unchecked`/`ui=none`）',
    action: '停止轮询，以 `verdict` 为准',
  },
  not_pending: { status: null, where: '只在界面通道', meaning: '弹窗处理了一个不在等待中的检查', action: '—（HIS 不会收到）' },
  already_decided: { status: null, where: '只在界面通道', meaning: '弹窗处理了一个已处理的检查', action: '—（HIS 不会收到）' },
  unknown_line: { status: null, where: '弹窗；3103 的 `err_msg` 文字', meaning: '选择里的行号不在这个检查里', action: '' },
  duplicate_line: { status: null, where: '弹窗；3103 的 `err_msg` 文字', meaning: '同一行给了两个处理', action: '' },
  bad_action: { status: null, where: '弹窗；3103 的 `err_msg` 文字', meaning: '不认识的处理方式', action: '' },
  action_not_offered: {
    status: null,
    where: '弹窗；3103 的 `err_msg` 文字',
    meaning: '这一行的提醒没有提供这个处理方式',
    action: '',
  },
  unknown_finding: { status: null, where: '弹窗；3103 的 `err_msg` 文字', meaning: '理由对应的提醒不存在', action: '' },
  block_not_resolved: {
    status: null,
    where: '弹窗；3103 的 `err_msg` 文字',
    meaning: '拦截项既没有删除、转自费，也没有返回修改',
    action: '3103：拦截项反馈“返回修改”',
  },
  reason_required: {
    status: null,
    where: '弹窗；3103 的 `err_msg` 文字',
    meaning: '继续越过提醒时没有填写理由',
    action: '3103：`dspo_way` 1 时填写 `dspo_way_rea`',
  },
  bad_attested: {
    status: null,
    where: '弹窗',
    meaning: '符合限定条件 (`attest`) 没有带上所确认的条件文字',
    action: '',
  },
  unknown_attested: {
    status: null,
    where: '弹窗',
    meaning: '确认的条件文字不是这一行的提醒所要求确认的',
    action: '',
  },
  attest_incomplete: {
    status: null,
    where: '弹窗',
    meaning: '符合限定条件时, 这一行要求确认的条件没有全部确认',
    action: '',
  },
  ui_not_built: { status: 503, where: '界面静态文件', meaning: 'RxGate 界面未构建', action: '—（与 HIS 无关）' },
  internal: {
    status: 500,
    where: 'WS / HTTP',
    meaning: '代理内部错误（详情只写入代理日志）',
    action: '按 `unchecked` 处理，联系信息科',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes as a tuple, for `z.enum`. */
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** The Markdown table docs/protocol.md carries between its error-code markers. */
export function errorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, info]: [string, ErrorCodeInfo]) => `| \`${code}\` | ${info.where} | ${info.status ?? '—'} | ${info.meaning} | ${info.action} |`,
  );
  return ['| `code` | 出现在 | HTTP 状态 | 含义 | HIS 应该 |', '|---|---|---|---|---|', ...rows].join('\n');
}
