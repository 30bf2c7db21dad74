#!/usr/bin/env bash
# Checks dist/simgui/ the way issue 7 asks: from /, with an empty environment, the frozen programs
# index and query (the bundled model loads) and the app stays up offscreen for 8 s.
set -euo pipefail
DIST="$(cd "$(dirname "$0")/.." && pwd)/dist/simgui"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home" "$WORK/photos"
cp "$(dirname "$0")"/../tests/data/*.jpg "$WORK/photos/"
cd /
run() { env -i PATH=/usr/bin:/bin HOME="$WORK/home" "$@"; }
run "$DIST/simgui-cli" --version
run "$DIST/simgui" --version
run "$DIST/simgui-cli" --library "$WORK/lib" index "$WORK/photos"
top=$(run "$DIST/simgui-cli" --library "$WORK/lib" query "$WORK/photos/coffee.jpg" --top 1 --json |
      python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["results"][0]["path"])')
[ "$top" = "$WORK/photos/coffee.jpg" ] || { echo "query's top result is $top"; exit 1; }
echo "query: a photo finds itself first"
points=$(run "$DIST/simgui-cli" --library "$WORK/lib" map --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["points"]))')
[ "$points" = "5" ] || { echo "map placed $points photos, not 5"; exit 1; }
echo "map: t-SNE (scikit-learn) runs frozen"
# a pair-check worker (core/matching/pair_checks.py) is the frozen program itself, given --pair-check-worker:
# one task through its pipes, as indexing hands them out from 512 pairs on
for program in simgui-cli simgui; do
  python3 - "$DIST/$program" <<'CHECK'
import subprocess, sys
import numpy as np
from simgui.core.matching import pair_checks
bits = np.zeros((256, 4), np.uint8)
task = pair_checks.CheckTask([(1, 2)], {1: bits, 2: bits}, {}, {})
worker = subprocess.Popen([sys.argv[1], pair_checks.WORKER_ARGUMENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          env={"PATH": "/usr/bin:/bin"})
pair_checks._send(worker.stdin, task)
answer = pair_checks._receive(worker.stdout)
worker.stdin.close()
assert answer == (False, [0.0]) and worker.wait() == 0, (answer, worker.returncode)
print(f"{sys.argv[1].rsplit('/', 1)[1]}: runs a pair-check worker")
CHECK
done
status=0
run QT_QPA_PLATFORM=offscreen timeout 8 "$DIST/simgui" --library "$WORK/lib" 2>/dev/null || status=$?
[ "$status" -eq 124 ] || { echo "the app exited with $status before 8 s"; exit 1; }
echo "app: still running after 8 s offscreen"
du -sh "$DIST"
