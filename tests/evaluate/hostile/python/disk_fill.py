# Fill the disk (and RAM-backed tmpfs): write 16 MiB files into every directory given, forever.
import itertools
import os
import sys

prefix, dirs = sys.argv[1], sys.argv[2:]
block = os.urandom(1 << 20)
for i in itertools.count():
    wrote = False
    for d in dirs:
        try:
            with open(os.path.join(d, f"{prefix}-{i}"), "wb") as f:
                f.writelines(block for _ in range(16))
            wrote = True
        except OSError as exc:
            print(f"{d}: {exc}", flush=True)
    if not wrote:
        sys.exit(1)
