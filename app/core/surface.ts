/**
 * What the localhost server needs of the agent. The server depends on this and on the
 * services' own types, never on the agent module, so there is no import cycle: the agent
 * creates the server, the server never reaches back into how the agent is put together.
 */
import type { CheckService } from './check-service';
import type { TypedEvents } from './events';
import type { NhsaService } from './nhsa-service';
import type { AgentBridge, RulesStatus, StatusView } from './protocol/ui';

export interface AgentSurface {
  readonly checks: CheckService;
  readonly nhsa: NhsaService;
  readonly events: TypedEvents<{ status: [StatusView] }>;
  readonly bridge: AgentBridge;
  now(): Date;
  status(): StatusView;
  syncNow(): Promise<string>;
  reloadRules(): RulesStatus | null;
  clientsChanged(): void;
}
