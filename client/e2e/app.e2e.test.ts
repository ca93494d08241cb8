/**
 * The real client in headless Chromium (Debian's), behind real nginx, on the real server and
 * database: the whole flow a person goes through, at phone and desktop widths, with the keyboard
 * alone, checked by axe-core, and a draft that survives the server going away and a reload.
 * Needs `chromium` and `nginx`: skipped with a message without them, failing when CI=true.
 * `CHROMIUM_PATH` names another Chromium-family binary (GitHub's runners: google-chrome).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientStack, clientDir, hasNginx, startClientStack } from '../test-support/stack.ts';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const hasChromium = spawnSync(CHROMIUM, ['--version']).status === 0;
const runnable = hasChromium && hasNginx();
if (!runnable && process.env.CI !== 'true') {
  console.warn(
    'client/e2e: chromium or nginx is not installed (apt-get install chromium nginx); the browser suite is not run here',
  );
}

const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PASSWORD = 'browser test password';

describe.runIf(runnable || process.env.CI === 'true')('the app in a browser', () => {
  let stack: ClientStack;
  let browser: Browser;
  let email: string;

  beforeAll(async () => {
    if (!runnable) throw new Error('chromium and nginx are required in CI (apt-get install chromium nginx)');
    stack = await startClientStack();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const newPage = async (width = 1280, height = 800) => {
    const context = await browser.newContext({ viewport: { width, height } });
    return context.newPage();
  };

  /** Serious and critical axe-core violations on the page as it is now. */
  const axe = async (page: Page) => {
    // Evaluated through the DevTools protocol: the app's CSP (script-src 'self') stays in force.
    await page.evaluate(axeSource);
    const result = (await page.evaluate(() =>
      (globalThis as unknown as { axe: { run: () => Promise<unknown> } }).axe.run(),
    )) as {
      violations: { id: string; impact: string; nodes: unknown[] }[];
    };
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.nodes.length})`);
  };

  const noHorizontalScroll = (page: Page) =>
    page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  it('sign up → two notes → search → edit → a conflicting edit → resolve → sign out', async () => {
    const page = await newPage();
    await page.goto(stack.base);
    expect(await axe(page)).toEqual([]);
    await page.getByRole('button', { name: 'No account yet? Create one' }).click();
    email = `browser-${Date.now()}@example.test`;
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByText('No notes yet. Write the first one.').waitFor();

    for (const [title, text] of [
      ['Pipes', 'Copper pipes and valves for the plumbing job'],
      ['Shopping', 'Bread, butter and jam'],
    ]) {
      await page.getByRole('button', { name: 'New note' }).click();
      await page.getByLabel('Title').fill(title as string);
      await page.getByLabel('Text').fill(text as string);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').getByText('Saved.').waitFor();
    }
    await expect.poll(() => page.locator('.note-item').count()).toBe(2);
    expect(await axe(page)).toEqual([]);
    await mkdir(join(clientDir, 'test-results'), { recursive: true });
    const shot = await page.screenshot({
      path: join(clientDir, 'test-results', 'notes-list.png'),
      fullPage: true,
    });
    expect(shot.length).toBeGreaterThan(10_000); // a blank page compresses to a few KB

    await page.getByLabel('Search notes').fill('plumbing');
    await expect
      .poll(() => page.locator('.note-item').allInnerTexts())
      .toEqual([expect.stringContaining('Pipes')]);
    await page.getByLabel('Search notes').fill('');
    await expect.poll(() => page.locator('.note-item').count()).toBe(2);

    await page.locator('.note-item', { hasText: 'Pipes' }).click();
    await page.getByLabel('Text').fill('Copper pipes, valves and a wrench');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor();

    // Meanwhile the same note changes elsewhere (through the API, another session).
    const other = stack.api.client();
    await other.request('/api/auth/login', { method: 'POST', json: { email, password: PASSWORD } });
    const list = (await (await other.request('/api/notes?q=wrench')).json()) as {
      items: { id: string; version: number }[];
    };
    const pipes = list.items[0];
    expect(pipes).toBeDefined();
    const elsewhere = await other.request(`/api/notes/${pipes?.id}`, {
      method: 'PATCH',
      json: { body: 'Changed on another device', version: pipes?.version },
    });
    expect(elsewhere.status).toBe(200);

    await page.getByLabel('Text').fill('My edit in the browser');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('This note changed while you were editing it').waitFor();
    expect(await page.getByText('Changed on another device').count()).toBe(1);
    expect(await axe(page)).toEqual([]);
    await page.getByRole('button', { name: 'Keep mine' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor();
    const final = (await (await other.request(`/api/notes/${pipes?.id}`)).json()) as {
      body: string;
      version: number;
    };
    expect(final).toMatchObject({ body: 'My edit in the browser', version: 4 });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.context().close();
  });

  it('fits a 360 px wide phone without horizontal scrolling, and every view passes axe', async () => {
    const page = await newPage(360, 740);
    await page.goto(stack.base);
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.note-item').first().waitFor();
    for (const view of ['#/notes', '#/account', '#/about']) {
      await page.goto(`${stack.base}/${view}`);
      await page.locator('main > *').first().waitFor();
      await page.waitForTimeout(100);
      expect(await noHorizontalScroll(page), view).toBe(true);
      expect(await axe(page), view).toEqual([]);
    }
    await page.goto(`${stack.base}/#/notes`);
    await page.locator('.note-item', { hasText: 'Pipes' }).click();
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.context().close();
  });

  it('can be used with the keyboard alone: sign in and write a note', async () => {
    const page = await newPage();
    await page.goto(stack.base);
    await page.getByLabel('Email').focus();
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'New note' }).waitFor();
    // Tab from the search box to "New note", then into the editor.
    await page.getByLabel('Search notes').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByLabel('Title').focus();
    await page.keyboard.type('Typed with keys');
    await page.keyboard.press('Tab');
    await page.keyboard.type('No mouse was used.');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('status').getByText('Saved.').waitFor();
    expect(await page.locator('.note-item', { hasText: 'Typed with keys' }).count()).toBe(1);
    await page.context().close();
  });

  it('keeps a draft typed while the server is down through a reload, and offers it when the server is back', async () => {
    const page = await newPage();
    await page.goto(stack.base);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.note-item', { hasText: 'Shopping' }).click();

    await stack.stopApi();
    try {
      await page.getByLabel('Text').fill('Bread, butter, jam — and cheese, typed offline');
      await page.getByRole('button', { name: 'Save' }).click();
      await page
        .getByRole('status')
        .getByText(/Not saved yet/)
        .waitFor();
      await page.reload();
      await page
        .getByRole('alert')
        .getByText(/cannot be reached right now/)
        .waitFor();
    } finally {
      await stack.startApi();
    }
    // The banner retries by itself; then the note opens with the draft restored.
    await page.locator('.note-item', { hasText: 'Shopping' }).click({ timeout: 15_000 });
    expect(await page.getByLabel('Text').inputValue()).toBe('Bread, butter, jam — and cheese, typed offline');
    await page.getByRole('status').getByText('Unsaved draft restored.').waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor();
    await page.context().close();
  });
});
