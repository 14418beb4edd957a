// CLIP tokenizer speed: construction from the golden vocab/merges and a cold 77-token encode.
// (Timing lives here, never in tests.) `npm run bench:tokenizer`; prints a table, writes JSON.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { CLIPTokenizer } from '../src/text/clip_tokenizer.js';
import { mdTable, writeJson } from './results_md.js';

const GOLDEN = new URL('../../shared/golden/', import.meta.url);
const read = (rel: string) => readFileSync(new URL(rel, GOLDEN), 'utf8');
const files = {
  vocab: read('tokenizer/vocab.json'), merges: read('tokenizer/merges.txt'),
  tokenizerConfigJson: read('tokenizer/tokenizer_config.json'), specialTokensMapJson: read('tokenizer/special_tokens_map.json'),
};
const make = () => new CLIPTokenizer(files.vocab, files.merges, files);
const prompts = (JSON.parse(read('goldens/tokenizer_cases.json')) as { cases: { prompt: string }[] }).cases.map((c) => c.prompt);
const long = prompts.join(' ');

const min = (f: () => void, reps: number) => {
  let best = Infinity;
  for (let r = 0; r < reps; r++) { const t0 = performance.now(); f(); best = Math.min(best, performance.now() - t0); }
  return best;
};
let tok = make();
const construct = min(() => { tok = make(); }, 5);
const cold = min(() => { tok.resetCache(); tok.encode(long); }, 20);
const warm = min(() => { tok.encode(long); }, 20);
const load = loadavg()[0]!;
console.log(mdTable(['what', 'ms (fastest)'], [['construct', construct.toFixed(1)], ['encode 77 tokens, cold cache', cold.toFixed(3)],
  ['encode 77 tokens, warm cache', warm.toFixed(3)]]));
console.log(`load average ${load.toFixed(2)}`);
writeJson('bench/results/tokenizer.json', { constructMs: construct, coldEncodeMs: cold, warmEncodeMs: warm, load });
