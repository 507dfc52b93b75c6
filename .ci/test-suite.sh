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
  # The storage-facing tests again (models, pgvector, pipeline, workers, feeds, API, admin). Left
  # out: dataset runs (the generic-format tests cover the same storage paths), tests that do
  # not touch the database engine's behaviour (pure ranking and text code, browser, fuzzing, the
  # HTML escaping, prompt-injection, route-matrix and log-in-limit checks, embedder fine-tuning),
  # the database-fault drills, which start a PostgreSQL of their own either way, and the task
  # property tests (a minute of hypothesis worlds; the locks they rely on are PostgreSQL's on both).
  DATABASE_URL=$EXTERNAL $PY -m pytest -m "not shared_data" \
    --ignore=tests/e2e --ignore=tests/test_api_schemathesis.py --ignore=tests/test_extractor.py \
    --ignore=tests/test_keyword_quality.py --ignore=tests/test_evaluation.py --ignore=tests/test_llm.py \
    --ignore=tests/test_ranking.py --ignore=tests/test_benchmark.py --ignore=tests/test_settings.py \
    --ignore=tests/test_deploy_checks.py --ignore=tests/test_hours.py --ignore=tests/test_web_pages.py \
    --ignore=tests/test_security_xss.py --ignore=tests/test_prompt_injection.py \
    --ignore=tests/test_authorization_matrix.py --ignore=tests/test_login_limits.py \
    --ignore=tests/test_database_faults.py --ignore=tests/test_coldstart.py --ignore=tests/test_finetune.py \
    --ignore=tests/test_task_properties.py "$@"
elif [[ ${REQUIRE_SERVICES:-} == 1 ]]; then
  echo "REQUIRE_SERVICES=1 and the external PostgreSQL is not reachable" >&2
  exit 1
else
  echo "skipped: no external PostgreSQL (set EXTERNAL_DATABASE_URL to run these)"
fi
