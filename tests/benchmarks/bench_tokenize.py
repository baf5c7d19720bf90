"""Benchmark the tokenize stage on real code from this machine (not collected by pytest).

    python tests/benchmarks/bench_tokenize.py [--corpus CORPUS] [--mb-per-language 4] [--vocab-size 16384]

Without --corpus it builds one from source trees found on the machine (Python stdlib, Go stdlib, JDK
src.zip, Boost headers, npm's JS, Rust sources, C files and headers, shell scripts), capped per
language, in the corpus/ layout of contracts.md. Prints, per language, bytes/token on the held-out
(val) files for:
  (a) ours: `codegen tokenize` (code pre-tokenizer), token and comment tag styles;
  (b) a same-size byte-level BPE with GPT-2's pre-tokenizer and no whitespace handling;
  (c) (b) plus CodeGeeX's added tokens for runs of 2-10 spaces;
and the stage's encode throughput vs bare `encode_batch`, training time and peak memory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from codegen_cli.languages import detect_language, with_tag
from codegen_cli.manifest import Manifest, write_manifest

MAX_FILE = 200_000  # skip huge generated files, like collect's size filter would


def _globs() -> dict[str, list[tuple[Path, str]]]:
    """language -> [(root, glob)] of trees on this machine."""
    rust = sorted(Path.home().glob(".rustup/toolchains/*/lib/rustlib/src"))
    return {
        "Python": [(Path(sysconfig.get_paths()["stdlib"]), "**/*.py")],
        "Go": [(p, "**/*.go") for p in sorted(Path("/usr/lib").glob("go-*/src"))],
        "C++": [(Path("/usr/include/boost"), "**/*.hpp")],
        "C": [(Path("/usr/share"), "**/*.c"), (Path("/usr/include"), "*.h")],
        "JavaScript": [(Path("/usr/lib/node_modules"), "**/*.js")],
        "Rust": [(p, "**/*.rs") for p in rust] + [(Path.home() / ".cargo", "**/*.rs"), (Path("/usr/share/cargo"), "**/*.rs")],
        "Shell": [(Path("/usr"), "**/*.sh")],
    }


def _order(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()  # spread picks over all subfolders, deterministically


def _take(items, language: str, cap: int) -> list[tuple[str, str]]:
    out, total, seen = [], 0, set()
    for name, read in sorted(items, key=lambda item: _order(item[0])):
        if total >= cap:
            break
        try:
            text = read()
        except (OSError, UnicodeDecodeError):
            continue
        if not text.strip() or len(text) > MAX_FILE or "\0" in text or text in seen:
            continue
        if detect_language(name, text) != language:
            continue
        seen.add(text)
        out.append((name, text))
        total += len(text.encode())
    return out


def gather(mb: float) -> list[tuple[str, str, str]]:
    cap = int(mb * 1e6)
    docs: list[tuple[str, str, str]] = []
    for language, roots in _globs().items():
        items = []
        for root, pattern in roots:
            if root.is_dir():
                items += [(str(p), (lambda p=p: p.read_text(encoding="utf-8"))) for p in root.glob(pattern)
                          if p.is_file() and "testdata" not in p.parts]
        docs += [(name, language, text) for name, text in _take(items, language, cap)]
    jdk = next(iter(sorted(Path("/usr/lib/jvm").glob("*/lib/src.zip"))), None)
    if jdk:
        with zipfile.ZipFile(jdk) as archive:
            names = [n for n in archive.namelist() if n.endswith(".java")]
            items = [(n, (lambda n=n: archive.read(n).decode("utf-8"))) for n in names]
            docs += [(name, "Java", text) for name, text in _take(items, "Java", cap)]
    return docs


def write_corpus(folder: Path, docs: list[tuple[str, str, str]]) -> Path:
    rows = [{"id": hashlib.sha256(t.replace("\r\n", "\n").encode()).hexdigest(), "content": t, "language": lang,
             "path": p, "source": "machine", "license": None, "size_bytes": len(t.encode()),
             "num_lines": t.count("\n")} for p, lang, t in docs]
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(rows), 4000)):
        pq.write_table(pa.Table.from_pylist(rows[start:start + 4000]), folder / "data" / f"part-{number:05d}.parquet",
                       compression="zstd", row_group_size=1000)
    per: dict = {}
    for row in rows:
        entry = per.setdefault(row["language"], {"files": 0, "bytes": 0})
        entry["files"] += 1
        entry["bytes"] += row["size_bytes"]
    write_manifest(folder, Manifest(stage="collect", counts={"documents": len(rows), "per_language": per}))
    return folder


def run_stage(corpus: Path, out: Path, *extra: str) -> tuple[dict, float, float]:
    """Run `codegen tokenize` as a process; (summary, wall seconds, peak RSS MB of any process it ran)."""
    command = [sys.executable, "-m", "codegen_cli", "tokenize", str(corpus), "-o", str(out), "--json", *extra]
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(command, capture_output=True, text=True, check=False, env={**os.environ, "CODEGEN_NO_PROGRESS": "1"})
    wall = time.monotonic() - start
    if done.returncode:
        raise SystemExit(done.stderr)
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return json.loads(done.stdout), wall, peak


def read_docs(corpus: Path):
    from codegen_cli.tokenizer.corpus import iter_documents

    return list(iter_documents(sorted((corpus / "data").glob("*.parquet"))))


def baseline(train_texts: list[str], vocab_size: int, whitespace_tokens: bool):
    from codegen_cli.tokenizer.train_bpe import train_bpe

    tok = train_bpe(train_texts, vocab_size=vocab_size - (9 if whitespace_tokens else 0), pre_tokenizer="gpt2")
    if whitespace_tokens:
        tok.add_tokens([" " * k for k in range(2, 11)])  # CodeGeeX: runs of 2..10 spaces
    return tok


def bytes_per_token(tok, docs) -> dict[str, float]:
    acc: dict[str, list[int]] = {}
    encoded = tok.encode_batch_fast([content for _, _, content in docs], add_special_tokens=False)
    for (_, lang, content), enc in zip(docs, encoded):
        pair = acc.setdefault(lang, [0, 0])
        pair[0] += len(content.encode())
        pair[1] += len(enc.ids)
    total = [sum(p[0] for p in acc.values()), sum(p[1] for p in acc.values())]
    return {**{k: v[0] / v[1] for k, v in sorted(acc.items())}, "ALL": total[0] / total[1]}


def tag_cost(folder: Path, docs, style: str) -> float:
    """Bytes/token of whole documents (tag + content) as the stage writes them, without eos."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer" / "tokenizer.json"))
    tok.encode_special_tokens = style != "token"
    texts = [with_tag(c, lang, style) if style == "comment" else c for _, lang, c in docs]
    tokens = sum(len(e.ids) for e in tok.encode_batch_fast(texts, add_special_tokens=False))
    tokens += len(docs) if style == "token" else 0
    return sum(len(c.encode()) for _, _, c in docs) / tokens


def cpu_overhead(corpus: Path, tokenizer_dir: Path) -> tuple[float, float]:
    """CPU seconds, one thread: the stage's per-unit work (read, tag, encode, split, write) vs read + bare
    encode_batch_fast of the same units. Load-independent, unlike wall-clock MB/s on a shared machine."""
    from codegen_cli.tokenizer import corpus as corpus_io
    from codegen_cli.tokenizer.encode import EncodeJob, _load, encode_unit
    from codegen_cli.tokenizer.folder import load_tokenizer_folder

    folder = load_tokenizer_folder(tokenizer_dir)
    units = corpus_io.work_units(corpus_io.parquet_files(corpus), 2048, 64_000_000)
    parts = tokenizer_dir.parent / "bench_parts"  # inside the work folder: removed with it
    parts.mkdir(exist_ok=True)
    job = EncodeJob(tokenizer_file=str(folder.path / "tokenizer.json"), tag_style=folder.tag_style,
                    tag_ids=folder.tag_ids, eos_id=folder.special_ids["eos"], dtype="uint16", val_fraction=0.1,
                    languages=None, parts_dir=str(parts), verify=False)
    tok = _load(job.tokenizer_file)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one thread: process_time then measures work, not waiting
    stage, bare = float("inf"), float("inf")
    for _ in range(2):  # alternate and keep the best of two: the BPE cache warms up on the first pass
        start = time.process_time()
        for unit in units:
            tok.encode_batch_fast(corpus_io.read_unit(unit)[2], add_special_tokens=False)
        bare = min(bare, time.process_time() - start)
        start = time.process_time()
        for unit in units:
            encode_unit(job, unit)
        stage = min(stage, time.process_time() - start)
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    return stage, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--mb-per-language", type=float, default=4.0)
    parser.add_argument("--vocab-size", type=int, default=16384)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    scratch = None if args.work else tempfile.TemporaryDirectory(prefix="bench_tokenize.")
    work = args.work or Path(scratch.name)
    try:
        measure(args, work)
    finally:
        if scratch is not None:
            scratch.cleanup()  # nothing left in the temp dir (only --work keeps its files)


def measure(args: argparse.Namespace, work: Path) -> None:
    corpus = args.corpus or write_corpus(work / "corpus", gather(args.mb_per_language))
    docs = read_docs(corpus)
    print(f"corpus {corpus}: {len(docs)} files, {sum(len(c.encode()) for *_, c in docs) / 1e6:.1f} MB; "
          f"work {work}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    common = ["--vocab-size", str(args.vocab_size), "--val-fraction", "0.1", "--workers", str(args.workers)]
    ours, wall, peak = run_stage(corpus, work / "tok_token", *common, "--tag-style", "token")
    print(f"(a) ours/token: train {ours['seconds']['train_tokenizer']:.1f}s, encode {ours['seconds']['encode']:.1f}s, "
          f"total {wall:.1f}s wall, peak RSS {peak:.0f} MB")
    comment, wall_c, _ = run_stage(corpus, work / "tok_comment", *common, "--tag-style", "comment")
    print(f"(a) ours/comment: train {comment['seconds']['train_tokenizer']:.1f}s, total {wall_c:.1f}s")

    from codegen_cli.tokenizer.corpus import is_val
    from codegen_cli.tokenizer.encode import _load

    held = [d for d in docs if is_val(d[0], 0.1)]
    train_texts = [c for doc_id, _, c in docs if not is_val(doc_id, 0.1)]
    start = time.monotonic()
    plain = baseline(train_texts, args.vocab_size, whitespace_tokens=False)
    t_plain = time.monotonic() - start
    ws = baseline(train_texts, args.vocab_size, whitespace_tokens=True)
    print(f"(b) plain GPT-2-style BPE trained in {t_plain:.1f}s (in-process)")
    ours_tok = _load(str(work / "tok_token" / "tokenizer" / "tokenizer.json"))
    rows = {"(a) ours": bytes_per_token(ours_tok, held), "(b) gpt2-style": bytes_per_token(plain, held),
            "(c) gpt2 + ws tokens": bytes_per_token(ws, held)}
    langs = list(rows["(a) ours"])
    print("\nbytes/token on held-out files (content only, higher is better)")
    print(f"{'tokenizer':22}" + "".join(f"{lang:>11}" for lang in langs))
    for name, row in rows.items():
        print(f"{name:22}" + "".join(f"{row[lang]:>11.3f}" for lang in langs))
    print("\ntag styles, bytes/token of whole held-out documents (tag + content):")
    print(f"  token   {tag_cost(work / 'tok_token', held, 'token'):.4f}")
    print(f"  comment {tag_cost(work / 'tok_comment', held, 'comment'):.4f}")

    stage_cpu, bare_cpu = cpu_overhead(corpus, work / "tok_token" / "tokenizer")
    print(f"\nCPU time, one thread: stage unit work {stage_cpu:.2f}s vs read + bare encode_batch_fast "
          f"{bare_cpu:.2f}s ({bare_cpu / stage_cpu:.0%})")
    texts = [c for *_, c in docs]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    start = time.monotonic()
    ours_tok.encode_batch(texts, add_special_tokens=False)
    bare = time.monotonic() - start
    start = time.monotonic()
    ours_tok.encode_batch_fast(texts, add_special_tokens=False)
    bare_fast = time.monotonic() - start
    again, wall_r, _ = run_stage(corpus, work / "tok_reuse", *common, "--tokenizer", str(work / "tok_token" / "tokenizer"))
    enc = again["seconds"]["encode"]
    print(f"\nthroughput on {mb:.1f} MB: bare encode_batch {mb / bare:.2f} MB/s, bare encode_batch_fast "
          f"{mb / bare_fast:.2f} MB/s; stage encode phase {mb / enc:.2f} MB/s ({bare / enc:.0%} of encode_batch, "
          f"{bare_fast / enc:.0%} of _fast); whole command with a given tokenizer {mb / wall_r:.2f} MB/s "
          f"({bare / wall_r:.0%} / {bare_fast / wall_r:.0%}; includes start-up, parquet, shards)")


if __name__ == "__main__":
    main()
