"""The top-level app: version, help, exit-code documentation."""

import subprocess
import sys

from codegen_cli import __version__


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"codegen {__version__}"


def test_help_lists_stages_and_exit_codes(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("collect", "tokenize", "train", "eval", "run", "doctor"):
        assert command in result.stdout
    assert "Exit codes" in result.stdout


def test_console_script_runs_as_module():
    proc = subprocess.run([sys.executable, "-m", "codegen_cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert __version__ in proc.stdout
