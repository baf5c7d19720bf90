"""`codegen export --push-to-hub REPO`: upload a finished model folder with huggingface_hub.

The folder is complete on disk before anything is sent, so a failed push loses nothing: the message says
how to push the same folder later. Failures map onto the exit-code contract: a malformed repository id or a
missing/refused token is the user's to fix (exit 2); no network, offline mode or a hub error is a failed
job (exit 1).
"""

from __future__ import annotations

from pathlib import Path

from codegen_cli.errors import JobFailed, UsageError

AUTH_STATUSES = (401, 403)


def _later(folder: Path, repo: str) -> str:
    return f"the folder {folder} is complete; push it later with `hf upload {repo} {folder}`"


def check_repo_id(repo: str) -> None:
    """A malformed repository id is a usage error (exit 2), found before any work is done."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo)
    except HFValidationError as exc:
        raise UsageError(f"--push-to-hub {repo!r}: not a repository id ({str(exc).splitlines()[0]}); "
                         "use user/name or org/name") from exc


def push_folder(folder: Path, repo: str, *, private: bool = False) -> str:
    """Create `repo` (model type) if needed and upload `folder` in one commit; returns the commit URL."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    check_repo_id(repo)
    api = HfApi()
    try:
        api.create_repo(repo, private=private, exist_ok=True)
        commit = api.upload_folder(repo_id=repo, folder_path=str(folder),
                                   commit_message="Upload model exported by codegen")
    except OfflineModeIsEnabled as exc:
        raise JobFailed(f"--push-to-hub {repo}: offline mode is on (HF_HUB_OFFLINE=1); unset it to push; "
                        f"{_later(folder, repo)}") from exc
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        first = str(exc).splitlines()[0][:200]
        if status in AUTH_STATUSES:
            raise UsageError(f"--push-to-hub {repo}: the hub refused the token ({first}); log in with "
                             f"`hf auth login` or set HF_TOKEN to a token with write access") from exc
        raise JobFailed(f"--push-to-hub {repo}: the hub answered {status} ({first}); {_later(folder, repo)}") from exc
    except Exception as exc:  # no network: requests/httpx connection errors, DNS, TLS, timeouts
        first = (str(exc).splitlines() or [""])[0][:200]
        raise JobFailed(f"--push-to-hub {repo}: cannot reach the hub ({type(exc).__name__}: {first}); "
                        f"check the network or HF_ENDPOINT; {_later(folder, repo)}") from exc
    return str(getattr(commit, "commit_url", commit))
