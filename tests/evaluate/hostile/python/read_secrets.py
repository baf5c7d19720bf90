# Look for secrets: an environment variable and a credential file in the real home directory.
import os
import sys

name, path = sys.argv[1], sys.argv[2]
if name in os.environ:
    print(f"ESCAPED env {name}={os.environ[name]}")
try:
    with open(path) as f:
        print(f"ESCAPED file {path}: {f.read()}")
except OSError as exc:
    print(f"blocked file: {exc}")
for pid in os.listdir("/proc"):  # other processes' environments (the evaluator's, say)
    if pid.isdigit():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if name.encode() in f.read():
                    print(f"ESCAPED env of pid {pid}")
        except OSError:
            pass
sys.exit(1)
