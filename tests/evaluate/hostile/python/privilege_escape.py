# Use root's powers: raise our own limits, unmount the masks over the home directories, remount the root
# filesystem read-write, then write a file on the host and read a secret from the real home.
import ctypes
import resource
import sys

target, secret = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH, MS_REMOUNT, MS_BIND = 2, 32, 4096
try:
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    print("ESCAPED raised RLIMIT_AS")
except (ValueError, OSError) as exc:
    print(f"blocked rlimit: {exc}")
for path in (b"/root", b"/home", b"/tmp"):
    if libc.umount2(path, MNT_DETACH) == 0:
        print(f"ESCAPED unmounted {path.decode()}")
if libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND, None) == 0:
    print("ESCAPED remounted / read-write")
try:
    with open(target, "w") as f:
        f.write("pwned")
    print(f"ESCAPED wrote {target}")
except OSError as exc:
    print(f"blocked write: {exc}")
try:
    with open(secret) as f:
        print(f"ESCAPED read {secret}: {f.read()}")
except OSError as exc:
    print(f"blocked read: {exc}")
sys.exit(1)
