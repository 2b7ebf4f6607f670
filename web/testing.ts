// What the dashboard's browser tests share: Debian's chromium (or a skip that says why), a workspace
// and a real controller with the example releases registered, a page that records what went wrong
// in it, and one clean-up in the right order (load, browser, controller, workspace).
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { startController, type Controller } from '../src/app/controller.ts';
import { createWorkspace, type DemoWorkspace } from '../src/demo/workspace.ts';
import { registerRelease } from '../src/releases/releases.ts';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Where a browser test writes its picture. The pictures in web/ are the ones the README and docs
 * show, so a plain test run must not rewrite tracked files (a dirty tree, merge conflicts on
 * binaries): it writes beside the temp dir; `npm run pictures` (UPDATE_PICTURES=1) refreshes web/.
 */
export function picturePath(name: string): string {
  if (process.env.UPDATE_PICTURES === '1') return fileURLToPath(new URL(`./${name}`, import.meta.url));
  const dir = join(tmpdir(), 'greenlight-pictures');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Debian's chromium, headless, with nothing of its own going to the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** The test's skip reason when chromium is absent (printed, so the run says it), else false. */
export function browserSkip(what: string): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} is absent: the ${what} browser test needs Debian's chromium (apt-get install -y chromium)`;
  console.log(`# SKIPPED ${what} browser test: ${reason}`);
  return reason;
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** page errors (and console errors or dialogs, when watched): a test expects none */
  problems: string[];
  /** every URL the page asked for */
  requests: string[];
}

export interface Rig {
  ws: DemoWorkspace;
  ctl: Controller;
  /** registers web@<version> from the example artifacts (examples/web/v1, v2) */
  register(version: string, actor?: string): Promise<void>;
  /** opens url in a new browser context (the browser is launched on first use) */
  open(url: string, opts?: BrowserContextOptions & { console?: boolean; dialogs?: boolean }): Promise<WatchedPage>;
  /** stopped first at the end (a load generator) */
  stopFirst(stop: () => Promise<unknown>): void;
}

/** A workspace and a started controller; `configure` edits the workspace's config before the start. */
export async function startRig(t: TestContext, opts: { workspace?: Parameters<typeof createWorkspace>[0]; configure?: (ws: DemoWorkspace) => void } = {}): Promise<Rig> {
  let ws: DemoWorkspace | undefined;
  let ctl: Controller | undefined;
  let browser: Browser | undefined;
  const first: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const stop of first) await stop().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await ctl?.stop({ stopAll: true }).catch(() => undefined);
    await ws?.close().catch(() => undefined);
  });
  ws = await createWorkspace(opts.workspace);
  opts.configure?.(ws);
  ctl = await startController({ configPath: ws.config });
  const c = ctl;
  const w = ws;
  return {
    ws: w,
    ctl: c,
    async register(version, actor = 'user:test') {
      await registerRelease({ service: 'web', version, artifact: `${w.dir}/web/v${version[0]}`, actor }, { config: c.config, stateDir: c.loaded.stateDir, events: c.events, state: async () => c.state.view });
    },
    async open(url, o = {}) {
      const { console: watchConsole, dialogs, ...contextOptions } = o;
      browser ??= await launchChromium();
      const context = await browser.newContext(contextOptions);
      const page = await context.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      if (watchConsole) page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
      if (dialogs) {
        page.on('dialog', (d) => {
          problems.push(`dialog: ${d.message()}`);
          void d.dismiss();
        });
      }
      await page.goto(url);
      return { page, context, problems, requests };
    },
    stopFirst(stop) {
      first.push(stop);
    },
  };
}
