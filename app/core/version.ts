/** The agent's version, reported in `status` and compared with a pack's `minAgentVersion`. */
export const AGENT_VERSION: string = (require('../../package.json') as { version: string }).version;
