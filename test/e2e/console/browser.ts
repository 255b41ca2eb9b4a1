/**
 * Debian's Chromium driven by playwright-core, for the console's browser tests. Where Chromium is
 * missing, the browser tests are skipped with one line saying so, unless GOVERNOR_BROWSER_TESTS=required
 * (CI), where a missing browser fails them.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import type { Clock } from '#shared/ports.ts';
import { PROJECT_ROOT } from '../../../infra/paths.ts';

export const CHROMIUM = process.env.GOVERNOR_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(PROJECT_ROOT, '.screenshots', 'console');
/** The screenshots the README shows, written there when GOVERNOR_UPDATE_DOCS=1. */
export const DOCS = join(PROJECT_ROOT, 'docs');

/** Whether the browser tests run here; says why not, once, when they do not. */
export function browserTestsRun(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.GOVERNOR_BROWSER_TESTS === 'required') {
    throw new Error(`the browser tests are required here, but there is no Chromium at ${CHROMIUM}`);
  }
  console.warn(
    `Console browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set GOVERNOR_CHROMIUM).`,
  );
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * A laptop screen, in a locale, with every Content-Security-Policy violation and page error recorded; on
 * `clock`'s time (moving on from it at the real pace) when given one: the stack's, so that the page's
 * today is the stack's whatever the hour the test runs at. This process's Date must be the real one:
 * Playwright stamps the page clock's installation with it, and a page compares that stamp with its own.
 */
export async function openPage(
  browser: Browser,
  { locale = 'en-US', width = 1280, height = 800, clock }: OpenPageOptions = {},
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ locale, viewport: { width, height }, acceptDownloads: true });
  context.setDefaultTimeout(15_000);
  if (clock) await context.clock.install({ time: clock.now() });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    // The browser logs every 4xx answer as an error; the flows provoke some (400, 401, 412) on purpose.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
  );
  return { context, page, problems };
}

export interface OpenPageOptions {
  locale?: string;
  width?: number;
  height?: number;
  clock?: Clock;
}

/** The whole page from its top (a sticky bar is drawn where the last scroll left it), or what a dialog covers. */
export async function screenshot(
  page: Page,
  name: string,
  { docs = false, fullPage = true } = {},
): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  if (fullPage) await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
  if (docs && process.env.GOVERNOR_UPDATE_DOCS === '1') {
    await mkdir(DOCS, { recursive: true });
    await page.screenshot({ path: join(DOCS, `console-${name}.png`), fullPage });
  }
}

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's WCAG 2.x A and AA checks (labels, names, contrast, …) on the page as it is. */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
  const source = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(source);
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: AxeViolation[] }> } }
    ).axe;
    const { violations } = await axe.run({ runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] });
    return violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
  });
}

/** Waits until the locator is visible (the page's own waiting; vitest's expect does not know locators). */
export async function visible(locator: Locator): Promise<Locator> {
  await locator.first().waitFor({ state: 'visible' });
  return locator;
}

/** The text a control is described by (aria-describedby): its hint and its errors. */
export function description(locator: Locator): Promise<string> {
  return locator.evaluate((element) =>
    (element.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .map((id: string) => element.ownerDocument.getElementById(id)?.textContent ?? '')
      .join(' ')
      .trim(),
  );
}
