"""What the warm-runtime languages (Python, JavaScript) share: a runtime pool per scoring context, a run
hook for the executor, the note summary.json records, and closing the pools when the run ends."""

from __future__ import annotations

import threading
from typing import Any


class WarmLanguage:
    """Mixin for a language module whose programs run through `runtime.client.RuntimePool`: the subclass
    says how to make the pool (`make_pool(ctx)`); assembly puts `candidate` (the program text the sandbox
    runs) and `job` (what the trusted judge needs) into Program.meta."""

    def __init__(self) -> None:
        self._pools: dict[int, tuple[Any, Any]] = {}
        self._notes: list[str] = []
        self._lock = threading.Lock()

    def make_pool(self, ctx: Any) -> Any:
        raise NotImplementedError

    def pool(self, ctx: Any) -> Any:
        with self._lock:
            entry = self._pools.get(id(ctx))
            if entry is None:
                entry = self._pools[id(ctx)] = (ctx, self.make_pool(ctx))
            return entry[1]

    def run_program(self, program: Any, ctx: Any) -> Any:
        """Score one program on the warm runtime (a runtime.client.Verdict)."""
        job = {**program.meta["job"], "timeout": ctx.run_limits.wall_seconds}
        return self.pool(ctx).score(job, program.meta["candidate"])

    @property
    def runtime_note(self) -> str:
        """How programs ran (summary.json): the runtime mode of each pool used, with the reason."""
        notes = self._notes + [f"{pool.mode}: {pool.reason}" for _ctx, pool in self._pools.values()]
        return "; ".join(dict.fromkeys(notes))

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for _ctx, pool in pools:
            self._notes.append(f"{pool.mode}: {pool.reason}")
            pool.close()
