/** The console's pages. Each loads its own data; the hub decides what a role may see. */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { DecisionRow, FleetRow, RankingRow, RuleActivityRow } from '../store/hub-store';
import { api, day, formatTime, query } from './api';
import { BarChart, Sparkline } from './charts';

const KIND_LABELS: Record<string, string> = { override: '继续使用', attestation: '符合限定条件', selfpay: '转自费' };
/** An agent not heard from for this long is shown as stale. */
const STALE_MS = 24 * 3_600_000;

function useLoad<T>(load: () => Promise<T>, dependencies: unknown[]): { data: T | null; error: string; reload(): void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && (setData(value), setError('')),
      (failure: Error) => current && setError(failure.message),
    );
    return () => {
      current = false;
    };
    // The caller names what its load function depends on; the function itself is new each render.
  }, [...dependencies, round]);
  return { data, error, reload: useCallback(() => setRound((value) => value + 1), []) };
}

export function ReviewPage() {
  const [filters, setFilters] = useState({ from: day(-30), to: day(0), rule: '', dept: '', doctor: '', kind: '', reviewed: 'no' });
  const [applied, setApplied] = useState(filters);
  const search = query(applied);
  const { data, error, reload } = useLoad(() => api.get<{ rows: DecisionRow[] }>(`/decisions${search}`), [search]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setApplied(filters);
  };
  const field = (name: keyof typeof filters, label: string, type = 'text') => (
    <label>
      {label}
      <input type={type} name={name} value={filters[name]} onChange={(event) => setFilters({ ...filters, [name]: event.target.value })} />
    </label>
  );
  return (
    <>
      <section>
        <form className="filters" onSubmit={submit} data-testid="review-filters">
          {field('from', '开始日期', 'date')}
          {field('to', '结束日期', 'date')}
          {field('rule', '规则编号')}
          {field('dept', '科室')}
          {field('doctor', '医师')}
          <label>
            类型
            <select name="kind" value={filters.kind} onChange={(event) => setFilters({ ...filters, kind: event.target.value })}>
              <option value="">继续使用和符合限定条件</option>
              <option value="override">继续使用</option>
              <option value="attestation">符合限定条件</option>
              <option value="selfpay">转自费</option>
              <option value="all">全部</option>
            </select>
          </label>
          <label>
            复核状态
            <select name="reviewed" value={filters.reviewed} onChange={(event) => setFilters({ ...filters, reviewed: event.target.value })}>
              <option value="no">待复核</option>
              <option value="yes">已复核</option>
              <option value="">全部</option>
            </select>
          </label>
          <button className="primary" type="submit">
            查询
          </button>
          <a className="button" href={`/console/api/decisions.csv${search}`} download data-testid="export-csv">
            导出 CSV
          </a>
          <a className="button" href={`/console/api/decisions.xlsx${search}`} download data-testid="export-xlsx">
            导出 Excel
          </a>
        </form>
      </section>
      <section>
        <h2>待复核的继续使用与符合限定条件 {data ? <span className="muted">({data.rows.length} 条)</span> : null}</h2>
        {error && <p className="error">{error}</p>}
        <table data-testid="review-table">
          <thead>
            <tr>
              <th>时间</th>
              <th>类型</th>
              <th>规则</th>
              <th>项目</th>
              <th>理由</th>
              <th>科室</th>
              <th>医师</th>
              <th>工作站</th>
              <th>患者标识</th>
              <th>复核</th>
            </tr>
          </thead>
          <tbody>
            {data?.rows.map((row) => <ReviewRow key={row.id} row={row} onReviewed={reload} />)}
            {data && data.rows.length === 0 && (
              <tr>
                <td colSpan={10} className="muted">
                  没有符合条件的记录
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
    </>
  );
}

function ReviewRow({ row, onReviewed }: { row: DecisionRow; onReviewed(): void }) {
  const [note, setNote] = useState('');
  const [open, setOpen] = useState(false);
  const [error, setError] = useState('');
  const save = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api.post(`/decisions/${row.id}/review`, { note });
      setOpen(false);
      onReviewed();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <tr data-testid="review-row" data-decision-id={row.id}>
      <td>{formatTime(row.at)}</td>
      <td>
        <span className={`tag ${row.level === 'block' ? 'tag--alarm' : 'tag--warn'}`}>{KIND_LABELS[row.kind] ?? row.kind}</span>
      </td>
      <td>{row.ruleId}</td>
      <td>{row.itemName ?? row.itemCode}</td>
      <td data-testid="reason">{row.reason ?? <span className="muted">(无)</span>}</td>
      <td>{row.deptName ?? row.deptCode}</td>
      <td>{row.doctorName ?? row.doctorCode}</td>
      <td>{row.pcName}</td>
      <td className="muted">{row.patientRef}</td>
      <td>
        {row.reviewedAt ? (
          <span title={formatTime(row.reviewedAt)}>
            {row.reviewedBy}: {row.reviewNote || '已复核'}
          </span>
        ) : open ? (
          <form className="actions" onSubmit={save}>
            <input aria-label="复核意见" value={note} onChange={(event) => setNote(event.target.value)} placeholder="复核意见" />
            <button className="primary" type="submit">
              保存
            </button>
            {error && <span className="error">{error}</span>}
          </form>
        ) : (
          <button type="button" onClick={() => setOpen(true)}>
            标记已复核
          </button>
        )}
      </td>
    </tr>
  );
}

export function RulesPage() {
  const { data, error } = useLoad(() => api.get<{ rules: RuleActivityRow[] }>(`/rules${query({ from: day(-27), to: day(0) })}`), []);
  const rules = data?.rules ?? [];
  const fired = rules.filter((rule) => rule.findings > 0 || rule.overrides > 0);
  const never = rules.filter((rule) => rule.findings === 0 && rule.overrides === 0 && rule.attestations === 0 && rule.selfpay === 0);
  const mostOverridden = [...fired].sort((a, b) => b.overrides - a.overrides).filter((rule) => rule.overrides > 0).slice(0, 10);
  return (
    <>
      {error && <p className="error">{error}</p>}
      <div className="charts">
        <section>
          <h2>最常被继续使用的规则 (近 28 天, 待修订的候选)</h2>
          <BarChart title="最常被继续使用的规则" bars={mostOverridden.map((rule) => ({ label: rule.ruleId, value: rule.overrides, extra: rule.attestations }))} />
          <p className="muted">红色: 继续使用; 橙色: 符合限定条件</p>
        </section>
        <section data-testid="never-fired">
          <h2>从未触发的规则 ({never.length})</h2>
          <p>{never.length ? never.map((rule) => rule.ruleId).join('、') : <span className="muted">没有</span>}</p>
        </section>
      </div>
      <section>
        <h2>规则活跃度 (近 28 天)</h2>
        <table data-testid="rules-table">
          <thead>
            <tr>
              <th>规则</th>
              <th className="number">提示</th>
              <th className="number">继续使用</th>
              <th className="number">符合限定条件</th>
              <th className="number">转自费</th>
              <th className="number">继续使用率</th>
              <th>每日提示趋势</th>
            </tr>
          </thead>
          <tbody>
            {fired.map((rule) => (
              <tr key={rule.ruleId} data-rule-id={rule.ruleId}>
                <td>{rule.ruleId}</td>
                <td className="number">{rule.findings}</td>
                <td className="number">{rule.overrides}</td>
                <td className="number">{rule.attestations}</td>
                <td className="number">{rule.selfpay}</td>
                <td className="number">{rule.findings ? `${Math.round((rule.overrides / rule.findings) * 100)}%` : '—'}</td>
                <td>
                  <Sparkline values={rule.trend} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}

export function RankingPage() {
  const { data, error } = useLoad(() => api.get<{ doctors: RankingRow[]; departments: RankingRow[] }>(`/ranking${query({ from: day(-30), to: day(0) })}`), []);
  const table = (rows: RankingRow[], testId: string, withDept: boolean) => (
    <table data-testid={testId}>
      <thead>
        <tr>
          <th>{withDept ? '医师' : '科室'}</th>
          {withDept && <th>科室</th>}
          <th className="number">继续使用</th>
          <th className="number">符合限定条件</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.code ?? row.name ?? ''}>
            <td>{row.name ?? row.code ?? '(未填写)'}</td>
            {withDept && <td>{row.dept}</td>}
            <td className="number">{row.overrides}</td>
            <td className="number">{row.attestations}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
  return (
    <>
      {error && <p className="error">{error}</p>}
      <div className="charts">
        <section>
          <h2>医师 (近 30 天, 按继续使用次数)</h2>
          <BarChart title="医师继续使用次数" bars={(data?.doctors ?? []).slice(0, 15).map((row) => ({ label: row.name ?? row.code ?? '?', value: row.overrides, extra: row.attestations }))} />
          {table(data?.doctors ?? [], 'doctor-ranking', true)}
        </section>
        <section>
          <h2>科室 (近 30 天, 按继续使用次数)</h2>
          <BarChart title="科室继续使用次数" bars={(data?.departments ?? []).slice(0, 15).map((row) => ({ label: row.name ?? row.code ?? '?', value: row.overrides, extra: row.attestations }))} />
          {table(data?.departments ?? [], 'dept-ranking', false)}
        </section>
      </div>
    </>
  );
}

const SYNC_LABELS: Record<string, string> = { applied: '已更新', up_to_date: '已是最新', failed: '失败' };
const ANCHOR_LABELS: Record<string, string> = { none: '未锚定', ok: '正常', truncated: '审计被截断', rewritten: '审计被改写' };

export function FleetPage() {
  const { data, error, reload } = useLoad(() => api.get<{ now: string; agents: FleetRow[] }>('/fleet'), []);
  const [code, setCode] = useState<{ code: string; expiresAt: string } | null>(null);
  const [actionError, setActionError] = useState('');
  const act = async (path: string, confirmText: string) => {
    if (!window.confirm(confirmText)) return;
    try {
      await api.post(path);
      reload();
    } catch (failure) {
      setActionError((failure as Error).message);
    }
  };
  const now = data ? new Date(data.now).getTime() : 0;
  return (
    <>
      <section>
        <div className="actions">
          <button
            className="primary"
            type="button"
            onClick={() => api.post<{ code: string; expiresAt: string }>('/enrol-codes').then(setCode, (failure: Error) => setActionError(failure.message))}
          >
            生成登记码
          </button>
          {code && (
            <span data-testid="enrol-code">
              <span className="code">{code.code}</span> <span className="muted">有效期至 {formatTime(code.expiresAt)}, 只能用一次</span>
            </span>
          )}
        </div>
        {(error || actionError) && <p className="error">{error || actionError}</p>}
      </section>
      <section>
        <h2>终端 ({data?.agents.length ?? 0} 台; 最久未联系的在前)</h2>
        <table data-testid="fleet-table">
          <thead>
            <tr>
              <th>工作站</th>
              <th>代理版本</th>
              <th>规则版本</th>
              <th>最近同步</th>
              <th>最后联系</th>
              <th className="number">待发送</th>
              <th>审计锚定</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {data?.agents.map((agent) => {
              const stale = !agent.lastSeen || now - new Date(agent.lastSeen).getTime() > STALE_MS;
              const flagged = agent.anchorState === 'truncated' || agent.anchorState === 'rewritten';
              return (
                <tr key={agent.agentId} data-agent-id={agent.agentId} className={flagged ? 'flagged' : stale ? 'stale' : ''}>
                  <td>
                    {agent.pcName}
                    {agent.revokedAt && <span className="tag tag--alarm"> 已吊销</span>}
                    <div className="muted">{agent.agentId}</div>
                  </td>
                  <td data-testid="agent-version">{agent.agentVersion ?? '—'}</td>
                  <td data-testid="rules-version">{agent.rulesVersion ?? '—'}</td>
                  <td>
                    {agent.syncResult ? (
                      <span className={`tag ${agent.syncResult === 'failed' ? 'tag--alarm' : 'tag--ok'}`} title={agent.syncMessage ?? ''}>
                        {SYNC_LABELS[agent.syncResult] ?? agent.syncResult}
                      </span>
                    ) : (
                      '—'
                    )}{' '}
                    <span className="muted">{formatTime(agent.syncAt)}</span>
                  </td>
                  <td>
                    {formatTime(agent.lastSeen)}
                    {stale && <span className="tag tag--warn"> 久未联系</span>}
                  </td>
                  <td className="number">{agent.outboxBacklog ?? '—'}</td>
                  <td data-testid="anchor-state">
                    <span className={`tag ${flagged ? 'tag--alarm' : agent.anchorState === 'ok' ? 'tag--ok' : ''}`} title={agent.anchorDetail ?? ''}>
                      {ANCHOR_LABELS[agent.anchorState] ?? agent.anchorState}
                    </span>
                    {flagged && <div className="muted">{agent.anchorDetail}</div>}
                  </td>
                  <td>
                    <div className="actions">
                      {flagged && (
                        <button type="button" onClick={() => void act(`/agents/${agent.agentId}/clear-anchor`, '确认已核查, 清除该终端的审计告警并重新开始锚定?')}>
                          清除告警
                        </button>
                      )}
                      {!agent.revokedAt && (
                        <button type="button" onClick={() => void act(`/agents/${agent.agentId}/revoke`, `吊销 ${agent.pcName} 的凭据? 之后它须重新登记。`)}>
                          吊销
                        </button>
                      )}
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    </>
  );
}

export function UsersPage() {
  const { data, error, reload } = useLoad(() => api.get<{ users: Array<{ username: string; role: string; createdAt: string; disabled: boolean }> }>('/users'), []);
  const [form, setForm] = useState({ username: '', password: '', role: 'reviewer' });
  const [message, setMessage] = useState('');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api.post('/users', form);
      setMessage(`已新建用户 ${form.username}`);
      setForm({ username: '', password: '', role: 'reviewer' });
      reload();
    } catch (failure) {
      setMessage((failure as Error).message);
    }
  };
  return (
    <>
      <section>
        <h2>新建用户</h2>
        <form className="filters" onSubmit={submit}>
          <label>
            用户名
            <input value={form.username} onChange={(event) => setForm({ ...form, username: event.target.value })} />
          </label>
          <label>
            初始密码 (至少 10 位)
            <input type="password" value={form.password} onChange={(event) => setForm({ ...form, password: event.target.value })} />
          </label>
          <label>
            角色
            <select value={form.role} onChange={(event) => setForm({ ...form, role: event.target.value })}>
              <option value="reviewer">复核 (医保办)</option>
              <option value="admin">管理 (信息科)</option>
            </select>
          </label>
          <button className="primary" type="submit">
            新建
          </button>
          {message && <span>{message}</span>}
        </form>
      </section>
      <section>
        <h2>用户</h2>
        {error && <p className="error">{error}</p>}
        <table>
          <thead>
            <tr>
              <th>用户名</th>
              <th>角色</th>
              <th>创建时间</th>
            </tr>
          </thead>
          <tbody>
            {data?.users.map((user) => (
              <tr key={user.username}>
                <td>{user.username}</td>
                <td>{user.role === 'admin' ? '管理 (信息科)' : '复核 (医保办)'}</td>
                <td>{formatTime(user.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
