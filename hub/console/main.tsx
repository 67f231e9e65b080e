/**
 * The hub console's entry: the login form, then the pages the signed-in role may use. The
 * insurance office (reviewer) reviews overrides and attestations; IT (admin) runs the fleet
 * and the users. Both see rule activity and the rankings, which hold no patient-level rows.
 */
import { useEffect, useState, type FormEvent, type ReactElement } from 'react';
import { createRoot } from 'react-dom/client';
import { api, rememberSession, type Session } from './api';
import { FleetPage, RankingPage, ReviewPage, RulesPage, UsersPage } from './pages';
import './console.css';

type PageName = 'review' | 'rules' | 'ranking' | 'fleet' | 'users';

const PAGES: Record<PageName, { title: string; roles: Array<Session['role']>; render(): ReactElement }> = {
  review: { title: '复核', roles: ['reviewer'], render: () => <ReviewPage /> },
  rules: { title: '规则活跃度', roles: ['reviewer', 'admin'], render: () => <RulesPage /> },
  ranking: { title: '医师与科室', roles: ['reviewer', 'admin'], render: () => <RankingPage /> },
  fleet: { title: '终端', roles: ['admin'], render: () => <FleetPage /> },
  users: { title: '用户', roles: ['admin'], render: () => <UsersPage /> },
};

function Login({ onLogin }: { onLogin(session: Session): void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      onLogin(await api.post<Session>('/login', { username, password }));
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <section className="login">
      <h2>RxGate 院端中心 登录</h2>
      <form onSubmit={submit} data-testid="login-form">
        <label>
          用户名
          <input name="username" autoComplete="username" value={username} onChange={(event) => setUsername(event.target.value)} />
        </label>
        <label>
          密码
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(event) => setPassword(event.target.value)} />
        </label>
        <button className="primary" type="submit">
          登录
        </button>
        {error && <p className="error" role="alert">{error}</p>}
      </form>
    </section>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [page, setPage] = useState<PageName>('review');
  const signIn = (value: Session | null) => {
    rememberSession(value);
    setSession(value);
    if (value) setPage(value.role === 'admin' ? 'fleet' : 'review');
  };
  useEffect(() => {
    api.get<Session>('/session').then(signIn, () => signIn(null));
  }, []);
  if (session === undefined) return null;
  if (session === null) return <Login onLogin={signIn} />;
  const allowed = (Object.keys(PAGES) as PageName[]).filter((name) => PAGES[name].roles.includes(session.role));
  const current = allowed.includes(page) ? page : allowed[0]!;
  return (
    <>
      <header>
        <h1>RxGate 院端中心</h1>
        <nav>
          {allowed.map((name) => (
            <button key={name} type="button" aria-current={name === current ? 'page' : undefined} onClick={() => setPage(name)}>
              {PAGES[name].title}
            </button>
          ))}
        </nav>
        <span className="who" data-testid="who">
          {session.username} ({session.role === 'admin' ? '信息科' : '医保办'})
          <button type="button" onClick={() => api.post('/logout').finally(() => signIn(null))}>
            退出
          </button>
        </span>
      </header>
      <main data-page={current}>{PAGES[current].render()}</main>
    </>
  );
}

const container = document.getElementById('root');
if (container) createRoot(container).render(<App />);
