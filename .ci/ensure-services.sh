#!/usr/bin/env bash
# Bring up what the test suite talks to, on a fresh machine too: Redis for real Celery workers,
# pgvector in the machine's PostgreSQL 15 (the "external server" run). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  if ! command -v redis-server >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
    echo "[services] installing redis-server"
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  fi
  if command -v redis-server >/dev/null 2>&1; then
    echo "[services] starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
  else
    echo "[services] no Redis and cannot install it: worker tests will skip (or fail with REQUIRE_SERVICES=1)"
  fi
fi

if [[ -x /usr/lib/postgresql/15/bin/pg_config || -d /etc/postgresql/15 ]]; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && command -v pg_ctlcluster >/dev/null; then
    echo "[services] starting PostgreSQL 15"
    pg_ctlcluster --skip-systemctl-redirect 15 main start || true
  fi
  if [[ $(id -u) -eq 0 ]]; then
    bash .ci/install-pgvector-pg15.sh
  fi
fi
# Browser tests (tests/e2e) use Debian's Chromium, never a downloaded one; NanumGothic renders Korean.
if [[ ! -x /usr/bin/chromium ]] || ! fc-list 2>/dev/null | grep -qi nanum; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "[services] installing chromium, chromium-driver, fonts-nanum"
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver fonts-nanum >/dev/null
  else
    echo "[services] no /usr/bin/chromium and not root: browser tests will skip (or fail with REQUIRE_SERVICES=1)"
  fi
fi

echo "[services] ready"
