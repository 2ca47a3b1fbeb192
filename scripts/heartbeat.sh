#!/usr/bin/env bash
# Runs a long, quiet command and prints a line every 15 s while it runs, so
# that `make test` never looks hung (go vet, staticcheck, an image build):
#   scripts/heartbeat.sh WHAT COMMAND [ARGS...]
# Its exit status is the command's. HEARTBEAT_EVERY changes the period (s).
set -uo pipefail
what=${1:?usage: heartbeat.sh WHAT COMMAND [ARGS...]}
shift
every=${HEARTBEAT_EVERY:-15}
"$@" &
pid=$!
# Ctrl-C or a kill of make stops the command too.
trap 'kill "$pid" 2>/dev/null' INT TERM
n=0
while kill -0 "$pid" 2>/dev/null; do
	sleep 1
	n=$((n + 1))
	if [ $((n % every)) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then
		echo "...  ${n}s: still $what"
	fi
done
wait "$pid"
