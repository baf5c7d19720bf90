"""The warm runtime for Python (and JavaScript): a trusted judge outside the sandbox, a zygote inside it.

Modules: `client` (the evaluator's side: a pool of runtimes, one per worker, and the per-program fallback),
`server` (the judge server: one per worker, trusted, outside the sandbox), `pyjudge` (the forked process
that runs a Python test against the candidate through proxies), `zygote` (inside the sandbox: forks one
isolated candidate per program; standard library only), `wire` (plain data and frames; standard library
only). docs/sandbox.md ("Process model") has the picture and the trust boundary.
"""
