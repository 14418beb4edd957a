// CLIP byte-level BPE tokenizer, as used by SD 1.4 (openai/clip-vit-large-patch14).
// Mirrors transformers models/clip/tokenization_clip.py::CLIPTokenizer (slow tokenizer, no-ftfy
// path) called as `tok(text, padding='max_length', max_length=77, truncation=True)`.
// Pure TS on ES2022 globals (TextEncoder/TextDecoder): the caller reads the files and passes text.
import { bytesToBpeChars, bpeCharsToText } from './bpe_bytes.js';
import { basicClean } from './bpe_clean.js';

export interface ClipTokenizerFiles {
  /** Text of tokenizer_config.json (optional: pad/bos/eos/unk tokens, model_max_length). */
  tokenizerConfigJson?: string;
  /** Text of special_tokens_map.json (optional; overrides tokenizer_config, as in transformers). */
  specialTokensMapJson?: string;
}

export interface EncodeOptions {
  /** Defaults to model_max_length from tokenizer_config.json, else 77. */
  maxLength?: number;
  /** 'max_length' pads with the pad id up to maxLength; 'do_not_pad' returns the bare sequence. */
  padding?: 'max_length' | 'do_not_pad';
  /** Cut the text tokens to maxLength - 2 so bos + text + eos fits; eos stays the last kept id. */
  truncation?: boolean;
}

export interface Encoding {
  inputIds: number[];
  /** 1 for bos/text/eos, 0 for padding. */
  attentionMask: number[];
}

// The CLIP pre-tokenizer pattern, verbatim; 'i' stands for Python's re.IGNORECASE, 'u' gives
// \p{..} classes and code-point (not UTF-16 unit) matching.
const CLIP_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;
const END_OF_WORD = '</w>';
// CLIP keeps 49152 - 256 - 2 merges; transformers reads lines [1, 49152 - 256 - 2 + 1) after
// dropping the '#version' header line, i.e. 48894 merges.
const NUM_MERGES = 49152 - 256 - 2;
// The BPE cache is unbounded in transformers; bound it so a long-lived page cannot grow forever.
const MAX_CACHE = 50_000;

export class CLIPTokenizer {
  readonly bosToken: string;
  readonly eosToken: string;
  readonly padToken: string;
  readonly unkToken: string;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly unkTokenId: number;
  readonly modelMaxLength: number;
  /** vocab.json as parsed, with a null prototype so that any string is a safe key. */
  private readonly encoder: Record<string, number | undefined>;
  /** id -> token, built on the first decode (debug only; keeps construction cheap). */
  private decoder: string[] | undefined;
  /** "first second" -> merge rank (symbols never contain ' ': byte 0x20 is spelled 'Ġ'). */
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, string[]>();
  /** Splits out special tokens verbatim (case-sensitive), like transformers' added-tokens trie. */
  private readonly specialSplit: RegExp;
  private readonly specialTokens: Set<string>;

  constructor(vocabJson: string, mergesTxt: string, files: ClipTokenizerFiles = {}) {
    // Construction time is dominated by these two loops over ~49k entries, so both avoid
    // per-entry allocations (no Object.entries pairs, no split() unless a line is irregular).
    const vocab: unknown = JSON.parse(vocabJson);
    if (typeof vocab !== 'object' || vocab === null) throw new Error('clip_tokenizer: vocab.json is not an object');
    this.encoder = Object.setPrototypeOf(vocab, null) as Record<string, number | undefined>;

    // merges_handle.read().strip().split("\n")[1 : 49152 - 256 - 2 + 1]; line 0 is '#version: 0.2'.
    const lines = mergesTxt.trim().split('\n');
    const end = Math.min(lines.length, NUM_MERGES + 1);
    this.ranks = new Map();
    for (let i = 1; i < end; i++) {
      let key = lines[i];
      const sp = key.indexOf(' ');
      if (sp <= 0 || sp === key.length - 1 || key.indexOf(' ', sp + 1) >= 0 || /[^\S ]/.test(key)) {
        // Irregular spacing: normalise like Python's merge.split(). A line that is not exactly
        // two symbols can never match a pair, so skipping it (rank still consumed) is equivalent.
        const parts = key.trim().split(/\s+/);
        if (parts.length !== 2) continue;
        key = parts.join(' ');
      }
      this.ranks.set(key, i - 1);
    }

    // special_tokens_map.json wins over tokenizer_config.json (transformers _from_pretrained).
    const cfg = { ...parseJson(files.tokenizerConfigJson), ...parseJson(files.specialTokensMapJson) };
    this.bosToken = tokenContent(cfg.bos_token) ?? '<|startoftext|>';
    this.eosToken = tokenContent(cfg.eos_token) ?? '<|endoftext|>';
    this.padToken = tokenContent(cfg.pad_token) ?? '<|endoftext|>';
    this.unkToken = tokenContent(cfg.unk_token) ?? '<|endoftext|>';
    this.bosTokenId = this.idOf(this.bosToken);
    this.eosTokenId = this.idOf(this.eosToken);
    this.padTokenId = this.idOf(this.padToken);
    this.unkTokenId = this.idOf(this.unkToken);
    const mml = parseJson(files.tokenizerConfigJson).model_max_length;
    // transformers writes a huge sentinel (1e30) when the length is unset.
    this.modelMaxLength = typeof mml === 'number' && mml > 0 && mml < 1e6 ? mml : 77;

    this.specialTokens = new Set([this.bosToken, this.eosToken, this.padToken, this.unkToken]);
    const alts = [...this.specialTokens].sort((x, y) => y.length - x.length).map(escapeRegExp);
    this.specialSplit = new RegExp(`(${alts.join('|')})`, 'u');
    // Warm up once so that compiling the \p{..} regexes and the first-call JIT cost (several ms)
    // is paid here rather than by the first prompt.
    this.tokenize("Warm-up: it's 1 café 日本 😀");
    this.resetCache();
  }

  get vocabSize(): number {
    return Object.keys(this.encoder).length;
  }

  /** Text -> BPE token strings, without bos/eos (transformers `tokenize`). */
  tokenize(text: string): string[] {
    const out: string[] = [];
    // Special tokens typed verbatim are kept whole; the pieces between them are tokenized apart.
    for (const piece of text.split(this.specialSplit)) {
      if (piece === '') continue;
      if (this.specialTokens.has(piece)) out.push(piece);
      else for (const word of basicClean(piece).match(CLIP_PATTERN) ?? []) out.push(...this.bpe(bytesToBpeChars(word)));
    }
    return out;
  }

  /** Unknown tokens map to the unk id (never happens for byte-level BPE with this vocab). */
  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((t) => this.encoder[t] ?? this.unkTokenId);
  }

  convertIdsToTokens(ids: readonly number[]): string[] {
    if (this.decoder === undefined) {
      this.decoder = [];
      for (const tok in this.encoder) this.decoder[this.encoder[tok] as number] = tok;
    }
    const decoder = this.decoder;
    return ids.map((id) => {
      const t = decoder[id];
      if (t === undefined) throw new Error(`clip_tokenizer: id ${id} is outside the vocabulary`);
      return t;
    });
  }

  /** bos + tokens + eos, truncated and padded the way SD's pipeline calls the tokenizer. */
  encode(text: string, opts: EncodeOptions = {}): Encoding {
    const { maxLength = this.modelMaxLength, padding = 'max_length', truncation = true } = opts;
    if (maxLength < 2) throw new Error(`clip_tokenizer: maxLength=${maxLength} leaves no room for bos/eos`);
    let ids = this.convertTokensToIds(this.tokenize(text));
    // truncation=True is 'longest_first': trim the text ids so that the specials still fit.
    if (truncation && ids.length > maxLength - 2) ids = ids.slice(0, maxLength - 2);
    const inputIds = [this.bosTokenId, ...ids, this.eosTokenId];
    const attentionMask = inputIds.map(() => 1);
    if (padding === 'max_length') {
      while (inputIds.length < maxLength) {
        inputIds.push(this.padTokenId);
        attentionMask.push(0);
      }
    }
    return { inputIds, attentionMask };
  }

  /**
   * Ids -> text, for debugging. Like transformers `decode` with spaces between special tokens,
   * but without clean_up_tokenization_spaces (which differs between transformers versions).
   */
  decode(ids: readonly number[], { skipSpecialTokens = false } = {}): string {
    const parts: string[] = [];
    let run: string[] = [];
    const flush = () => {
      if (run.length > 0) parts.push(bpeCharsToText(run.join('')).replaceAll(END_OF_WORD, ' ').trim());
      run = [];
    };
    for (const tok of this.convertIdsToTokens(ids)) {
      if (!this.specialTokens.has(tok)) run.push(tok);
      else if (!skipSpecialTokens) {
        flush();
        parts.push(tok);
      }
    }
    flush();
    return parts.join(' ');
  }

  /** Drop memoised words (benchmarks use this to time the cold path). */
  resetCache(): void {
    this.cache.clear();
    // transformers seeds its cache so that the pattern's special-token alternatives map to
    // themselves (no '</w>'), e.g. for '<|ENDOFTEXT|>', which the case-sensitive split misses.
    for (const t of ['<|startoftext|>', '<|endoftext|>']) this.cache.set(t, [t]);
  }

  /** One pre-tokenized word (in byte characters) -> its BPE symbols; the last carries '</w>'. */
  private bpe(word: string): string[] {
    const hit = this.cache.get(word);
    if (hit !== undefined) return hit;
    let syms = Array.from(word);
    syms[syms.length - 1] += END_OF_WORD;
    // Repeatedly merge the lowest-ranked adjacent pair, every occurrence left to right.
    while (syms.length > 1) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = this.ranks.get(`${syms[i]} ${syms[i + 1]}`);
        if (r !== undefined && r < best) {
          best = r;
          at = i;
        }
      }
      if (at < 0) break;
      const first = syms[at];
      const second = syms[at + 1];
      const merged: string[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === first && syms[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(syms[i]);
        }
      }
      syms = merged;
    }
    if (this.cache.size >= MAX_CACHE) this.resetCache();
    this.cache.set(word, syms);
    return syms;
  }

  private idOf(token: string): number {
    const id = this.encoder[token];
    if (id === undefined) throw new Error(`clip_tokenizer: special token '${token}' is not in vocab.json`);
    return id;
  }
}

type JsonObject = Record<string, unknown>;

function parseJson(text: string | undefined): JsonObject {
  if (text === undefined) return {};
  const v: unknown = JSON.parse(text);
  return typeof v === 'object' && v !== null ? (v as JsonObject) : {};
}

/** A special token is either "<|x|>" or an AddedToken dict {"content": "<|x|>", ...}. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as JsonObject).content === 'string') return (v as JsonObject).content as string;
  return undefined;
}

function escapeRegExp(s: string): string {
  // Only syntax characters may be escaped under the 'u' flag (so not '-').
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
