"""Train a byte-level BPE on code and save it as a Hugging Face tokenizer folder.

The folder holds `tokenizer.json` + `tokenizer_config.json` (what `AutoTokenizer.from_pretrained` reads,
offline), `chat_template.jinja` (adds the language tag from `transformers`, see docs/tokenize.md) and
our `codegen_tokenizer.json` (tag style and languages). Training streams its texts: the trainer keeps
only counts of distinct pre-tokenizer pieces, so memory is bounded by the vocabulary of the sample, not
by the corpus size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from codegen_cli.atomic import atomic_dir, atomic_write_json, atomic_write_text
from codegen_cli.errors import UsageError
from codegen_cli.languages import (
    BY_NAME,
    HUMANEVAL_X_KEYS,
    LANGUAGES,
    language_tag,
    resolve,
    tag_token,
    with_tag,
)
from codegen_cli.tokenizer.specials import (
    BYTE_ALPHABET_SIZE,
    CODEGEN_TOKENIZER_FILE,
    CODEGEN_TOKENIZER_FORMAT,
    SPECIAL_TOKENS,
    TAG_STYLES,
)
from codegen_cli.tokenizer.whitespace import code_pre_tokenizer, gpt2_pre_tokenizer

# Fewest merges we accept on top of specials, tags and the 256 bytes: below this BPE is barely a tokenizer.
MIN_MERGES = 1


def tag_tokens_for(languages: Iterable[str], tag_style: str) -> list[str]:
    """The special tag tokens a tokenizer needs: one per language for `token` style, none otherwise."""
    if tag_style not in TAG_STYLES:
        raise UsageError(f"tag_style {tag_style!r}: use one of {', '.join(TAG_STYLES)}")
    if tag_style != "token":
        return []
    return [tag_token(name) for name in sorted({resolve(lang).name for lang in languages})]


def check_vocab_size(vocab_size: int, n_tags: int) -> None:
    """Raise a one-line UsageError when `vocab_size` cannot hold the specials, tags and byte alphabet."""
    floor = len(SPECIAL_TOKENS) + n_tags + BYTE_ALPHABET_SIZE + MIN_MERGES
    if vocab_size < floor:
        raise UsageError(
            f"--vocab-size {vocab_size} is too small: {len(SPECIAL_TOKENS)} special tokens + {n_tags} language "
            f"tags + {BYTE_ALPHABET_SIZE} bytes need at least {floor}; use --vocab-size {max(floor, 1024)} or more"
        )


def new_tokenizer(pre_tokenizer: str = "code") -> Tokenizer:
    """An untrained byte-level BPE with our pre-tokenizer (or GPT-2's for the baseline) and no normalizer.

    No normalizer and a byte-level decoder are what make decode(encode(text)) == text exact.
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = code_pre_tokenizer() if pre_tokenizer == "code" else gpt2_pre_tokenizer()
    tok.decoder = decoders.ByteLevel()
    return tok


def train_bpe(
    texts: Iterable[str],
    *,
    vocab_size: int,
    tag_tokens: Sequence[str] = (),
    min_frequency: int = 2,
    pre_tokenizer: str = "code",
    show_progress: bool = False,
) -> Tokenizer:
    """Train on a stream of texts; specials get ids 0..4, tag tokens next, then bytes and merges."""
    check_vocab_size(vocab_size, len(tag_tokens))
    tok = new_tokenizer(pre_tokenizer)
    specials = [*SPECIAL_TOKENS.values(), *tag_tokens]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: no <unk>, ever
        show_progress=show_progress,
    )
    # Ctrl-C lands only when the Rust trainer returns (it raises KeyboardInterrupt then, before any save).
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def _json(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True)


def _chat_template(tag_style: str, languages: Sequence[str]) -> str:
    """A Jinja template that puts the tag before the text: `apply_chat_template(msgs, language=...)`
    or `filename=...` (extension or file name, like collect decides; `.h` counts as C).

    Keys are canonical names and HumanEval-X keys; an unknown or missing language adds no tag.
    """
    names = list(BY_NAME) if tag_style == "comment" else list(languages)
    tags: dict[str, str] = {}
    for name in names:
        tags[name] = language_tag(name) + "\n" if tag_style == "comment" else tag_token(name)
    for key, name in HUMANEVAL_X_KEYS.items():
        if name in tags:
            tags[key] = tags[name]
    by_file = {**{ext: lang.name for lang in reversed(LANGUAGES) for ext in lang.extensions if lang.name in tags},
               **{fn: lang.name for lang in reversed(LANGUAGES) for fn in lang.filenames if lang.name in tags}}
    if "C" in tags:
        by_file[".h"] = "C"
    return (
        "{%- set tags = " + _json(tags) + " -%}\n"
        "{%- set by_file = " + _json(by_file) + " -%}\n"
        "{%- set key = language if language is defined else '' -%}\n"
        "{%- if not key and filename is defined -%}\n"
        "{%- set base = filename.split('/')[-1] -%}\n"
        "{%- set ext = '.' ~ base.split('.')[-1] if '.' in base else '' -%}\n"
        "{%- set key = by_file.get(base) or by_file.get(ext) or by_file.get(ext | lower) or '' -%}\n"
        "{%- endif -%}\n"
        "{%- for message in messages -%}\n"
        "{%- if loop.first and key in tags -%}{{ tags[key] }}{%- endif -%}\n"
        "{{ message['content'] }}\n"
        "{%- endfor -%}\n"
    )


# tokenizer_config.json keys that transformers 5 writes and 4.x cannot read, with the 4.x spelling both read:
# 4.x knows no class `TokenizersBackend` (5.x keeps `PreTrainedTokenizerFast` as its alias) and wants the
# extra special tokens as `additional_special_tokens` (5.x reads that name too and maps it onto its own).
PORTABLE_KEYS = {"extra_special_tokens": "additional_special_tokens"}
PORTABLE_CLASS = "PreTrainedTokenizerFast"


def make_config_portable(folder: Path) -> None:
    """Rewrite `folder/tokenizer_config.json` in the spelling transformers 4.56+ and 5.x both load.

    Whatever version saved it (the running one may be either major), the file ends with
    `tokenizer_class: PreTrainedTokenizerFast`, the extra specials under `additional_special_tokens`, and
    no `backend` key (5.x's default backend is the tokenizers one anyway). Tested against both majors in
    tests/tokenizer/test_transformers4.py.
    """
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.pop("backend", None)
    config["tokenizer_class"] = PORTABLE_CLASS
    for new, old in PORTABLE_KEYS.items():
        if isinstance(config.get(new), list):
            config[old] = config.pop(new)
    atomic_write_text(path, json.dumps(config, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def save_tokenizer_folder(tok: Tokenizer, out_dir: str | Path, *, tag_style: str, languages: Sequence[str]) -> Path:
    """Write the HF folder + codegen_tokenizer.json to a temp folder, then rename it into place."""
    from transformers import PreTrainedTokenizerFast  # lazy: transformers takes seconds to import

    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        tag_tokens = tag_tokens_for(languages, tag_style)
        hf = PreTrainedTokenizerFast(
            tokenizer_object=tok,
            eos_token=SPECIAL_TOKENS["eos"],
            pad_token=SPECIAL_TOKENS["pad"],
            additional_special_tokens=[*list(SPECIAL_TOKENS.values())[2:], *tag_tokens],
            clean_up_tokenization_spaces=False,  # never touch spaces: the round trip must be exact
        )
        hf.save_pretrained(str(tmp))
        make_config_portable(tmp)
        atomic_write_text(tmp / "chat_template.jinja", _chat_template(tag_style, languages))
        info = {
            "format_version": CODEGEN_TOKENIZER_FORMAT,
            "tag_style": tag_style,
            "languages": sorted({resolve(lang).name for lang in languages}),
        }
        atomic_write_json(tmp / CODEGEN_TOKENIZER_FILE, info)
    return out_dir


def training_texts(docs: Iterable[tuple[str, str]], tag_style: str) -> Iterator[str]:
    """Texts the trainer sees: comment-style tags are text and get learned; tag tokens are not text."""
    for text, language in docs:
        yield with_tag(text, language, "comment") if tag_style == "comment" else text


def train_tokenizer(
    docs: Iterable[tuple[str, str]],
    out_dir: str | Path,
    *,
    vocab_size: int = 8192,
    tag_style: str = "token",
    languages: Sequence[str] | None = None,
    min_frequency: int = 2,
) -> Path:
    """Train on (text, language) pairs and save a complete tokenizer folder at `out_dir`.

    For other stages' tests and for users: `train_tokenizer([(code, "Python"), ...], "tok/")`.
    `languages` defaults to those in `docs` (the docs are then held in memory once).
    """
    if languages is None:
        docs = list(docs)
        languages = sorted({resolve(lang).name for _, lang in docs})
    tok = train_bpe(
        training_texts(docs, tag_style),
        vocab_size=vocab_size,
        tag_tokens=tag_tokens_for(languages, tag_style),
        min_frequency=min_frequency,
    )
    return save_tokenizer_folder(tok, out_dir, tag_style=tag_style, languages=languages)
