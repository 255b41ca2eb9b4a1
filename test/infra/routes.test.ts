import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/paths.ts';
import { httpFunctions } from '../../infra/routes.ts';
import { routes as localRoutes } from '../../local/routes.ts';

const deployedRoutes = httpFunctions.flatMap((spec) => spec.routes.map((key) => ({ key, spec })));
// The handlers that key hashes read the secret when they load (and refuse to load without one).
process.env.GOVERNOR_HASH_SECRET ??= 'routes-test-hash-secret-0123456789abcdef';

describe('the deployed HTTP routes', () => {
  it('are exactly the routes the local server serves', () => {
    const local = localRoutes.map((r) => `${r.method} ${r.path}`).sort();
    const deployed = deployedRoutes.map((r) => r.key).sort();

    expect(deployed).toEqual(local);
  });

  it('run, for every route, the very handler module the local server runs', async () => {
    for (const route of localRoutes) {
      const key = `${route.method} ${route.path}`;
      const deployed = deployedRoutes.find((r) => r.key === key);
      const localHandler = await route.load();
      const deployedModule = (await import(join(PROJECT_ROOT, deployed?.spec.entry ?? 'missing'))) as {
        handler: unknown;
      };

      expect(deployedModule.handler, key).toBe(localHandler);
    }
  });

  it('give each function its own existing handler module', () => {
    const entries = httpFunctions.map((spec) => spec.entry);
    const names = httpFunctions.map((spec) => spec.name);

    expect(new Set(entries).size).toBe(entries.length);
    expect(new Set(names).size).toBe(names.length);
    for (const entry of entries) expect(existsSync(join(PROJECT_ROOT, entry)), entry).toBe(true);
  });
});
