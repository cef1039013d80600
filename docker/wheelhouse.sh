#!/usr/bin/env bash
# Build the air-gapped wheelhouse our images install from (`pip install --no-index --find-links`).
#
# The host resolves and downloads; the image build needs no index, no CA bundle and no proxy:
#   docker/wheelhouse/requirements-service.txt   the [service] extra, as written in pyproject.toml
#   docker/wheelhouse/requirements-trainer.txt   the [trainer] extra
#   docker/wheelhouse/*.whl                      every wheel both need (+ setuptools to build the project)
# Versions are constrained to the project venv's (`.venv`, when present) so images run what the tests ran.
# torch==2.13.0 (CPU) comes from wherever the host's pip finds it (here: find-links /opt/wheels).
#
#   docker/wheelhouse.sh                 # idempotent: wheels already present are not fetched again
#   PYTHON=/usr/bin/python3.11 docker/wheelhouse.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
OUT="docker/wheelhouse"
mkdir -p "$OUT"
start=$(date +%s)

"$PYTHON" - "$OUT" <<'PY'
import sys, tomllib, pathlib
out = pathlib.Path(sys.argv[1])
extras = tomllib.loads(pathlib.Path("pyproject.toml").read_text())["project"]["optional-dependencies"]
base = tomllib.loads(pathlib.Path("pyproject.toml").read_text())["project"]["dependencies"]
for extra in ("service", "trainer"):
    lines = [*base, *extras[extra]]
    (out / f"requirements-{extra}.txt").write_text("\n".join(lines) + "\n")
(out / "requirements-build.txt").write_text("setuptools>=68\nwheel\n")
PY

"$PYTHON" - <<'PY' || { echo "python 3.11 is required: the images run Debian bookworm's Python 3.11" >&2; exit 2; }
import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)
PY

# pyproject.toml asks for a torch range; the CPU images take the CPU build the Makefile installs (TORCH to change it).
echo "${TORCH:-torch==2.13.0}" > "$OUT/constraints-torch.txt"
constraints=(-c "$OUT/constraints-torch.txt")
if [[ -x .venv/bin/python ]]; then
    .venv/bin/python -m pip freeze --exclude-editable 2>/dev/null | grep -v -E '^(ra-rft|-e )' > "$OUT/constraints.txt" || true
    constraints+=(-c "$OUT/constraints.txt")
fi

# One joint resolution, so any subset (one extra) resolves from the same wheels. --find-links "$OUT"
# makes a rerun reuse what is there; `pip wheel` turns the odd sdist into a wheel here, on the host.
"$PYTHON" -m pip wheel --quiet --wheel-dir "$OUT" --find-links "$OUT" "${constraints[@]}" \
    -r "$OUT/requirements-service.txt" -r "$OUT/requirements-trainer.txt" -r "$OUT/requirements-build.txt"

echo "wheelhouse $OUT: $(ls "$OUT"/*.whl | wc -l) wheels, $(du -sh "$OUT" | cut -f1), $(( $(date +%s) - start )) s"
