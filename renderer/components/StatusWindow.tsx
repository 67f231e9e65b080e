import { anchorStateLabel } from '../../app/core/format';
import { formatAgo, formatDate, formatDateTime } from '../logic/format';
import { resultLabel } from '../logic/labels';
import { hisClients, rulesHealth, sourceLabel, syncStateLabel, syncSeverity } from '../logic/status';
import { LevelIcon } from './LevelBadge';
import { useAppStore } from './store-context';

const kindNames: Record<string, string> = {
  indication: '限定支付',
  chronic: '慢特病',
  repeat: '重复开药',
  days: '用药天数',
  herbal: '中药味数',
  limit: '数量频次',
};

const hubStateLabel: Record<'idle' | 'delivering' | 'retrying' | 'refused', string> = {
  idle: '已全部送达',
  delivering: '正在发送',
  retrying: '院端暂时连不上, 稍后重试 (检查不受影响)',
  refused: '院端拒绝了本机 (凭据被吊销或事件有误), 请联系信息科',
};

/** The status window: rule library, sync, HIS connections, recent checks (no patient data). */
export function StatusWindow({ onOpenPopup }: { onOpenPopup?: () => void }) {
  const status = useAppStore((state) => state.status);
  const connection = useAppStore((state) => state.connection);
  const connectionMessage = useAppStore((state) => state.connectionMessage);
  const syncing = useAppStore((state) => state.syncing);
  const syncMessage = useAppStore((state) => state.syncMessage);
  const syncNow = useAppStore((state) => state.syncNow);

  if (!status) {
    return (
      <main className="status" data-testid="status">
        <h1>RxGate 医保事前提醒助手</h1>
        <p className={connection === 'lost' ? 'banner banner--alarm' : 'banner'}>
          {connection === 'lost' ? connectionMessage ?? '无法连接 RxGate 助手' : '正在连接 RxGate 助手…'}
        </p>
      </main>
    );
  }

  const health = rulesHealth(status.rules);
  const rules = status.rules;
  const clients = hisClients(status);
  const sync = status.sync;

  return (
    <main className="status" data-testid="status">
      <header className="status-header">
        <h1>RxGate 医保事前提醒助手</h1>
        <span className="status-meta">
          版本 {status.agentVersion} · 端口 {status.port} · 启动于 {formatDateTime(status.startedAt)}
        </span>
      </header>

      {connection === 'lost' ? (
        <p className="banner banner--alarm" role="alert">
          {connectionMessage ?? '与 RxGate 助手的连接已断开'}
        </p>
      ) : null}
      {health.severity !== 'ok' ? (
        <p className={`banner banner--${health.severity}`} role={health.severity === 'alarm' ? 'alert' : undefined} data-testid="rules-banner">
          <LevelIcon level={health.severity === 'alarm' ? 'block' : 'warn'} /> {health.text}
        </p>
      ) : null}
      {!status.integrity.ok ? (
        <div className="banner banner--alarm" role="alert" data-testid="integrity-banner">
          <LevelIcon level="block" /> 本机数据完整性有问题, 请通知信息科:
          <ul>
            {status.integrity.problems.map((problem) => (
              <li key={problem}>{problem}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {status.pendingCount > 0 && onOpenPopup ? (
        <p className="banner banner--notice">
          有 {status.pendingCount} 张处方等待处理{' '}
          <button type="button" className="button" onClick={onOpenPopup}>
            打开提醒
          </button>
        </p>
      ) : null}

      <div className="status-grid">
        <section className="card" aria-labelledby="rules-title" data-testid="status-rules">
          <h2 id="rules-title">规则库</h2>
          {rules ? (
            <dl className="pairs">
              <dt>版本</dt>
              <dd className="big">v{rules.version}</dd>
              <dt>来源</dt>
              <dd>{sourceLabel[rules.source] ?? rules.source}</dd>
              <dt>规则数</dt>
              <dd>
                {rules.ruleCount.toLocaleString('zh-CN')} 条
                <span className="muted">
                  {' '}
                  (
                  {Object.entries(rules.counts)
                    .map(([kind, count]) => `${kindNames[kind] ?? kind} ${count}`)
                    .join(' · ')}
                  )
                </span>
              </dd>
              <dt>发布</dt>
              <dd data-testid="rules-published">
                {rules.publishedAt ? (
                  <>
                    {formatDate(rules.publishedAt)}
                    {rules.ageDays !== undefined ? <span className="muted"> ({rules.ageDays} 天前)</span> : null}
                  </>
                ) : rules.source === 'demo' ? (
                  // The demo library was never published: the day it was loaded says nothing of its age.
                  '随程序内置, 仅供演示'
                ) : (
                  <span className="muted">未注明</span>
                )}
              </dd>
              <dt>有效期至</dt>
              <dd className={rules.expired ? 'alarm-text' : undefined} data-testid="rules-expiry">
                {rules.expiresAt ? formatDate(rules.expiresAt) : '长期'}
                {rules.expired ? ' (已过期)' : ''}
              </dd>
              <dt>本机生效</dt>
              <dd>{formatDateTime(rules.appliedAt)}</dd>
            </dl>
          ) : (
            <p className="alarm-text">未加载规则库</p>
          )}
        </section>

        <section className="card" aria-labelledby="sync-title" data-testid="status-sync">
          <h2 id="sync-title">规则同步</h2>
          <dl className="pairs">
            <dt>状态</dt>
            <dd className={syncSeverity(sync) === 'notice' ? 'notice-text' : undefined}>{syncStateLabel[sync.state]}</dd>
            <dt>上次同步</dt>
            <dd>
              {formatDateTime(sync.lastAttemptAt)}
              {sync.lastAttemptAt ? <span className="muted"> ({formatAgo(sync.lastAttemptAt)})</span> : null}
            </dd>
            <dt>结果</dt>
            <dd data-testid="sync-result">{sync.lastResult ?? '—'}</dd>
            <dt>上次成功</dt>
            <dd>{formatDateTime(sync.lastSuccessAt)}</dd>
            <dt>下次同步</dt>
            <dd>{formatDateTime(sync.nextAttemptAt)}</dd>
            <dt>服务器</dt>
            <dd className="servers">{sync.servers.length > 0 ? sync.servers.join('\n') : '未配置'}</dd>
          </dl>
          <div className="sync-actions">
            <button
              type="button"
              className="button button--confirm"
              data-testid="sync-now"
              disabled={syncing || !sync.configured}
              onClick={() => void syncNow()}
            >
              {syncing ? '正在同步…' : '立即同步'}
            </button>
            {!sync.configured ? (
              <span className="muted" data-testid="sync-unconfigured">
                未配置规则服务器, 无从同步: 由信息科在配置文件的 servers 中填写
              </span>
            ) : null}
            {syncMessage ? (
              <span className={syncMessage.ok ? 'muted' : 'notice-text'} data-testid="sync-message" role="status">
                {syncMessage.text}
              </span>
            ) : null}
          </div>
        </section>

        {status.hub ? (
          <section className="card" aria-labelledby="hub-title" data-testid="status-hub">
            <h2 id="hub-title">院端中心</h2>
            <dl className="pairs">
              <dt>投递</dt>
              <dd className={status.hub.state === 'idle' || status.hub.state === 'delivering' ? undefined : 'notice-text'}>
                {hubStateLabel[status.hub.state]}
              </dd>
              <dt>待发送</dt>
              <dd data-testid="hub-backlog">{status.hub.backlog} 条</dd>
              <dt>上次送达</dt>
              <dd>{formatDateTime(status.hub.lastDeliveredAt)}</dd>
              {status.hub.lastError ? (
                <>
                  <dt>上次错误</dt>
                  <dd className="notice-text">{status.hub.lastError.message}</dd>
                </>
              ) : null}
              {status.hub.anchor && status.hub.anchor.state !== 'ok' && status.hub.anchor.state !== 'none' ? (
                <>
                  <dt>审计锚点</dt>
                  <dd className="alarm-text">
                    院端发现本机审计记录{anchorStateLabel(status.hub.anchor.state)}
                    {status.hub.anchor.detail ? `: ${status.hub.anchor.detail}` : ''} (请信息科核查)
                  </dd>
                </>
              ) : null}
            </dl>
          </section>
        ) : null}

        <section className="card" aria-labelledby="clients-title" data-testid="status-clients">
          <h2 id="clients-title">已连接的 HIS ({clients.length})</h2>
          {clients.length === 0 ? (
            <p className="muted">暂无 HIS 连接</p>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">方式</th>
                  <th scope="col">来源</th>
                  <th scope="col">连接时间</th>
                </tr>
              </thead>
              <tbody>
                {clients.map((client) => (
                  <tr key={client.id}>
                    <td>{client.transport === 'ws' ? 'WebSocket' : 'HTTP'}</td>
                    <td>{client.origin ?? '本机程序 (令牌)'}</td>
                    <td>{formatDateTime(client.connectedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>

        <section className="card" aria-labelledby="checks-title" data-testid="status-checks">
          <h2 id="checks-title">最近审核</h2>
          <p className="totals">
            共 <strong>{status.checks.total}</strong> 次 ·{' '}
            {(['pass', 'warn', 'block', 'unchecked'] as const).map((result) => (
              <span key={result} className={`total total--${result}`}>
                {resultLabel[result]} {status.checks.byResult[result] ?? 0}
              </span>
            ))}
          </p>
          {status.checks.recent.length === 0 ? (
            <p className="muted">启动以来尚无审核</p>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">时间</th>
                  <th scope="col">结果</th>
                  <th scope="col">提示数</th>
                  <th scope="col">耗时</th>
                  <th scope="col">接口</th>
                </tr>
              </thead>
              <tbody>
                {status.checks.recent.slice(0, 10).map((check, index) => (
                  <tr key={`${check.at}-${index}`}>
                    <td>{formatDateTime(check.at)}</td>
                    <td>
                      <span className={`total total--${check.result}`}>{resultLabel[check.result]}</span>
                    </td>
                    <td>{check.findingCount}</td>
                    <td>{check.elapsedMs.toFixed(1)} ms</td>
                    <td>{check.source === 'nhsa' ? '国家接口 3101' : 'RxGate'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </main>
  );
}
