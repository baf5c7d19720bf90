r"""How text is cut into pieces before BPE: the part of the tokenizer that makes code whitespace cheap.

A byte-level BPE never merges across pre-tokenizer pieces, so the pieces decide which tokens *can* exist.
GPT-2's pattern was made for prose: indentation is split into "all spaces but one" plus " word", and
`snake_case` names are cut at every underscore. Our pattern is made for code:

- a line break, any blank lines after it and the next line's indentation form ONE piece, together
  with up to three punctuation characters that close the line before it and open the next one
  (`):\n        `, `;\n    }`, `{\n\t`), so each indentation level the corpus uses becomes one token
  (or part of a frequent line-end token), shared by every language; CRLF and trailing spaces join it;
- an identifier (letters, digits, `_`, with one optional leading space) is one piece, so frequent
  names like ` self`, `__init__`, ` std` or ` fmt` can become single tokens;
- digits are cut in groups of at most three (numbers do not eat the vocabulary);
- punctuation runs stay together with one optional space before and after (` = `, `, `, `) {`);
- any other whitespace run (alignment, a lone `\r`) is a piece of its own.

No two neighbouring parts of an alternative can match the same character (`[ \t]` vs `\n`), so the
regex never backtracks more than linearly: a first version with `[ \t]*...\s*` made Oniguruma give up
("retry-limit-in-match") on a run of 200,000 spaces, which would have crashed the stage on one odd file.

Measured on 7.5 MB of this machine's code (docs/tokenize.md): about +8 % bytes/token over the same pattern
without the line-end/punctuation rules, +13 % over GPT-2's pattern at the same vocabulary size.

Every byte of the input lands in exactly one piece (the final `\s+|.` alternatives catch the rest),
and the byte-level alphabet covers all 256 bytes, so `decode(encode(text)) == text` always holds.
"""

from __future__ import annotations

from tokenizers import Regex, pre_tokenizers

# Order matters: the regex engine takes the first alternative that matches at each position.
_PUNCT = r"[^\s\p{L}\p{N}_]"
CODE_PATTERN = (
    # line end (up to 3 closing punctuation chars, trailing blanks) + break(s) + indentation (+ 3 opening chars)
    rf"{_PUNCT}{{0,3}}[ \t]*(?:\r?\n[ \t]*)+{_PUNCT}{{0,3}}"
    r"| ?[\p{L}_][\p{L}\p{N}_]*"  # identifiers / words, optional leading space
    r"| ?\p{N}{1,3}"  # digits in groups of up to three
    rf"| ?{_PUNCT}+ ?"  # punctuation / operator runs, optional space on each side
    r"|\s+"  # any other whitespace run (alignment spaces, tabs)
    r"|."  # anything left (never reached in practice; keeps the cover total)
)

# GPT-2's published pre-tokenizer pattern, used only as the benchmark baseline (plain byte-level BPE).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def code_pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    """Split with CODE_PATTERN, then map bytes to the byte-level alphabet (no regex, no prefix space)."""
    return pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CODE_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])


def gpt2_pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    """The plain GPT-2 byte-level pre-tokenizer (its built-in regex), for the benchmark baseline."""
    return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
