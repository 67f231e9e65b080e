/**
 * What the page was opened with. The agent opens the UI at `/ui/#token=…` (a fragment, so the
 * token never reaches a server log); Electron opens `#view=popup` or `#view=status`.
 */

export type View = 'popup' | 'status' | 'auto';

export interface LaunchParameters {
  token?: string;
  view: View;
}

/** Parses `#token=…&view=…`; unknown views fall back to `auto`. */
export function readLaunchParameters(hash: string): LaunchParameters {
  const parameters = new URLSearchParams(hash.replace(/^#/, ''));
  const view = parameters.get('view');
  return {
    token: parameters.get('token') || undefined,
    view: view === 'popup' || view === 'status' ? view : 'auto',
  };
}

/** The fragment to leave in the address bar once the token has been taken out of it. */
export function fragmentWithoutToken(hash: string): string {
  const parameters = new URLSearchParams(hash.replace(/^#/, ''));
  parameters.delete('token');
  const rest = parameters.toString();
  return rest ? `#${rest}` : '';
}
