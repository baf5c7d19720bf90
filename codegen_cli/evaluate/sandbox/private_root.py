"""The unshare tier's filesystem view: a private root built with plain `mount` calls, for hosts without bwrap.

bwrap is the usual way to give a program a root of its own, but containers and minimal machines often lack
it. util-linux's `unshare` plus a short shell script does the same job from the same pieces the kernel
offers bwrap: in a new mount namespace (as real root, or as root of a new user namespace), a small tmpfs
becomes the new root; the system dirs are bound into it read-only, the toolchain dirs, the tool cache and
the run's read-only paths are bound read-only, its writable paths and workdir read-write, /tmp, /var/tmp
and /dev/shm are private size-capped tmpfs mounts, /dev holds only the harmless character devices, and
/proc is a fresh one for the new PID namespace. `pivot_root` then makes that tmpfs `/` and detaches the old
root, so nothing else of the host exists for the program: no /work, /home, /root, /opt, /srv or other
/tmp files. Last, `setpriv` drops every capability (bounding set included) and, for a root evaluator,
switches to an unprivileged uid before the program's first instruction.

A step that fails ends the run with exit 125 before any program code runs (the probe in tiers.py runs
the same script, so a host where it cannot work falls back to the next tier, loudly).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
from collections.abc import Sequence

from codegen_cli.evaluate.sandbox.scratch import make_scratch, remove_tree

SETUP_FAILED = 125  # the script's exit code when the root cannot be built (the program never ran)

# System dirs shown read-only (symlinks such as /bin -> usr/bin are recreated as symlinks), as bwrap does.
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# The character devices a program may need; nothing that reaches hardware or the kernel's memory.
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")

# $1 root mountpoint, $2 tmpfs size (bytes), $3 workdir, $4 setpriv prefix length, then that many words of
# the setpriv prefix, then "ro:PATH" / "rw:PATH" / "mask:PATH" specs, then "--", then the program's argv.
# Every mount that fails exits 125 (set -e plus the explicit `|| exit` on the few that run in subshells).
_SCRIPT = r'''
set -e
root=$1 size=$2 workdir=$3 n=$4
shift 4
prefix=""
while [ "$n" -gt 0 ]; do prefix="$prefix
$1"; shift; n=$((n - 1)); done
fail() { echo "sandbox setup: $*" >&2; exit 125; }
trap 'fail "a step failed"' EXIT
mount -t tmpfs -o size=8m,mode=0755 codegen-root "$root"
for d in /usr /etc /bin /sbin /lib /lib32 /lib64 /libx32; do
  if [ -L "$d" ]; then ln -s "$(readlink "$d")" "$root$d"
  elif [ -d "$d" ]; then mkdir -p "$root$d"; mount --bind "$d" "$root$d"; mount -o remount,bind,ro "$root$d"
  fi
done
for d in /tmp /var/tmp; do mkdir -p "$root$d"; mount -t tmpfs -o "size=$size,mode=1777" tmp "$root$d"; done
place() {  # an empty file or dir in the new root to mount $1 onto
  if [ -d "$1" ]; then mkdir -p "$root$1"; else mkdir -p "$root${1%/*}"; [ -e "$root$1" ] || : > "$root$1"; fi
}
while [ "$1" != "--" ]; do
  kind=${1%%:*} path=${1#*:}
  shift
  case $kind in
    ro) place "$path"; mount --bind "$path" "$root$path"; mount -o remount,bind,ro "$root$path" ;;
    rw) place "$path"; mount --bind "$path" "$root$path" ;;
    mask) if [ -d "$root$path" ]; then mount -t tmpfs -o size=4k,mode=0755 masked "$root$path"
          elif [ -e "$root$path" ]; then mount --bind /dev/null "$root$path"; fi ;;
  esac
done
shift
mkdir -p "$root/dev/shm" "$root/proc"
for d in null zero full random urandom tty; do : > "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
mount -t tmpfs -o "size=$size,mode=1777" shm "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"; ln -s /proc/self/fd/1 "$root/dev/stdout"; ln -s /proc/self/fd/2 "$root/dev/stderr"
mount -t proc proc "$root/proc" 2>/dev/null || { mount --rbind /proc "$root/proc"; mount -o remount,bind,ro "$root/proc"; }
# the host-wide knobs read-only, as bwrap does: a uid-0 program needs no capability to set core_pattern
for p in sys sysrq-trigger irq bus; do
  if [ -e "$root/proc/$p" ]; then mount --bind "$root/proc/$p" "$root/proc/$p"; mount -o remount,bind,ro "$root/proc/$p"; fi
done
mkdir "$root/.old"
cd "$root"
pivot_root . .old
umount -l /.old
rmdir /.old
mount -o remount,bind,ro /
cd /
trap - EXIT
IFS='
'
# shellcheck disable=SC2086 (the prefix is one word per line)
exec $prefix /bin/sh -c 'cd -- "$0" && unset OLDPWD && exec "$@"' "$workdir" "$@"
'''


@functools.cache
def mountpoint() -> str:
    """An empty host dir that each run's namespace mounts its private root on (it stays empty on the host:
    the mounts live in namespaces that die with the run). One per evaluator process, a scratch dir, so the
    next evaluator sweeps it when this one was killed."""
    path = make_scratch("root")
    os.chmod(path, 0o755)
    atexit.register(remove_tree, path)
    return str(path)


def unshare_prefix(*, user_namespace: bool) -> list[str]:
    """`unshare ...`: new mount, PID, network, IPC and UTS namespaces (and a user namespace mapping the
    evaluator to root when it is not root), the script as PID 1, killed with the evaluator's child."""
    argv = [shutil.which("unshare") or "unshare"]
    if user_namespace:
        argv += ["--user", "--map-root-user"]
    return argv + ["--mount", "--propagation", "private", "--pid", "--net", "--ipc", "--uts", "--fork",
                   "--kill-child", "--"]


def private_root_argv(*, workdir: str, readonly: Sequence[str], writable: Sequence[str], masked: Sequence[str],
                      tmpfs_bytes: int, drop: Sequence[str]) -> list[str]:
    """The command up to the program's argv: unshare, then the script that builds the root and execs `drop`
    (the setpriv words that drop capabilities and, for a root evaluator, the uid) and then the program in
    `workdir`. Paths must be absolute and exist; `masked` ones are hidden even inside a bound dir."""
    specs = [f"ro:{p}" for p in readonly] + [f"rw:{p}" for p in writable] + [f"rw:{workdir}"]
    specs += [f"mask:{p}" for p in masked]
    return [*unshare_prefix(user_namespace=os.geteuid() != 0), "/bin/sh", "-c", _SCRIPT, "sh", mountpoint(),
            str(tmpfs_bytes), workdir, str(len(drop)), *drop, *specs, "--"]
