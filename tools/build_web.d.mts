// Types of tools/build_web.mjs, for the tests that import it.
export function buildWeb(opts?: { outdir?: string; minify?: boolean; logLevel?: 'silent' | 'error' | 'warning' | 'info' }): Promise<{ outdir: string; sizes: string[] }>;
