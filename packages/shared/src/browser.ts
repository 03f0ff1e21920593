import { fileURLToPath } from 'node:url';

/**
 * The browser helpers the platform's pages and the instance's shell share (`format.js`,
 * `dom.js`, `http.js`): one library, served by both (the platform under `/assets/`, the
 * gateway under `/shell/shared/`). Beside `src/` here; beside `bin/` in the gateway's bundle.
 */
export const BROWSER_DIR = fileURLToPath(new URL('../browser/', import.meta.url));
