/**
 * GET /console and GET /console/{proxy+}: the console's built files (no key needed; the page then calls
 * this same API with the user's key). Served with the console's strict Content-Security-Policy; files
 * whose name carries a content hash are cached for good, the page itself is revalidated every time.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { consoleSite, getRoot } from '#shared/composition.ts';
import { CONSOLE_CSP } from '#shared/console.ts';
import { NotFoundError, UnavailableError } from '#shared/errors.ts';
import { httpFunction, type RouteHandler } from '../http.ts';

const root = getRoot();
const site = consoleSite(resolve(dirname(fileURLToPath(import.meta.url)), root.config.GOVERNOR_CONSOLE_DIR));

export const consoleFile: RouteHandler = async ({ event }) => {
  const name = event.pathParameters?.proxy ?? 'index.html';
  const file = await site.file(name).catch((cause: unknown) => {
    throw new UnavailableError('the console is not built: run npm run build', { cause });
  });
  if (!file) throw new NotFoundError(`the console has no file ${name}`);
  return {
    status: 200,
    text: file.body,
    headers: {
      'content-type': file.contentType,
      'content-security-policy': CONSOLE_CSP,
      'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag: file.etag,
    },
  };
};

export const handler = httpFunction(root.authenticate, {
  'GET /console': { handle: consoleFile },
  'GET /console/{proxy+}': { handle: consoleFile },
});
