"""Red-team checks (issue 20's review) of what a candidate holds from INSIDE a scored program: no capability in
any set (bounding set included), no_new_privs, and as a root evaluator a non-zero uid, in the warm runtime
(zygote) and in a compiled program. Each check is a completion that answers correctly only when all hold."""

from __future__ import annotations

import os

import pytest

from codegen_cli.evaluate.problems import PACKAGED_DIR, load_problems
from tests.conftest import require_toolchains

from .conftest import score_completions

ROOT_EVALUATOR = os.geteuid() == 0

PYTHON = f"""    import os
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    caps = [int(status[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")]
    if caps != [0] * 5 or status["NoNewPrivs"].strip() != "1" or ({ROOT_EVALUATOR} and os.getuid() == 0):
        return -1.0
    return number % 1.0
"""

JS = f"""  const status = require('fs').readFileSync('/proc/self/status', 'utf8');
  const field = (k) => status.split('\\n').find((l) => l.startsWith(k + ':')).split(':')[1].trim();
  const caps = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'].map((k) => BigInt('0x' + field(k)));
  if (caps.some((c) => c !== 0n) || field('NoNewPrivs') !== '1' || ({str(ROOT_EVALUATOR).lower()} && process.getuid() === 0)) {{
    return -1;
  }}
  return number % 1.0;
}};
"""

CPP = f"""    FILE* f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    auto eq = [](const char* a, const char* b) {{ while (*a && *a == *b) {{ a++; b++; }} return *a == *b; }};
    char line[256];
    int held = 0;
    while (fgets(line, sizeof line, f)) {{
        char key[64];
        unsigned long long v = 99;
        if (sscanf(line, "%63[^:]:%llx", key, &v) != 2) continue;
        if ((eq(key, "CapInh") || eq(key, "CapPrm") || eq(key, "CapEff") || eq(key, "CapBnd") || eq(key, "CapAmb"))
            && v == 0) held++;
        if (eq(key, "NoNewPrivs") && v == 1) held++;
        if (eq(key, "Uid") && ({int(ROOT_EVALUATOR)} == 0 || v != 0)) held++;
    }}
    fclose(f);
    if (held != 7) return -1;
    return number - (int)number;
}}
"""


@pytest.mark.parametrize(("language", "completion"), [("python", PYTHON), ("js", JS), ("cpp", CPP)],
                         ids=["python", "js", "cpp"])
def test_a_scored_program_holds_no_capability(language, completion):
    require_toolchains(language)
    (problem,) = load_problems(PACKAGED_DIR, languages=[language], tasks=["2"])
    # the C++ program opens a file, which the static check refuses: judge it by its run alone
    (outcome,) = score_completions([problem], [completion], workers=1, static_check=False)
    assert outcome.status == "passed", (outcome.status, outcome.reason, outcome.stdout[-500:], outcome.stderr[-800:])
