#!/usr/bin/env bash
# Tests the deployment artifacts (docker entrypoint, Helm chart, Ansible role, make dist,
# the HAProxy example): installs the tools if missing, then runs test/deploy.
#   bash scripts/test-deploy.sh            (or: make test-deploy)
# VMQ_REQUIRE_TOOLS=1 turns a missing tool into a failure instead of a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deploy-deps.sh
make --no-print-directory build
VMQ_BIN="$PWD/bin" go test -count=1 -timeout 15m -v ./test/deploy/ 2>&1 | grep -E '^(=== RUN|--- |\s+--- |ok|FAIL|PASS|panic)|SKIPPED|_test.go:' || true
# grep hides the verbose noise; the exit code is the test's.
exit "${PIPESTATUS[0]}"
