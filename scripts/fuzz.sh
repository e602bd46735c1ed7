#!/bin/bash
# fuzz.sh: a short `go test -fuzz` run of every fuzz target (issue 5, "Robustness": run briefly in CI, never
# panicking). FUZZTIME sets each target's budget (default 10s); FUZZTIME=short gives each target its count below
# (about 2 s of executions here), which `make test` uses: a time budget can fail with a bare "context deadline
# exceeded" when it ends while a worker is busy on a loaded machine (Go 1.26's fuzz coordinator, golang/go#75804,
# fixed in Go 1.27), a count cannot. GO picks the go command. Fails if any run fails; a failing input is saved by
# go test under the package's testdata/fuzz/<Name>/ for `go test -run` to replay.
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}

# package, target and FUZZTIME=short's count, one target a line
targets=(
	"./libcontainer FuzzLoadSpec 20x"
	"./libcontainer FuzzValidateID 40000x"
	"./libcontainer/seccomp FuzzCheck 20000x"
	"./nsenter FuzzReadMsg 30000x"
	"./nsenter FuzzBootstrapEncode 100000x"
	". FuzzReorderArgs 40000x"
)

failed=()
for t in "${targets[@]}"; do
	read -r pkg name count <<<"$t"
	budget=$FUZZTIME
	[ "$budget" != short ] || budget=$count
	echo "== fuzz $name ($pkg, $budget)"
	# -fuzz takes one target per run; '^$' keeps the unit tests out of it.
	if ! "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$budget" "$pkg"; then
		failed+=("$name")
	fi
done

if ((${#failed[@]} > 0)); then
	echo "fuzz: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets passed"
