/** The agent's version, reported in `status` and compared with a pack's `minAgentVersion`. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appRoot } from './paths';

// Read at run time from the app's own package.json, wherever the code runs from (source,
// dist/ or a packaged app), rather than compiled in.
export const AGENT_VERSION: string = (JSON.parse(readFileSync(join(appRoot(), 'package.json'), 'utf8')) as { version: string }).version;
