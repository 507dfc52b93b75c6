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
env -u DATABASE_URL $PY -m pytest --durations=25 "$@"

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
  # The storage-facing tests again (models, pgvector, COPY, locks, pipeline, workers, feeds,
  # training, curation, importers): what depends on the server's version and extensions. Left
  # out: what only goes through HTTP and the ORM's ordinary queries (API, admin, web, input
  # limits, quotas, error pages: the same SQL on either server), dataset runs, tests that do not
  # touch the database engine (pure ranking and text code, browser, fuzzing, HTML escaping,
  # prompt injection, the route matrix, log-in limits, fine-tuning), the process-fault drills
  # (worker kills, load, database outages, real Celery workers, model swaps under gunicorn: they
  # exercise Celery, Redis and gunicorn, and the SQL they send is the pipeline's and the
  # feed's, tested here directly), the task property tests (a minute of hypothesis worlds
  # on the same locks), the feed cache (Redis and HTTP), the embedded server's own tests and
  # auto-tuning (its SQL is the export's and training's, both run here).
  DATABASE_URL=$EXTERNAL $PY -m pytest -m "not shared_data" \
    --ignore=tests/e2e --ignore=tests/test_api_schemathesis.py --ignore=tests/test_extractor.py \
    --ignore=tests/test_keyword_quality.py --ignore=tests/test_evaluation.py --ignore=tests/test_llm.py \
    --ignore=tests/test_ranking.py --ignore=tests/test_benchmark.py --ignore=tests/test_settings.py \
    --ignore=tests/test_deploy_checks.py --ignore=tests/test_hours.py --ignore=tests/test_web_pages.py \
    --ignore=tests/test_security_xss.py --ignore=tests/test_prompt_injection.py \
    --ignore=tests/test_authorization_matrix.py --ignore=tests/test_login_limits.py \
    --ignore=tests/test_database_faults.py --ignore=tests/test_coldstart.py --ignore=tests/test_finetune.py \
    --ignore=tests/test_task_properties.py --ignore=tests/test_admin.py --ignore=tests/test_api_activity.py \
    --ignore=tests/test_api_auth.py --ignore=tests/test_api_catalog.py --ignore=tests/test_api_errors.py \
    --ignore=tests/test_api_feeds.py --ignore=tests/test_api_privacy.py --ignore=tests/test_api_reviews.py \
    --ignore=tests/test_mass_assignment.py --ignore=tests/test_input_limits.py --ignore=tests/test_llm_quota.py \
    --ignore=tests/test_server_errors.py --ignore=tests/test_web.py --ignore=tests/test_web_actions.py \
    --ignore=tests/test_worker_faults.py --ignore=tests/test_load.py --ignore=tests/test_workers.py \
    --ignore=tests/test_model_swaps.py --ignore=tests/test_feed_cache.py --ignore=tests/test_embedded_db.py \
    --ignore=tests/test_tuning.py "$@"
elif [[ ${REQUIRE_SERVICES:-} == 1 ]]; then
  echo "REQUIRE_SERVICES=1 and the external PostgreSQL is not reachable" >&2
  exit 1
else
  echo "skipped: no external PostgreSQL (set EXTERNAL_DATABASE_URL to run these)"
fi
