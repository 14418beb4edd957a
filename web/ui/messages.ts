// Messages to the user: the banner (title, text, optional action and details), progress bars, and
// numbers in words (sizes, durations, counts).
import { el } from './elements.js';

export function banner(title: string, text: string, opts: { warn?: boolean; action?: [string, () => void]; details?: string } = {}): void {
  el.bannerTitle.textContent = title;
  el.bannerText.textContent = text;
  el.bannerDetails.hidden = !opts.details;
  el.bannerDetails.open = false;
  el.bannerPre.textContent = opts.details ?? '';
  el.banner.classList.toggle('warn', Boolean(opts.warn));
  el.bannerAction.hidden = !opts.action;
  if (opts.action) {
    el.bannerAction.textContent = opts.action[0];
    el.bannerAction.onclick = opts.action[1];
  }
  el.banner.hidden = false;
}

export function clearBanner(): void { el.banner.hidden = true; }

/** A long engine message -> its first line (plus a closing '(hint)' line), and the rest as details. */
export function summarize(message: string): { text: string; details?: string } {
  const lines = message.split('\n');
  if (lines.length <= 3) return { text: message };
  const hint = lines[lines.length - 1]!.startsWith('(') ? `\n${lines[lines.length - 1]}` : '';
  return { text: lines[0]! + hint, details: message };
}

export function setProgress(box: HTMLElement, fraction: number | null): void {
  box.hidden = false;
  box.classList.toggle('indeterminate', fraction === null);
  (box.firstElementChild as HTMLElement).style.width = fraction === null ? '' : `${(100 * fraction).toFixed(1)}%`;
}

export const MB = (b: number) => (b < 2 ** 20 ? `${(b / 1024).toFixed(b < 10 * 1024 ? 1 : 0)} kB` : `${(b / 2 ** 20).toFixed(b < 10 * 2 ** 20 ? 1 : 0)} MB`);
export const secs = (s: number) => (s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);
/** 22007040 -> '22.0M', 163904 -> '163.9k' */
export const count = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));

/** Errors nobody caught end up in the banner, not only in the console. */
export function initMessages(): void {
  el.bannerClose.onclick = clearBanner;
  window.addEventListener('error', (e) => banner('Something went wrong', String(e.message || e.error)));
  window.addEventListener('unhandledrejection', (e) => banner('Something went wrong', String((e.reason as Error)?.message ?? e.reason)));
}
