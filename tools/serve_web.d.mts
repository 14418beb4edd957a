// Types of tools/serve_web.mjs, for the tests that import it.
import type { Server } from 'node:http';

export interface ServeWebOptions {
  /** the built page (default dist/web) */
  root?: string;
  /** diffusers folder served under /model/ (default: weights/fmnist, else ../shared/golden); null = none */
  modelDir?: string | null;
  /** 0 = any free port (default 8080) */
  port?: number;
  host?: string;
  log?: boolean;
}

export interface WebServerHandle {
  server: Server;
  port: number;
  url: string;
  modelDir: string | null;
  close(): Promise<void>;
}

export function defaultModelDir(): string | null;
export function serveWeb(opts?: ServeWebOptions): Promise<WebServerHandle>;
