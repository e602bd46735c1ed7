#!/bin/bash
# fuzz.sh: a short `go test -fuzz` run of every fuzz target (issue 5, "Robustness": run briefly in CI, never
# panicking). FUZZTIME sets each target's budget (default 10s); GO picks the go command. Fails if any run fails;
# a failing input is saved by go test under the package's testdata/fuzz/<Name>/ for `go test -run` to replay.
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}

# package and target, one pair a line
targets=(
	"./libcontainer FuzzLoadSpec"
	"./libcontainer FuzzValidateID"
	"./libcontainer/seccomp FuzzCheck"
	"./nsenter FuzzReadMsg"
	"./nsenter FuzzBootstrapEncode"
	". FuzzReorderArgs"
)

failed=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "== fuzz $name ($pkg, $FUZZTIME)"
	# -fuzz takes one target per run; '^$' keeps the unit tests out of it.
	if ! "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"; then
		failed+=("$name")
	fi
done

if ((${#failed[@]} > 0)); then
	echo "fuzz: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets passed"
