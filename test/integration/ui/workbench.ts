// The UI tests' shared workbench: the packaged .vsix installed in code-server, a workspace with models, a Chromium page.
//
// One workbench serves every *.ui.ts file of a run (started by the first test that asks for it,
// closed by the runner). Helpers act as a person would: explorer right-click, F1, reading the DOM.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { encodeModel } from '../../../server/onnx/encode';
import { tinyMlpSpec } from '../../helpers/onnx-models';
import { launchChromium } from '../harness/browser';
import { type CodeServer, type Profile, createProfile, installExtension, startCodeServer } from '../harness/code-server';
import { artifactsDir, assertToolsInstalled, repoRoot } from '../harness/paths';
import { packageVsix } from '../harness/vsix';

/** How long a person-visible change (a view opening, a menu appearing) may take. */
export const uiDeadlineMs = 30_000;

export interface Workbench {
  readonly page: Page;
  /** The opened folder; holds tiny-mlp.onnx, corrupt.onnx (not a model) and fc_small.onnx when ../shared is there. */
  readonly workspace: string;
  readonly server: CodeServer;
  /** Right-clicks an explorer entry of the workspace root and picks a context-menu item (screenshot of the open menu when named). */
  explorerContextMenu(fileName: string, itemLabel: string, screenshotName?: string): Promise<void>;
  /** Runs a command from the palette (F1) by its title, e.g. "graftcert: Inspect Model". */
  runCommand(title: string): Promise<void>;
  /** The active editor's visible text (non-breaking spaces made plain). */
  editorText(): Promise<string>;
  /** The tab whose label is `label`. */
  tab(label: string): Locator;
  /** The text of every notification toast now shown. */
  notifications(): Promise<string[]>;
  /** Saves a PNG under .test-artifacts/e2e/ and returns its path. */
  screenshot(name: string): Promise<string>;
}

let opening: Promise<Workbench> | undefined;
let cleanup: (() => Promise<void>) | undefined;

/** The shared workbench, started on first use. */
export function workbench(): Promise<Workbench> {
  opening ??= openWorkbench({}, (done) => {
    cleanup = done;
  });
  return opening;
}

/**
 * A workbench of its own (its own code-server, profile, workspace and browser), e.g. with workspace trust on and the
 * folder untrusted; `close` stops all of it.
 */
export async function isolatedWorkbench(options: WorkbenchOptions): Promise<{ wb: Workbench; close(): Promise<void> }> {
  let close: () => Promise<void> = async () => undefined;
  try {
    const wb = await openWorkbench(options, (done) => {
      close = done;
    });
    return { wb, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export interface WorkbenchOptions {
  /** Extra user settings. */
  settings?: Record<string, unknown>;
  /** Keep workspace trust on (code-server without --disable-workspace-trust). */
  workspaceTrust?: boolean;
  /** Log file name under .test-artifacts/e2e/. */
  logName?: string;
}

/** Closes the shared workbench (the runner calls this after the UI tests). */
export async function closeWorkbench(): Promise<void> {
  const done = cleanup;
  opening = undefined;
  cleanup = undefined;
  await done?.();
}

function makeWorkspace(): string {
  const workspace = mkdtempSync(join(tmpdir(), 'graftcert-ui-ws-'));
  writeFileSync(join(workspace, 'tiny-mlp.onnx'), encodeModel(tinyMlpSpec()));
  writeFileSync(join(workspace, 'corrupt.onnx'), 'this is not an ONNX model\n');
  const fcSmall = resolve(repoRoot, '..', 'shared', 'benchmarks', 'lirpa', 'models', 'fc_small.onnx');
  if (existsSync(fcSmall)) copyFileSync(fcSmall, join(workspace, 'fc_small.onnx'));
  return workspace;
}

async function openWorkbench(options: WorkbenchOptions, setCleanup: (done: () => Promise<void>) => void): Promise<Workbench> {
  assertToolsInstalled();
  mkdirSync(artifactsDir, { recursive: true });
  const vsix = process.env.GRAFTCERT_E2E_VSIX ?? packageVsix();
  let profile: Profile | undefined;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  const workspace = makeWorkspace();
  setCleanup(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    profile?.dispose();
    rmSync(workspace, { recursive: true, force: true });
  });
  profile = createProfile({}, options.settings);
  installExtension(profile, vsix);
  server = await startCodeServer({ profile, logFile: join(artifactsDir, options.logName ?? 'code-server-ui.log'), workspaceTrust: options.workspaceTrust });
  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(uiDeadlineMs);
  await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`);
  await page.locator('.monaco-workbench').waitFor();
  // The explorer lists the workspace once the remote file system is connected.
  await explorerRow(page, 'tiny-mlp.onnx').waitFor();
  return makeWorkbench(page, workspace, server);
}

function explorerRow(page: Page, fileName: string): Locator {
  return page.locator('.explorer-folders-view .monaco-list-row').filter({
    has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(fileName)}$`) }),
  });
}

function makeWorkbench(page: Page, workspace: string, server: CodeServer): Workbench {
  const tab = (label: string) =>
    page.locator('.tabs-container .tab').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(label)}$`) }) });
  return {
    page,
    workspace,
    server,
    tab,

    async explorerContextMenu(fileName, itemLabel, screenshotName) {
      const row = explorerRow(page, fileName);
      // The explorer recycles its rows when files come and go: a row found just before a refresh can show
      // another file by the time it is clicked. The right-clicked row takes the focus; retry until it is ours.
      for (let attempt = 0; ; attempt++) {
        await row.click({ button: 'right' });
        await page.locator('.context-view .monaco-menu').waitFor();
        const focused = page.locator('.explorer-folders-view .monaco-list-row.focused .label-name');
        if ((await focused.textContent()) === fileName) break;
        await page.keyboard.press('Escape');
        await page.locator('.context-view .monaco-menu').waitFor({ state: 'detached' });
        if (attempt === 4) throw new Error(`the explorer's context menu opened on another file than ${fileName}`);
      }
      const item = page.locator('.context-view .monaco-menu .action-item').filter({
        has: page.locator('.action-label', { hasText: new RegExp(`^${escapeRegExp(itemLabel)}$`) }),
      });
      // In VS Code's custom menus a click only highlights the item; hover, then Enter runs it.
      await item.hover();
      if (screenshotName) await page.screenshot({ path: join(artifactsDir, `${screenshotName}.png`) });
      await page.keyboard.press('Enter');
      await page.locator('.context-view .monaco-menu').waitFor({ state: 'detached' });
    },

    async runCommand(title) {
      // Commands of a just-activated extension can register after the palette opened: retry once.
      for (let attempt = 0; ; attempt++) {
        await page.keyboard.press('F1');
        const input = page.locator('.quick-input-widget input');
        await input.waitFor();
        await input.fill(`>${title}`);
        const row = page.locator('.quick-input-list .monaco-list-row').filter({
          has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }),
        });
        try {
          await row.first().waitFor({ timeout: attempt === 0 ? 5_000 : uiDeadlineMs });
        } catch (error) {
          await page.keyboard.press('Escape');
          if (attempt > 0) throw error;
          continue;
        }
        await row.first().hover();
        await page.keyboard.press('Enter');
        await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
        return;
      }
    },

    async editorText() {
      const lines = page.locator('.editor-group-container.active .monaco-editor .view-lines .view-line');
      await lines.first().waitFor();
      const texts = await page.evaluate(() => {
        const container = document.querySelector('.editor-group-container.active .monaco-editor .view-lines');
        if (!container) return [];
        // Lines render in DOM order of their recycling, not of the document: sort by position.
        return Array.from(container.querySelectorAll<HTMLElement>('.view-line'))
          .map((line) => ({ top: parseFloat(line.style.top || '0'), text: line.textContent ?? '' }))
          .sort((a, b) => a.top - b.top)
          .map((line) => line.text);
      });
      return texts.join('\n').replace(/\u00a0/g, ' ');
    },

    async notifications() {
      return page.locator('.notifications-toasts .notification-toast .notification-list-item-message').allTextContents();
    },

    async screenshot(name) {
      const path = join(artifactsDir, `${name}.png`);
      await page.screenshot({ path });
      return path;
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
