# Try to create each path given, then delete the file given after --delete.
import os
import sys

args = sys.argv[1:]
targets, victim = args[: args.index("--delete")], args[args.index("--delete") + 1]
for path in targets:
    try:
        with open(path, "w") as f:
            f.write("pwned")
        print(f"ESCAPED wrote {path}")
    except OSError as exc:
        print(f"blocked write {path}: {exc}")
try:
    os.remove(victim)
    print(f"ESCAPED deleted {victim}")
except OSError as exc:
    print(f"blocked delete {victim}: {exc}")
sys.exit(0)
