#!/usr/bin/env bash
# The GPU check of issue 11, as one command on a machine with a CUDA device:
#
#     bash scripts/gpu_check.sh            # CUDA tests + the three GPU targets, one table
#     bash scripts/gpu_check.sh --quick    # small sizes (a check of the script itself)
#     bash scripts/gpu_check.sh --only exact --skip-tests   # the exact rows alone (< 1 minute)
#
# It needs only python with torch, numpy, scipy, scikit-learn, pandas, pyarrow, rich and
# pytest: linearlab runs from the source tree (PYTHONPATH=src), nothing is installed, and the
# device tests it runs (tests/test_device_*.py) import nothing else. Extra arguments go to
# bench/gpu.py (see its --help). It stops itself after 8 minutes.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-$(command -v python || command -v python3)}"
"$PY" - <<'PYEOF'
import importlib, platform
import torch
print(f"python {platform.python_version()}, torch {torch.__version__}, "
      f"CUDA {torch.version.cuda}, devices: {torch.cuda.device_count()}")
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"  cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB")
missing = [m for m in ("numpy", "scipy", "sklearn", "pandas", "pyarrow", "rich", "pytest")
           if importlib.util.find_spec(m) is None]
print("missing packages:", ", ".join(missing) or "none")
PYEOF
exec timeout --signal=INT 480 "$PY" bench/gpu.py "$@"
