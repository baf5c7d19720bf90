"""Every folder codegen writes loads with transformers 4.x too, not only with the 5.x it runs on.

Many serving and eval stacks still pin transformers 4. This test makes a second environment with the
newest 4.x from the package registry (a venv over the system site-packages, so torch is not downloaded
again; kept in ~/.cache/codegen/test-envs between runs), then loads there, in a subprocess, the tokenizer
folders made by `codegen tokenize` (both tag styles), the model folder made by `codegen train` (RUN/hf) and
the one made by `codegen export`, and checks token ids, decoding and logits against this environment's.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from codegen_cli.tokenizer.train_bpe import train_tokenizer
from tests.conftest import toolchain_missing
from tests.train.conftest import run_cli, train_args

pytestmark = pytest.mark.slow

VENV = Path(os.environ.get("CODEGEN_TEST_TF4_VENV",
                           Path.home() / ".cache" / "codegen" / "test-envs" / "transformers4"))
INSTALL = "transformers>=4.56,<5"
TEXT = "# language: Python\ndef add(a, b):\n\treturn a + b  # ünïcode\r\n<|endoftext|>"

# Runs inside the 4.x venv: loads each folder, prints one JSON object per folder.
LOADER = r"""
import json, sys
import torch, transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast
text = sys.argv[1]
for folder in sys.argv[2:]:
    row = {"folder": folder, "version": transformers.__version__}
    auto = AutoTokenizer.from_pretrained(folder)
    fast = PreTrainedTokenizerFast.from_pretrained(folder)
    ids = auto(text)["input_ids"]
    row.update(ids=ids, fast_ids=fast(text)["input_ids"], decoded=auto.decode(ids),
               eos=auto.eos_token, pad=auto.pad_token, specials=sorted(auto.all_special_tokens),
               chat_template=bool(auto.chat_template))
    try:
        import pathlib
        if (pathlib.Path(folder) / "model.safetensors").is_file():
            model = AutoModelForCausalLM.from_pretrained(folder)
            with torch.no_grad():
                row["logits"] = model(torch.tensor([ids])).logits[0, -1, :8].tolist()
    finally:
        print(json.dumps(row))
"""


def _venv_python() -> Path:
    """The 4.x venv's python, made (or repaired) from the package registry when needed.

    It is built from the RUNNING interpreter's environment, which may itself be a venv: `--system-site-
    packages` would only reach the base interpreter's site-packages (where torch may not be), so a .pth
    file appends this environment's site-packages after the venv's own (its transformers 4.x wins). A venv
    made for another environment is rebuilt."""
    python = VENV / "bin" / "python"
    parent = [p for p in site.getsitepackages() + [site.getusersitepackages()] if Path(p).is_dir()]
    marker = VENV / "codegen-parent-site-packages.txt"
    probe = [str(python), "-c", "import torch, transformers; print(transformers.__version__)"]
    if python.is_file() and marker.is_file() and marker.read_text() == "\n".join(parent):
        done = subprocess.run(probe, capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.startswith("4."):
            return python
    VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    (Path(own) / "codegen-parent-env.pth").write_text("".join(f"{p}\n" for p in parent))
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", INSTALL],
                             capture_output=True, text=True, check=False, timeout=900)
    if install.returncode != 0:
        toolchain_missing(f"could not install {INSTALL!r} into {VENV} ({install.stderr.strip()[-300:]}); "
                          f"run `{python} -m pip install '{INSTALL}'` with access to the package registry")
    marker.write_text("\n".join(parent))
    return python


def _load_in_4x(folders: list[Path]) -> list[dict]:
    done = subprocess.run([str(_venv_python()), "-c", LOADER, TEXT, *map(str, folders)],
                          capture_output=True, text=True, check=False, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _here(folder: Path) -> dict:
    """The same figures from this environment (transformers 5)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    ids = tok(TEXT)["input_ids"]
    row = {"ids": ids, "decoded": tok.decode(ids), "specials": sorted(tok.all_special_tokens)}
    if (folder / "model.safetensors").is_file():
        model = AutoModelForCausalLM.from_pretrained(folder)
        with torch.no_grad():
            row["logits"] = model(torch.tensor([ids])).logits[0, -1, :8].tolist()
    return row


def test_tokenizers_and_models_load_with_transformers_4(tokens_dir: Path, tmp_path: Path) -> None:
    import transformers

    assert transformers.__version__.startswith("5."), "this environment is the 5.x side of the comparison"
    token_style = train_tokenizer([("def f(x):\n    return x + 1\n" * 40, "Python"),
                                   ("int main() { return 0; }\n" * 40, "C++")],
                                  tmp_path / "token-style", vocab_size=400, tag_style="token")
    run = tmp_path / "run"
    trained = run_cli(train_args(tokens_dir, run, "--max-steps", "3", "--save-every", "3"))
    assert trained.returncode == 0, trained.stderr[-2000:]
    exported = run_cli(["export", str(run), "-o", str(tmp_path / "export"), "--dtype", "bfloat16"])
    assert exported.returncode == 0, exported.stderr[-2000:]
    folders = [tokens_dir / "tokenizer", token_style, run / "hf", tmp_path / "export"]

    rows = _load_in_4x(folders)

    assert [row["folder"] for row in rows] == [str(f) for f in folders]
    for folder, row in zip(folders, rows):
        here = _here(folder)
        assert row["version"].startswith("4."), row["version"]
        assert row["ids"] == row["fast_ids"] == here["ids"], folder
        assert row["decoded"] == here["decoded"] == TEXT, folder  # exact round trip in both majors
        assert row["specials"] == here["specials"] and "<|fim_prefix|>" in row["specials"], folder
        assert row["eos"] == "<|endoftext|>" and row["pad"] == "<|pad|>" and row["chat_template"], folder
        if "logits" in here:
            tolerance = 0.05 if folder.name == "export" else 1e-4  # bfloat16 export: ~3 significant digits
            assert row["logits"] == pytest.approx(here["logits"], abs=tolerance), folder
    assert "<|lang:C++|>" in rows[1]["specials"] and "logits" in rows[2] and "logits" in rows[3]
