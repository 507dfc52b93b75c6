#!/usr/bin/env bash
# The test suite, twice over the storage layer: on the embedded PostgreSQL (the default) and on
# an external PostgreSQL server with pgvector (EXTERNAL_DATABASE_URL, default the local
# PostgreSQL 15 on 127.0.0.1:5432). Worker tests use the local Redis (TEST_REDIS_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1
PY=.venv/bin/python
EXTERNAL=${EXTERNAL_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/recommender}

echo "=== tests on the embedded PostgreSQL ==="
env -u DATABASE_URL $PY -m pytest "$@"

echo "=== tests on the external PostgreSQL ($EXTERNAL) ==="
if $PY - "$EXTERNAL" <<'PYEOF'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
except Exception as exc:
    print(f"external PostgreSQL not reachable: {exc}")
    sys.exit(1)
PYEOF
then
  # Everything but the dataset importers, whose storage paths the generic-format tests cover.
  DATABASE_URL=$EXTERNAL $PY -m pytest -m "not shared_data" "$@"
elif [[ ${REQUIRE_SERVICES:-} == 1 ]]; then
  echo "REQUIRE_SERVICES=1 and the external PostgreSQL is not reachable" >&2
  exit 1
else
  echo "skipped: no external PostgreSQL (set EXTERNAL_DATABASE_URL to run these)"
fi
