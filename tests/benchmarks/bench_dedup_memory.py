"""Memory of collect's global dedup (exact + near, the merge step) per document.

N synthetic documents, key arrays as collect writes them (uint64: id hi, id lo, 25 band keys per document,
100,000 documents a chunk), 1% near-duplicate pairs. Prints the heap peak (numpy and array allocations,
through tracemalloc) and the RSS peak, which also counts the memory-mapped key files' pages (file-backed,
reclaimable: 216 B a document are read column by column).

    python tests/benchmarks/bench_dedup_memory.py 1000000 /tmp/dedup-keys
"""
import resource, sys, time
from pathlib import Path
import numpy as np
from codegen_cli.collect import dedup
n, bands, folder = int(sys.argv[1]), 25, Path(sys.argv[2])
folder.mkdir(parents=True, exist_ok=False)
rng = np.random.default_rng(0)
files = []
per = 100_000
for start in range(0, n, per):
    m = min(per, n - start)
    keys = rng.integers(1, 2**63, size=(m, 2 + bands), dtype=np.uint64)
    keys[1::100, 2:] = keys[0::100, 2:][: len(keys[1::100])]  # near-duplicate pairs
    path = folder / f"k{start}.npy"
    np.save(path, keys)
    files.append(path)
del keys
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import tracemalloc
tracemalloc.start()
t = time.process_time()
codes = np.zeros(n, dtype=np.uint8)
codes[dedup.exact_duplicates(files)] = 1
near, clusters = dedup.near_duplicates(files, codes != 0, bands)
heap = tracemalloc.get_traced_memory()[1]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"n={n} clusters={clusters} peak_rss_delta_per_doc={(peak-base)*1024/n:.0f}B (file-backed key pages "
      f"included) heap_peak_per_doc={heap/n:.0f}B cpu={time.process_time()-t:.1f}s")
