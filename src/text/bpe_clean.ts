// Text clean-up that transformers' CLIPTokenizer applies when ftfy is NOT installed (the path the
// SD 1.4 goldens were made with): `" ".join(BasicTokenizer(strip_accents=False,
// do_split_on_punc=False).tokenize(text))`. Source: transformers models/clip/tokenization_clip.py
// (BasicTokenizer is copied there from models/bert/tokenization_bert.py).
// Steps, in BasicTokenizer order:
//   1. _clean_text: drop NUL, U+FFFD and category C* (except \t \n \r); \t \n \r and Zs -> ' '
//   2. _tokenize_chinese_chars: put spaces around CJK ideographs (so each becomes its own word)
//   3. NFC normalisation
//   4. split on whitespace, lower-case each word (accents are kept: strip_accents=False)
//   5. no punctuation split (do_split_on_punc=False); words re-joined with single spaces

// Python's _is_control is unicodedata.category(c).startswith('C') minus \t \n \r; _clean_text
// also drops U+0000 (itself Cc) and U+FFFD. Lone UTF-16 surrogates are Cs, so they go too.
const DROP = /[\uFFFD]|(?![\t\n\r])\p{C}/gu;
// Python's _is_whitespace: ' ', \t, \n, \r or category Zs.
const TO_SPACE = /[\t\n\r\p{Zs}]/gu;
// BasicTokenizer._is_chinese_char: the CJK Unified Ideographs blocks (not kana or hangul).
const CJK = /[\u4E00-\u9FFF\u3400-\u4DBF\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B820}-\u{2CEAF}\uF900-\uFAFF\u{2F800}-\u{2FA1F}]/gu;
// Python's str.split() splits on str.isspace() characters. After step 1 the only ones left are
// ' ', U+2028 and U+2029, all of which JS \s also matches (JS \s's extra members are Zs or C*).
const WHITESPACE = /\s+/u;

/** Clean, NFC-normalise and lower-case `text`; words come back joined by single spaces. */
export function basicClean(text: string): string {
  const t = text.replace(DROP, '').replace(TO_SPACE, ' ').replace(CJK, ' $& ').normalize('NFC').trim();
  if (t === '') return '';
  // Lower-case word by word as Python does (only matters for the context-sensitive final sigma).
  return t.split(WHITESPACE).map((w) => w.toLowerCase()).join(' ');
}
