// Shared by the browser end-to-end tests: build the page into a temporary folder, serve it (and
// the default model) from 127.0.0.1, and drive Debian's headless Chromium with playwright-core.
// Chromium's WebGPU adapter here is SwiftShader: no shader-f16, subgroup size 4, 256 invocations
// per workgroup, 10 storage buffers per stage.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildWeb } from '../../tools/build_web.mjs';
import { defaultModelDir, serveWeb } from '../../tools/serve_web.mjs';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const ARTIFACTS = join(ROOT, 'test', 'e2e', 'artifacts');
export const GOLDEN = join(ROOT, '..', 'shared', 'golden');
export const CHROMIUM = process.env['TETHER_CHROMIUM'] ?? '/usr/bin/chromium';

/** Flags from shared/spec/webgpu-here.md; without --enable-unsafe-webgpu there is no adapter. */
export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

export function assertChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: run 'bash tools/ensure_chromium.sh' (as root it installs Debian's chromium package), ` +
      'or point TETHER_CHROMIUM at a Chromium/Chrome binary');
  }
}

export async function launchChromium(webgpu = true): Promise<Browser> {
  assertChromium();
  // playwright gives every launch a fresh temporary profile
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: webgpu ? [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'] : CHROMIUM_ARGS,
  });
}

export interface WebServer { url: string; modelDir: string | null; close(): Promise<void> }

/** Builds the page into a temporary folder and serves it with the given (or default) model. */
export async function buildAndServe(modelDir: string | null = defaultModelDir()): Promise<WebServer> {
  const outdir = mkdtempSync(join(tmpdir(), 'tether-web-'));
  await buildWeb({ outdir, logLevel: 'error' });
  const srv = await serveWeb({ root: outdir, modelDir, port: 0 });
  return {
    url: srv.url,
    modelDir: srv.modelDir,
    close: async () => { await srv.close(); rmSync(outdir, { recursive: true, force: true }); },
  };
}

/** The built page and the default model served, and one fresh Chromium page (logs collected). */
export interface PageSession { server: WebServer; browser: Browser; page: Page; logs: string[]; close(): Promise<void> }

/** The e2e tests' common start; fails (never skips) when there is no default model to serve. */
export async function openServedPage(viewport: { width: number; height: number }): Promise<PageSession> {
  const server = await buildAndServe();
  if (!server.modelDir) {
    await server.close();
    throw new Error('no default model: neither weights/fmnist nor ../shared/golden exists');
  }
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport });
  return { server, browser, page, logs: collectLogs(page), close: async () => { await browser.close(); await server.close(); } };
}

/** Console errors and page exceptions, for failure messages. */
export function collectLogs(page: Page): string[] {
  const logs: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') logs.push(`console.${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  page.on('worker', (w) => w.on('console', (m) => logs.push(`worker console.${m.type()}: ${m.text()}`)));
  return logs;
}

/** The page's window.__tether (see web/main.ts), minus functions and big arrays. */
export interface PageSnapshot {
  phase: string;
  engine: { adapter: string; f16Available: boolean; isFallbackAdapter: boolean } | null;
  model: { name: string; weightDtype: string; factor: number; nativeSize: number; configSource: string; reads: { reads: number; bytes: number; maxRead: number; maxReadAt: string; opened: Record<string, number> } } | null;
  loadError: { message: string; tooBig: boolean } | null;
  runError: string | null;
  previews: number;
  hasResult: boolean;
}

export function snapshot(page: Page): Promise<PageSnapshot> {
  return page.evaluate(() => {
    const t = (window as unknown as { __tether: Record<string, unknown> & { result: unknown } }).__tether;
    return {
      phase: t['phase'], engine: t['engine'], model: t['model'], loadError: t['loadError'], runError: t['runError'],
      previews: t['previews'], hasResult: t.result !== null,
    } as PageSnapshot;
  });
}

/** Waits until the page's phase is one of `phases` (or a load error appears); returns the snapshot. */
export async function waitForPhase(page: Page, phases: string[], timeoutMs: number, logs: string[] = []): Promise<PageSnapshot> {
  try {
    await page.waitForFunction((want) => {
      const t = (window as unknown as { __tether?: { phase: string; loadError: unknown } }).__tether;
      return Boolean(t && (want.includes(t.phase) || t.loadError));
    }, phases, { timeout: timeoutMs, polling: 250 });
  } catch (e) {
    const s = await snapshot(page).catch(() => null);
    throw new Error(`page did not reach ${phases.join('/')} in ${timeoutMs / 1000} s: ${JSON.stringify(s)}\n${logs.join('\n')}`, { cause: e });
  }
  return snapshot(page);
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** Waits until the element's text contains (or, with exact, equals) `text`; fails with what it has. */
export async function waitForText(page: Page, selector: string, text: string, opts: { exact?: boolean; timeoutMs?: number } = {}): Promise<void> {
  try {
    await page.waitForFunction(([sel, want, exact]) => {
      const got = document.querySelector(sel as string)?.textContent ?? '';
      return exact ? got.trim() === want : got.includes(want as string);
    }, [selector, text, Boolean(opts.exact)] as const, { timeout: opts.timeoutMs ?? 10_000, polling: 100 });
  } catch (e) {
    const got = await page.locator(selector).textContent().catch(() => null);
    throw new Error(`${selector}: expected text ${JSON.stringify(text)}, got ${JSON.stringify(got)}`, { cause: e });
  }
}

/** Fills the run settings, clicks Run and waits for the result; a run error or no result throws. */
export async function runOnPage(page: Page, logs: string[], settings: { prompt: string; steps: number; K: number | 'auto'; seed: number }): Promise<{ done: PageSnapshot; seconds: number }> {
  await page.fill('#prompt', settings.prompt);
  await page.fill('#steps', String(settings.steps));
  // a number is a fixed K (the auto box off, as the CLI's --K N); set directly: the box is disabled for methods without inner steps
  await page.$eval('#K-auto', (e, on) => { (e as HTMLInputElement).checked = on; }, settings.K === 'auto');
  if (settings.K !== 'auto') await page.fill('#K', String(settings.K));
  await page.fill('#seed', String(settings.seed));
  const t0 = Date.now();
  await page.click('#run');
  const done = await waitForPhase(page, ['loaded', 'lost'], 240_000, logs);
  if (done.runError !== null || !done.hasResult) throw new Error(`the run failed: ${done.runError ?? 'no result'}\n${logs.join('\n')}`);
  return { done, seconds: (Date.now() - t0) / 1000 };
}
