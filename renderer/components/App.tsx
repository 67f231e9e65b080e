import { useState } from 'react';
import type { View } from '../bridge/launch';
import { Popup } from './Popup';
import { StatusWindow } from './StatusWindow';
import { useAppStore } from './store-context';

/**
 * Electron opens two windows, `#view=popup` and `#view=status`. A browser window (headless
 * mode) has one: the popup while something waits for the doctor, the status otherwise.
 */
export function App({ view }: { view: View }) {
  const hasPending = useAppStore((state) => state.pending.length > 0);
  const connection = useAppStore((state) => state.connection);
  const connectionMessage = useAppStore((state) => state.connectionMessage);
  const [statusWanted, setStatusWanted] = useState(false);

  if (view === 'status') return <StatusWindow />;
  const lost = connection === 'lost' ? (
    <p className="banner banner--alarm connection-lost" role="alert">
      {connectionMessage ?? '与 RxGate 助手的连接已断开'}
    </p>
  ) : null;
  if (view === 'popup') {
    return (
      <>
        {lost}
        <Popup />
      </>
    );
  }
  if (hasPending && !statusWanted) {
    return (
      <>
        {lost}
        <Popup onShowStatus={() => setStatusWanted(true)} />
      </>
    );
  }
  return <StatusWindow onOpenPopup={hasPending ? () => setStatusWanted(false) : undefined} />;
}
