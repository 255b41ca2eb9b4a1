/**
 * The console in a real browser (Debian's Chromium), against the local stack serving the console's
 * build: found by labels and roles, as a screen-reader user would. Each flow writes screenshots of what
 * it saw under .screenshots/console/ (GOVERNOR_UPDATE_DOCS=1 also refreshes the README's, in docs/).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../../console/build.ts';
import { REASON_LABELS } from '../../../console/src/labels.ts';
import { createLambdaContext } from '../../../local/http-server.ts';
import { clockFrom, startTestStack, type TestStack } from '../../support/local-stack.ts';
import { until } from '../../support/until.ts';
import {
  accessibilityViolations,
  browserTestsRun,
  description,
  launchChromium,
  openPage,
  screenshot,
  visible,
} from './browser.ts';

const runs = browserTestsRun();

/** A policy whose outcomes do not depend on the hour the test runs at: no quiet hours. */
const BASELINE = {
  caps: [
    { id: 'marketing-weekly', limit: 3, window: 'P7D', match: {} },
    { id: 'sms-weekly', limit: 1, window: 'P7D', match: { channel: 'sms' } },
    { id: 'min-gap', minGap: 'PT4H', match: { channel: 'push' } },
  ],
  relevance: { default: 0.3, byChannel: { sms: 0.5 }, pressureSlope: 0.4 },
  channelCosts: { email: 0.001, sms: 0.05, push: 0.0005, whatsapp: 0.04, currency: 'EUR' },
};

/**
 * The stack's clock and the pages' (see openPage), not this process's Date: noon of a mid-month day,
 * moving on at the real pace, so that no run crosses midnight UTC or a month's end, whatever the hour
 * it runs at, and today is one day for the stack, the console and the test.
 */
const clock = clockFrom(Date.UTC(2026, 5, 15, 12));
const today = () => new Date(clock.now()).toISOString().slice(0, 10);
/** Retries the read until the assertion holds: the page loads and updates on its own time. */
const eventually = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });
const en = new Intl.NumberFormat('en-US');
type Counts = { accepted: number; deferred: number; suppressed: number };
type DryRunSideOf = Counts & { byReason: Record<string, number>; byCampaign: Record<string, Counts> };
type DryRunResultOf = { current: DryRunSideOf; draft: DryRunSideOf };

describe.skipIf(!runs)('the console in Chromium', () => {
  let stack: TestStack;
  let browser: Browser;
  let built: string;
  let sequence = 0;
  const id = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${sequence++}`;

  beforeAll(async () => {
    built = await mkdtemp(join(tmpdir(), 'governor-console-'));
    await buildConsole({ outdir: built });
    stack = await startTestStack({
      env: { GOVERNOR_CONSOLE_DIR: built, GOVERNOR_POLICY_TTL_MS: '0', GOVERNOR_COUNT_FLUSH_MS: '0' },
      clock,
    });
    browser = await launchChromium();
  });

  // A failed flow leaves a screenshot of where it stopped; every flow's pages are closed after it.
  afterEach(async ({ task }) => {
    for (const context of browser?.contexts() ?? []) {
      if (task.result?.state === 'fail') {
        for (const [i, page] of context.pages().entries())
          await screenshot(page, `failed-${task.name.slice(0, 40)}-${i}`);
      }
      await context.close();
    }
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await rm(built, { recursive: true, force: true });
  });

  async function currentPolicy() {
    const response = await stack.request('GET', '/v1/policy');
    return { policy: response.json(), etag: response.headers.get('etag') as string };
  }

  /** Puts the baseline policy in force (whatever an earlier flow saved) and answers its version. */
  async function baseline(overrides: Record<string, unknown> = {}): Promise<number> {
    const response = await stack.request('PUT', '/v1/policy', {
      body: { ...BASELINE, ...overrides },
      headers: { 'if-match': '*' },
    });
    expect(response.status).toBe(200);
    return response.json().version;
  }

  async function keyWith(scopes: string[]): Promise<string> {
    const response = await stack.request('POST', '/v1/keys', { body: { name: id('console-test'), scopes } });
    expect(response.status).toBe(201);
    return response.json().key;
  }

  async function signIn(page: Page, key: string): Promise<void> {
    await page.goto(`${stack.url}/console`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  }

  async function send(message: Record<string, unknown>) {
    const response = await stack.request('POST', '/v1/messages', { body: { payload: {}, ...message } });
    expect(response.status).toBe(200);
    return response.json();
  }

  describe('signing in', () => {
    it('offers a reports-only key finance and the overview, and no policy editor', async () => {
      const key = await keyWith(['reports:read']);
      const { context, page, problems } = await openPage(browser, { clock });

      await signIn(page, key);

      const nav = page.getByRole('navigation', { name: 'Pages' });
      await expect(nav.getByRole('link').allTextContents()).resolves.toEqual(['Overview', 'Finance']);
      await visible(page.getByText('Not available with this key: Policy (needs “policy:read”)'));
      await visible(
        page.getByRole('region', { name: 'Policy in force' }).getByText('Not available with this key'),
      );
      await screenshot(page, 'overview-reports-only');

      await page.goto(`${stack.url}/console#/policy`);
      await visible(page.getByRole('heading', { name: 'Policy', exact: true }));
      await visible(page.getByText('This page needs a key with the scope “policy:read”'));
      await eventually(() => page.getByRole('button', { name: /Save as version/ }).count()).toBe(0);
      expect(problems).toEqual([]);
      await context.close();
    });

    it('keeps the key in sessionStorage only, and forgets it on sign-out', async () => {
      const { context, page, problems } = await openPage(browser, { clock });

      await signIn(page, stack.adminKey);
      const kept = await page.evaluate<{ session: string | null; local: number; cookies: string }>(
        '({ session: sessionStorage.getItem("governor.apiKey"), local: localStorage.length, cookies: document.cookie })',
      );
      await page.reload();
      await page.getByRole('navigation', { name: 'Pages' }).waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();

      expect(kept).toEqual({ session: stack.adminKey, local: 0, cookies: '' });
      await visible(page.getByLabel('API key'));
      await visible(page.getByText('You are signed out'));
      await eventually(() => page.evaluate<number>('sessionStorage.length')).toBe(0);
      expect(problems).toEqual([]);
      await context.close();
    });

    it('says so when Governor does not know the key, and signs in with the keyboard alone', async () => {
      const { context, page } = await openPage(browser, { clock });
      await page.goto(`${stack.url}/console`);

      await page.keyboard.press('Tab');
      await page.keyboard.type('gov_0000000000000000_not-a-key-at-all-not-a-key-at-all-not-a-key');
      await page.keyboard.press('Enter');
      await eventually(() => page.getByRole('alert').textContent()).toContain(
        'Governor does not know this key',
      );
      await screenshot(page, 'signin');
      await page.getByLabel('API key').fill(stack.adminKey);
      await page.keyboard.press('Enter');

      await visible(page.getByRole('navigation', { name: 'Pages' }));
      await context.close();
    });
  });

  describe('the overview', () => {
    it("shows today's decisions and reasons as the reports API counts them, the policy in force and the DLQ depth", async () => {
      // Prepare: a known traffic, and one dead-lettered delivery.
      const version = await baseline();
      const customer = id('overview');
      for (let i = 0; i < 4; i++)
        await send({ messageId: `${customer}-m${i}`, customerId: customer, channel: 'email' });
      await send({ messageId: `${customer}-low`, customerId: id('low'), channel: 'sms', relevance: 0.1 });
      const sqs = new SQSClient({
        endpoint: stack.engines.sqsEndpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      await sqs.send(new SendMessageCommand({ QueueUrl: stack.engines.dlqUrl, MessageBody: '{}' }));
      const { page, context, problems } = await openPage(browser, { clock });

      // Act
      await signIn(page, stack.adminKey);

      // Assess
      const api = (await stack.request('GET', `/v1/reports/summary?day=${today()}`)).json();
      const decisions = page.getByRole('region', { name: 'Today’s decisions' });
      for (const [label, value] of [
        ['Accepted', api.accepted],
        ['Deferred', api.deferred],
        ['Suppressed', api.suppressed],
      ] as const) {
        await eventually(() =>
          decisions.getByText(label, { exact: true }).locator('..').textContent(),
        ).toContain(en.format(value));
      }
      const reasons = page.getByRole('table', { name: 'Top suppression reasons today' });
      await eventually(() =>
        reasons.getByRole('row', { name: new RegExp(REASON_LABELS.frequency_cap) }).textContent(),
      ).toContain(en.format(api.suppressedByReason.frequency_cap));
      await eventually(() => page.getByRole('region', { name: 'Policy in force' }).textContent()).toContain(
        `Version ${version}`,
      );
      const delivery = page.getByRole('region', { name: 'Delivery' });
      await eventually(() =>
        delivery
          .getByText('Dead-letter queue', { exact: true })
          .locator('xpath=following-sibling::dd[1]')
          .textContent(),
      ).toBe('1');
      await eventually(() => delivery.getByRole('status').textContent()).toContain('could not be delivered');
      await screenshot(page, 'overview', { docs: true });
      expect(problems).toEqual([]);
      await context.close();
      sqs.destroy();
    });
  });

  describe('the policy page', () => {
    it('edits a cap, previews it, saves it, shows the new version in the history, and the next send follows it', async () => {
      // Prepare: ten customers who each got 3 messages of one campaign under "3 per 7 days"
      const before = await baseline();
      const campaign = id('preview');
      const customers = Array.from({ length: 10 }, (_, i) => `${campaign}-c${i}`);
      for (const customerId of customers)
        for (let n = 0; n < 3; n++)
          expect(
            await send({
              messageId: `${customerId}-${n}`,
              customerId,
              channel: 'email',
              campaignId: campaign,
            }),
          ).toMatchObject({ decision: 'accepted' });
      const { page, context, problems } = await openPage(browser, { clock });
      await signIn(page, stack.adminKey);
      await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Policy' }).click();
      const caps = page.getByRole('table', { name: 'Frequency caps' });
      await eventually(() => caps.getByRole('row', { name: /marketing-weekly/ }).textContent()).toContain(
        '3 per 7 days',
      );

      // Act: at most 1 marketing message a week instead of 3.
      await page.getByRole('button', { name: 'Edit marketing-weekly' }).click();
      const editor = page.getByRole('dialog', { name: 'Edit the cap “marketing-weekly”' });
      await eventually(() => editor.getByLabel('At most (messages)').inputValue()).toBe('3');
      await eventually(() => editor.getByLabel('Window unit').inputValue()).toBe('days');
      await screenshot(page, 'policy-cap-editor', { fullPage: false });
      await editor.getByLabel('At most (messages)').fill('1');
      await editor.getByRole('button', { name: 'Apply to the draft' }).click();
      await eventually(() => caps.getByRole('row', { name: /marketing-weekly/ }).textContent()).toContain(
        '1 per 7 days',
      );
      await visible(page.getByText('1 unsaved change to version'));
      await screenshot(page, 'policy-draft');

      // Act: preview the draft on the last 7 days
      const preview = page.getByRole('region', { name: 'Impact preview' });
      // The dry-run's finished answer, as the page polled it (waited for: the page may show the
      // comparison before this process has read the answer's body).
      const finished = page.waitForResponse(
        async (response) =>
          /\/v1\/policy\/dry-runs\/[^/]+$/.test(new URL(response.url()).pathname) &&
          (await response.json().catch(() => ({}))).status === 'done',
        { timeout: 60_000 },
      );
      await preview.getByLabel('Traffic of').selectOption('7');
      await preview.getByRole('button', { name: 'Preview the draft' }).click();
      const comparison = preview.getByRole('table', {
        name: 'The policy in force and the draft on the same traffic',
      });
      await visible(comparison);

      // Assess: the draft lets each of these customers 1 message, the cap suppresses the 2 others
      const done = ((await (await finished).json()) as { result?: DryRunResultOf }).result;
      expect(done?.current.byCampaign[campaign]).toEqual({ accepted: 30, deferred: 0, suppressed: 0 });
      expect(done?.draft.byCampaign[campaign]).toEqual({ accepted: 10, deferred: 0, suppressed: 20 });
      if (!done) throw new Error('no finished dry-run answered');
      const delivered = comparison.getByRole('row', { name: /^Delivered/ });
      await expect(delivered.getByRole('cell').allTextContents()).resolves.toEqual([
        en.format(done.current.accepted),
        en.format(done.draft.accepted),
        `−${en.format(done.current.accepted - done.draft.accepted)}`,
      ]);
      expect(done.current.accepted - done.draft.accepted).toBeGreaterThanOrEqual(20);
      const capped = comparison.getByRole('row', { name: new RegExp(`^${REASON_LABELS.frequency_cap}`) });
      await expect(capped.getByRole('cell').nth(1).textContent()).resolves.toBe(
        en.format(done.draft.byReason.frequency_cap ?? 0),
      );
      await visible(preview.getByText(/^The draft would deliver [\d,]+ fewer messages/));
      await screenshot(page, 'policy-preview');
      await page.getByRole('button', { name: `Save as version ${before + 1}` }).click();

      // Assess: saved, in the history with its author, the diff says what changed.
      await visible(page.getByText(`Saved: version ${before + 1} is in force`));
      const history = page.getByRole('table', { name: 'Policy versions' });
      const row = history.getByRole('row', { name: new RegExp(`^${before + 1} in force`) });
      await eventually(() => row.textContent()).toContain('the bootstrap admin key');
      await eventually(() => page.locator('#version-diff').textContent()).toContain(
        '“marketing-weekly”: 3 per 7 days → 1 per 7 days',
      );
      const { policy } = await currentPolicy();
      expect(policy.version).toBe(before + 1);
      expect(policy.caps.find((c: { id: string }) => c.id === 'marketing-weekly')).toMatchObject({
        limit: 1,
        window: 'P7D',
      });
      const customer = id('after-save');
      const first = await send({ messageId: `${customer}-1`, customerId: customer, channel: 'email' });
      const second = await send({ messageId: `${customer}-2`, customerId: customer, channel: 'email' });
      expect(first).toMatchObject({ decision: 'accepted', policyVersion: before + 1 });
      expect(second).toMatchObject({
        decision: 'suppressed',
        reason: 'frequency_cap',
        rule: 'marketing-weekly',
        policyVersion: before + 1,
      });
      await screenshot(page, 'policy', { docs: true });
      expect(problems).toEqual([]);
      await context.close();
    });

    it("shows the API's validation errors next to the fields they concern", async () => {
      await baseline();
      const { page, context, problems } = await openPage(browser, { clock });
      await signIn(page, stack.adminKey);
      await page.goto(`${stack.url}/console#/policy`);

      await page.getByLabel('Default threshold').fill('1.5');
      await page.getByRole('button', { name: 'Edit sms-weekly' }).click();
      const editor = page.getByRole('dialog');
      await editor.getByLabel('At most (messages)').fill('20000');
      await editor.getByRole('button', { name: 'Apply to the draft' }).click();
      await page.getByRole('button', { name: /Save as version/ }).click();

      await eventually(() =>
        page.getByRole('alert').filter({ hasText: 'Not saved' }).textContent(),
      ).toContain('2 problems');
      await eventually(() => page.getByLabel('Default threshold').getAttribute('aria-invalid')).toBe('true');
      await eventually(() => description(page.getByLabel('Default threshold'))).toMatch(/1/);
      await eventually(() => page.getByRole('row', { name: /sms-weekly/ }).textContent()).toContain('10000');
      await page.getByRole('button', { name: 'Edit sms-weekly' }).click();
      await eventually(() => description(page.getByRole('dialog').getByLabel('At most (messages)'))).toMatch(
        /10000/,
      );
      await screenshot(page, 'policy-errors', { fullPage: false });
      expect(problems).toEqual([]);
      await context.close();
    });

    it("on a stale save shows what changed meanwhile, and re-applies the marketer's edit on top", async () => {
      const start = await baseline();
      const { page, context, problems } = await openPage(browser, { clock });
      await signIn(page, stack.adminKey);
      await page.goto(`${stack.url}/console#/policy`);
      await page.getByLabel('SMS, per message').fill('0.07');

      // Someone else saves meanwhile: the default threshold.
      const { policy, etag } = await currentPolicy();
      const { version: _v, createdAt: _c, author: _a, ...document } = policy;
      const theirs = await stack.request('PUT', '/v1/policy', {
        body: { ...document, relevance: { ...document.relevance, default: 0.45 } },
        headers: { 'if-match': etag },
      });
      expect(theirs.json().version).toBe(start + 1);
      await page.getByRole('button', { name: `Save as version ${start + 1}` }).click();

      const conflict = page.getByRole('alert').filter({ hasText: 'while you were editing' });
      await eventually(() => conflict.getByRole('heading', { level: 2 }).textContent()).toBe(
        `Someone saved version ${start + 1} while you were editing`,
      );
      await eventually(() => conflict.locator('#their-changes').textContent()).toContain(
        'Default threshold: 0.3 → 0.45',
      );
      await eventually(() => conflict.locator('#my-changes').textContent()).toContain(
        'SMS: 0.05 → 0.07 EUR a message',
      );
      await screenshot(page, 'policy-conflict');
      await conflict.getByRole('button', { name: `Re-apply my changes on version ${start + 1}` }).click();
      await visible(page.getByText(`Your changes are re-applied on version ${start + 1}`));
      await eventually(() => page.getByLabel('Default threshold').inputValue()).toBe('0.45');
      await eventually(() => page.getByLabel('SMS, per message').inputValue()).toBe('0.07');
      await page.getByRole('button', { name: `Save as version ${start + 2}` }).click();

      await visible(page.getByText(`Saved: version ${start + 2} is in force`));
      const saved = (await currentPolicy()).policy;
      expect(saved.relevance.default).toBe(0.45);
      expect(saved.channelCosts.sms).toBe(0.07);
      expect(problems).toEqual([]);
      await context.close();
    });

    it('restores an older version as a draft, saved as a new version', async () => {
      const old = await baseline();
      await baseline({ caps: [] });
      const { page, context, problems } = await openPage(browser, { clock });
      await signIn(page, stack.adminKey);
      await page.goto(`${stack.url}/console#/policy`);
      await visible(page.getByText('No caps: nothing limits how often a customer is contacted.'));

      await page.getByRole('button', { name: `Restore version ${old}` }).click();
      await visible(page.getByText(`Version ${old} is loaded as a draft`));
      await page.getByRole('button', { name: `Save as version ${old + 2}` }).click();

      await visible(page.getByText(`Saved: version ${old + 2} is in force`));
      const restored = (await currentPolicy()).policy;
      expect(restored.caps.map((c: { id: string }) => c.id)).toEqual(BASELINE.caps.map((c) => c.id));
      expect(problems).toEqual([]);
      await context.close();
    });
  });

  describe('the finance page', () => {
    it('shows the items delivered inside a digest, and the sends they avoided, as the reports API counts them', async () => {
      // Prepare: a news slot every 2 seconds, taken; three more news e-mails rolled into one digest
      await baseline({
        caps: [...BASELINE.caps, { id: 'news-burst', limit: 1, window: 'PT2S', match: { category: 'news' } }],
        digests: [{ id: 'news-digest', match: { category: 'news' }, maxItems: 5, maxWait: 'PT5M' }],
      });
      const before = (await stack.request('GET', `/v1/reports/summary?day=${today()}`)).json();
      const customerId = id('digest-reader');
      const news = (n: number) => ({
        messageId: `${customerId}-${n}`,
        customerId,
        channel: 'email',
        category: 'news',
      });
      expect(await send(news(0))).toMatchObject({ decision: 'accepted' });
      const items = [];
      for (const n of [1, 2, 3]) items.push(await send(news(n)));
      expect(items.map((item) => [item.decision, item.reason])).toEqual([
        ['deferred', 'digest'],
        ['deferred', 'digest'],
        ['deferred', 'digest'],
      ]);
      // the release, as its schedule would run it, once the digest's slot is free: one send, two avoided
      const { release } = await import('../../../functions/release/handler.ts');
      const day = await until(
        'the digest released and counted',
        async () => {
          await release({}, createLambdaContext('governor-release'));
          return (await stack.request('GET', `/v1/reports/summary?day=${today()}`)).json();
        },
        (summary) => summary.digested - before.digested === 2,
        30_000,
      );
      expect(day.released.digested - before.released.digested).toBe(2);
      const period = `from=${today().slice(0, 8)}01&to=${today()}`;
      const api = (await stack.request('GET', `/v1/reports/suppressed?${period}&groupBy=reason`)).json();
      const digestRow = api.rows.find((row: { reason: string }) => row.reason === 'digest');
      const month = (await stack.request('GET', `/v1/reports/summary?month=${today().slice(0, 7)}`)).json();
      expect(digestRow.count).toBe(month.digested);

      // Act
      const { page, context, problems } = await openPage(browser, { clock });
      await signIn(page, stack.adminKey);
      await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Finance' }).click();

      // Assess: the period's digested items and the sends they avoided, and the month's, are the API's
      const figure = page
        .getByRole('region', { name: 'Totals for the period' })
        .getByText('Delivered inside a digest', { exact: true })
        .locator('..');
      const euros = new Intl.NumberFormat('en-US', {
        style: 'currency',
        currency: 'EUR',
        maximumFractionDigits: 6,
      });
      await eventually(() => figure.textContent()).toBe(
        `Delivered inside a digest${en.format(digestRow.count)}${en.format(digestRow.count)} sends avoided, ${euros.format(digestRow.avoidedCost)}`,
      );
      const monthly = page.getByRole('table', { name: /Monthly summary/ });
      await eventually(() =>
        monthly
          .getByRole('row', { name: /^Delivered inside a digest/ })
          .getByRole('cell')
          .first()
          .textContent(),
      ).toBe(en.format(month.digested));
      await screenshot(page, 'finance-digests');
      expect(problems).toEqual([]);
      await context.close();
    });

    it("shows the reports API's totals for the traffic the test sent, and the CSV of a table is that table", async () => {
      // Prepare: 6 customers × 3 e-mails (a daily cap of 1: 2 suppressed each), 4 SMS below the threshold.
      await baseline({ caps: [{ id: 'daily', limit: 1, window: 'P1D', match: {} }] });
      const before = (
        await stack.request('GET', `/v1/reports/suppressed?from=${today()}&to=${today()}&groupBy=reason`)
      ).json();
      const prefix = id('finance');
      for (let c = 0; c < 6; c++) {
        for (let m = 0; m < 3; m++) {
          await send({
            messageId: `${prefix}-c${c}-m${m}`,
            customerId: `${prefix}-c${c}`,
            channel: 'email',
            campaignId: 'winter-sale',
          });
        }
      }
      for (let c = 0; c < 4; c++) {
        await send({
          messageId: `${prefix}-s${c}`,
          customerId: `${prefix}-s${c}`,
          channel: 'sms',
          relevance: 0.2,
          campaignId: 'flash',
        });
      }
      const api = (
        await stack.request(
          'GET',
          `/v1/reports/suppressed?from=${today().slice(0, 8)}01&to=${today()}&groupBy=reason`,
        )
      ).json();
      expect(api.totals.count - before.totals.count).toBe(6 * 2 + 4);

      // Act
      const { page, context, problems } = await openPage(browser, { clock });
      await signIn(page, stack.adminKey);
      await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Finance' }).click();

      // Assess: the figures are the API's.
      const totals = page.getByRole('region', { name: 'Totals for the period' });
      const money = (amount: number, digits: number) =>
        new Intl.NumberFormat('en-US', {
          style: 'currency',
          currency: 'EUR',
          minimumFractionDigits: digits,
          maximumFractionDigits: digits,
        }).format(amount);
      await eventually(() =>
        totals.getByText('Suppressed messages', { exact: true }).locator('..').textContent(),
      ).toContain(en.format(api.totals.count));
      const table = page.getByRole('table', { name: 'Suppressed messages by reason' });
      const shown = await table
        .locator('tbody tr')
        .evaluateAll((rows) =>
          rows.map((row) =>
            [...row.querySelectorAll('th, td')].map((cell) => cell.textContent?.trim() ?? ''),
          ),
        );
      const digits = Math.max(
        2,
        ...[...api.rows.map((r: { avoidedCost: number }) => r.avoidedCost), api.totals.avoidedCost].map(
          (a: number) => (String(a).split('.')[1] ?? '').length,
        ),
      );
      const expected = [...api.rows]
        .sort((a, b) => b.count - a.count)
        .map((r: { reason: keyof typeof REASON_LABELS; count: number; avoidedCost: number }) => [
          REASON_LABELS[r.reason],
          en.format(r.count),
          money(r.avoidedCost, digits),
        ]);
      expect(shown.map((cells) => cells.slice(0, 3))).toEqual(expected);
      await eventually(() => table.locator('tfoot').textContent()).toContain(
        money(api.totals.avoidedCost, digits),
      );
      await eventually(() =>
        totals.getByText('Avoided sending cost', { exact: true }).locator('..').textContent(),
      ).toContain(
        new Intl.NumberFormat('en-US', {
          style: 'currency',
          currency: 'EUR',
          maximumFractionDigits: 6,
        }).format(api.totals.avoidedCost),
      );
      await visible(page.getByRole('img', { name: /Suppressed messages per day/ }));
      await visible(page.getByRole('table', { name: /Monthly summary/ }));
      await screenshot(page, 'finance', { docs: true });

      // The CSV download is the API's CSV of the same query: its rows are the table's rows.
      const download = page.waitForEvent('download');
      await page
        .getByRole('region', { name: 'By reason' })
        .getByRole('button', { name: 'Download CSV' })
        .click();
      const csv = await readFile(await (await download).path(), 'utf8');
      const [header, ...lines] = csv.trim().split('\r\n');
      expect(header).toBe('reason,count,avoidedCost,currency');
      const fromCsv = lines
        .map((line) => line.split(','))
        .sort((a, b) => Number(b[1]) - Number(a[1]))
        .map(([reason, count, cost]) => [
          REASON_LABELS[reason as keyof typeof REASON_LABELS],
          en.format(Number(count)),
          money(Number(cost), digits),
        ]);
      expect(fromCsv).toEqual(shown.map((cells) => cells.slice(0, 3)));
      expect(problems).toEqual([]);
      await context.close();
    });

    it("formats numbers and dates in the browser's locale (French here)", async () => {
      const { page, context, problems } = await openPage(browser, { clock, locale: 'fr-FR' });
      await signIn(page, stack.adminKey);
      await page.goto(`${stack.url}/console#/finance`);
      const api = (
        await stack.request(
          'GET',
          `/v1/reports/suppressed?from=${today().slice(0, 8)}01&to=${today()}&groupBy=reason`,
        )
      ).json();

      const figure = page
        .getByRole('region', { name: 'Totals for the period' })
        .getByText('Avoided sending cost', { exact: true })
        .locator('..');
      await eventually(() => figure.textContent()).toContain(
        new Intl.NumberFormat('fr-FR', {
          style: 'currency',
          currency: 'EUR',
          maximumFractionDigits: 6,
        }).format(api.totals.avoidedCost),
      );
      const month = new Intl.DateTimeFormat('fr-FR', {
        month: 'long',
        year: 'numeric',
        timeZone: 'UTC',
      }).format(new Date(clock.now()));
      await eventually(() =>
        page
          .getByRole('table', { name: /Monthly summary/ })
          .getByRole('columnheader')
          .nth(1)
          .textContent(),
      ).toBe(month);
      await screenshot(page, 'finance-fr');
      expect(problems).toEqual([]);
      await context.close();
    });

    it("shows a holdout experiment's arms as the experiment report answers them", async () => {
      // Prepare: an experiment of two arms, twenty customers sent one e-mail each
      await baseline({
        caps: [{ id: 'daily', limit: 1, window: 'P1D', match: {} }],
        experiments: [
          {
            id: 'console-lift',
            salt: id('salt'),
            arms: [
              { id: 'holdout', share: 0.5, policy: 'control' },
              { id: 'governed', share: 0.5, policy: 'current' },
            ],
          },
        ],
      });
      const prefix = id('lift');
      for (let c = 0; c < 20; c++)
        await send({ messageId: `${prefix}-${c}`, customerId: `${prefix}-${c}`, channel: 'email' });
      const api = (
        await stack.request(
          'GET',
          `/v1/reports/experiments/console-lift?from=${today().slice(0, 8)}01&to=${today()}`,
        )
      ).json();

      // Act
      const { page, context, problems } = await openPage(browser, { clock });
      await signIn(page, stack.adminKey);
      await page.goto(`${stack.url}/console#/finance`);

      // Assess: one row per arm, its customers the API's
      const table = page.getByRole('table', { name: 'Arms of console-lift' });
      await visible(table);
      const shown = await table
        .locator('tbody tr')
        .evaluateAll((rows) =>
          rows.map((row) =>
            [...row.querySelectorAll('th, td')].map((cell) => cell.textContent?.trim() ?? ''),
          ),
        );
      expect(shown.map((cells) => cells.slice(0, 2))).toEqual(
        api.arms.map((a: { arm: string; customers: number }) => [a.arm, en.format(a.customers)]),
      );
      await visible(page.getByRole('table', { name: /Differences between arms/ }));
      await page.getByRole('table', { name: 'Arms of console-lift' }).scrollIntoViewIfNeeded();
      await screenshot(page, 'finance-experiments');
      expect(problems).toEqual([]);
      await context.close();
      await baseline();
    });
  });

  describe('the customers page', () => {
    it("shows a customer's deferred message, an opt-out's source and the decisions' reasons; erasure empties the page", async () => {
      // Prepare: an SMS opt-out from the preference centre, then a push that the min-gap defers
      await baseline();
      const customer = id('support');
      const preferences = await stack.request('PUT', `/v1/customers/${customer}/preferences`, {
        body: { channels: { sms: { optIn: false, source: 'preference-centre' } } },
      });
      expect(preferences.status).toBe(200);
      await send({
        messageId: `${customer}-bf-email`,
        customerId: customer,
        channel: 'email',
        campaignId: 'black-friday',
      });
      await send({
        messageId: `${customer}-bf-sms`,
        customerId: customer,
        channel: 'sms',
        campaignId: 'black-friday',
      });
      await send({ messageId: `${customer}-push-1`, customerId: customer, channel: 'push' });
      const deferred = await send({
        messageId: `${customer}-push-2`,
        expiresAt: new Date(clock.now() + 24 * 3_600_000).toISOString(),
        customerId: customer,
        channel: 'push',
      });
      expect(deferred).toMatchObject({ decision: 'deferred', rule: 'min-gap' });
      const key = await keyWith(['preferences:read', 'preferences:write']);
      const { page, context, problems } = await openPage(browser, { clock });
      await signIn(page, key);
      await page.getByRole('link', { name: 'Customers' }).click();

      // Act
      await page.getByLabel('Customer id').fill(customer);
      await page.getByRole('button', { name: 'Look up' }).click();

      // Assess: the deferred message, the opt-out's source, the SMS suppression in words
      const waiting = page.getByRole('table', { name: 'Deferred messages, soonest release first' });
      await visible(waiting.getByRole('row', { name: new RegExp(`${customer}-push-2`) }));
      await expect(
        waiting.getByRole('row', { name: new RegExp(`${customer}-push-2`) }).textContent(),
      ).resolves.toContain('a free slot under the cap “min-gap”');
      const consents = page.getByRole('table', { name: 'Consents by channel and topic' });
      await expect(consents.getByRole('row', { name: /SMS/ }).textContent()).resolves.toMatch(
        /Opted out.*“preference-centre”/,
      );
      const decisions = page.getByRole('table', { name: 'Recent decisions, newest first' });
      await expect(decisions.getByRole('row').count()).resolves.toBe(5);
      await page.getByLabel('Campaign').selectOption('black-friday');
      await page.getByLabel('Outcome').selectOption('suppressed');
      await eventually(() => decisions.getByRole('row').count()).toBe(2);
      await expect(decisions.getByRole('row').nth(1).textContent()).resolves.toContain(
        'Suppressed, not sent: the customer opted out of SMS.',
      );
      await screenshot(page, 'customers', { docs: true });

      // Act: what became of one message, by its id
      await page.getByLabel('Message id (optional)').fill(`${customer}-bf-sms`);
      await page.getByRole('button', { name: 'Look up' }).click();
      await visible(page.getByRole('status').filter({ hasText: `Message “${customer}-bf-sms”` }));
      await expect(
        page
          .getByRole('status')
          .filter({ hasText: `Message “${customer}-bf-sms”` })
          .textContent(),
      ).resolves.toContain('the customer opted out of SMS');

      // Act: erase, after a confirmation naming the consequences
      await page.getByRole('button', { name: `Erase “${customer}”…` }).click();
      const dialog = page.getByRole('dialog', { name: /Erase the customer/ });
      await visible(dialog);
      await expect(description(dialog)).resolves.toMatch(
        /1 deferred message.*will not be delivered.*cannot be undone/s,
      );
      await screenshot(page, 'customers-erase', { fullPage: false });
      await dialog.getByRole('button', { name: 'Erase for good' }).click();

      // Assess: the page is empty, and Governor holds nothing more
      await visible(page.getByText(`Governor no longer holds anything about “${customer}”`));
      await expect(page.getByRole('table').count()).resolves.toBe(0);
      await expect(page.getByLabel('Customer id').inputValue()).resolves.toBe('');
      const after = (await stack.request('GET', `/v1/customers/${customer}`)).json();
      expect(after).toMatchObject({ known: false, deferred: [], decisions: [] });
      await screenshot(page, 'customers-erased');
      expect(problems).toEqual([]);
      await context.close();
    });
  });

  describe('accessibility', () => {
    it('passes the WCAG 2.1 A and AA checks of axe-core on every page, dialog open included', async () => {
      const { page, context } = await openPage(browser, { clock });
      await page.goto(`${stack.url}/console`);
      const found: Record<string, unknown> = { signin: await accessibilityViolations(page) };
      await signIn(page, stack.adminKey);
      for (const route of ['overview', 'policy', 'finance', 'customers']) {
        await page.goto(`${stack.url}/console#/${route}`);
        await page.getByRole('heading', { level: 1 }).waitFor();
        await page.waitForLoadState('networkidle');
        found[route] = await accessibilityViolations(page);
      }
      await page.goto(`${stack.url}/console#/policy`);
      await page.getByRole('button', { name: 'Add a cap' }).click();
      found.dialog = await accessibilityViolations(page);

      await page.keyboard.press('Escape');
      const customer = id('axe');
      await send({ messageId: `${customer}-m`, customerId: customer, channel: 'email' });
      await page.goto(`${stack.url}/console#/customers`);
      await page.getByLabel('Customer id').fill(customer);
      await page.getByRole('button', { name: 'Look up' }).click();
      await page.getByRole('table', { name: 'Recent decisions, newest first' }).waitFor();
      found.customer = await accessibilityViolations(page);
      await page.getByRole('button', { name: `Erase “${customer}”…` }).click();
      await page.getByRole('dialog').waitFor();
      found.erasure = await accessibilityViolations(page);

      expect(found).toEqual({
        signin: [],
        overview: [],
        policy: [],
        finance: [],
        customers: [],
        dialog: [],
        customer: [],
        erasure: [],
      });
      await context.close();
    });

    it('is usable at a small laptop width without horizontal scrolling', async () => {
      const { page, context } = await openPage(browser, { clock, width: 1024, height: 700 });
      await signIn(page, stack.adminKey);
      for (const route of ['overview', 'policy', 'customers', 'finance']) {
        await page.goto(`${stack.url}/console#/${route}`);
        await page.getByRole('heading', { level: 1 }).waitFor();
        await page.waitForLoadState('networkidle');
        const overflow = await page.evaluate<number>(
          'document.documentElement.scrollWidth - window.innerWidth',
        );
        expect(overflow, route).toBeLessThanOrEqual(0);
      }
      await visible(page.getByRole('table', { name: /Monthly summary/ }));
      await screenshot(page, 'finance-1024');
      await context.close();
    });
  });
});
