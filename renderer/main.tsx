/**
 * The renderer's entry: pick the bridge, build the store, render. The same bundle runs in
 * Electron's popup and status windows and in a browser window opened by the headless agent.
 */
import { createRoot } from 'react-dom/client';
import { openBridge } from './bridge';
import { App } from './components/App';
import { StoreProvider } from './components/store-context';
import { connectStore, createAppStore, type AppStore } from './store/store';
import './styles.css';

function start(): void {
  const container = document.getElementById('root');
  if (!container) return;
  // The bridge reports connection changes before the store exists; they are passed on once it does.
  let store: AppStore | null = null;
  const opened = openBridge((state, message) => store?.getState().setConnection(state, message));
  if ('error' in opened) {
    container.innerHTML = '';
    const message = document.createElement('p');
    message.className = 'banner banner--alarm';
    message.textContent = opened.error;
    container.append(message);
    return;
  }
  store = createAppStore(opened.bridge);
  connectStore(store, opened.bridge);
  createRoot(container).render(
    <StoreProvider store={store}>
      <App view={opened.view} />
    </StoreProvider>,
  );
}

start();
