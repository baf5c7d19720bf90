#!/usr/bin/env bash
# Collect a corpus on a Slurm cluster: N array tasks each process part I of N of the sources, then N array tasks
# (started when every part succeeded) each write part I of N of the deduplicated corpus; the last of them writes
# the manifest. OUTPUT must be on a filesystem every node sees. Prints the two job ids.
#
#   pipelines/slurm/collect.sh N OUTPUT [collect arguments: sources and options]
#   pipelines/slurm/collect.sh 64 /shared/corpus https://github.com/org/repo@v1.0 --languages python,cpp
#
# Extra sbatch options (partition, time, CPUs per task) come from SBATCH_* environment variables, e.g.
# SBATCH_PARTITION=cpu; each task uses the CPUs Slurm gives it (codegen reads its CPU affinity).
set -euo pipefail
if [ $# -lt 2 ]; then sed -n '2,9p' "$0" >&2; exit 2; fi
count=$1 output=$2
shift 2
case $count in ''|*[!0-9]*|0) echo "collect.sh: N must be a positive integer, got '$count'" >&2; exit 2 ;; esac
mkdir -p "$output"
args=$(printf ' %q' "$@")
last=$((count - 1))
parts=$(sbatch --parsable --job-name=codegen-collect --array="0-$last" --output="$output/slurm-collect-%A_%a.log" \
  --wrap "exec codegen collect$args -o $(printf %q "$output") --shard \$SLURM_ARRAY_TASK_ID/$count")
merge=$(sbatch --parsable --job-name=codegen-merge --array="0-$last" --dependency="afterok:$parts" \
  --kill-on-invalid-dep=yes --output="$output/slurm-merge-%A_%a.log" \
  --wrap "exec codegen collect -o $(printf %q "$output") --merge --shard \$SLURM_ARRAY_TASK_ID/$count")
echo "$parts $merge"
