/** The project root: handler entries and the lock file are resolved from it, whatever the cwd. */
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
