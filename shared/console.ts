/**
 * Where the console is served and the headers it is served with. Side-effect free, so that the local
 * entry point can print the console's URL without loading a handler.
 */

/** The console's path on the API's origin: `GET /console` is its page, `GET /console/{file}` its files. */
export const CONSOLE_PATH = '/console';

/** The console's URL on a Governor whose base URL is `apiUrl` (`http://127.0.0.1:3000` → `…/console`). */
export function consoleUrl(apiUrl: string): string {
  return new URL(CONSOLE_PATH.slice(1), apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`).href;
}

/**
 * The console's Content-Security-Policy: its own scripts, styles and images only, no inline script or
 * style, API calls to its own origin only (the API it is served by), never framed.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
