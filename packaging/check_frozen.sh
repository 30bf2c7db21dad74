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
status=0
run QT_QPA_PLATFORM=offscreen timeout 8 "$DIST/simgui" --library "$WORK/lib" 2>/dev/null || status=$?
[ "$status" -eq 124 ] || { echo "the app exited with $status before 8 s"; exit 1; }
echo "app: still running after 8 s offscreen"
du -sh "$DIST"
