#!/usr/bin/env bash
# The project's one test command (the README's, and what .ci/run calls).
# It installs what the tests need on a fresh machine, then runs every check.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null || { echo "Go 1.26.8 or newer is required (see go.mod): https://go.dev/dl/" >&2; exit 1; }

# npm packages for the independent-client tests (official MCP TypeScript SDK).
if command -v npm >/dev/null; then
  export npm_config_loglevel=error npm_config_fund=false npm_config_audit=false
  (cd e2e/sdk && npm ci --no-audit --no-fund >/dev/null)
else
  echo "warning: npm not found; the TypeScript SDK test will be skipped (fails under CI=true)" >&2
fi

# PostgreSQL: tests that need it use WHATSAPP_TEST_POSTGRES_DSN. Start the
# local cluster when it is set but not answering (these machines ship one).
if [ -n "${WHATSAPP_TEST_POSTGRES_DSN:-}" ] && command -v pg_isready >/dev/null; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if command -v pg_ctlcluster >/dev/null; then
      ver=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
      [ -n "$ver" ] && pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
      for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
  fi
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './e2e/sdk/node_modules/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:" >&2; echo "$unformatted" >&2; exit 1
fi
go vet ./...
go test -race -count=1 -timeout 30m ./...
