#!/usr/bin/env bash
# bench-memory.sh: the CPU backend's memory-bound ops (bench group Memory) on each vector path
# of this CPU — the portable Go loops (DRSAE_CPU_VEC=go) and the assembly ones — beside a plain
# Copy, interleaved in one run so that all see the same machine; prints a markdown table.
#
#   scripts/bench-memory.sh [ROUNDS]        (default 3; each cell is the best of its rounds)
#
# Environment: BENCHTIME (go test -benchtime, default 200ms), PATHS (default "go avx2", and
# avx512 where the CPU has AVX-512F).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
benchtime=${BENCHTIME:-200ms}
default_paths="go avx2"
grep -qw avx512f /proc/cpuinfo && default_paths+=" avx512"
paths=${PATHS:-$default_paths}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/bench.test" ./bench/

declare -A best
names=()
for ((r = 1; r <= rounds; r++)); do
	for p in $paths; do
		while read -r name val; do
			key="$name|$p"
			[[ -v "best[$key]" ]] || { [[ $p == "${paths%% *}" ]] && names+=("$name"); }
			if [[ ! -v "best[$key]" ]] || awk "BEGIN{exit !($val > ${best[$key]})}"; then best[$key]=$val; fi
		done < <(DRSAE_CPU_VEC=$p "$tmp/bench.test" -test.run '^$' -test.bench '^BenchmarkMemory$/cpu/' -test.benchtime "$benchtime" 2>&1 |
			awk '/GB\/s/ { n = $1; sub(/^BenchmarkMemory\/cpu\//, "", n); sub(/-[0-9]+$/, "", n); for (i = 1; i < NF; i++) if ($(i+1) == "GB/s") print n, $i }')
	done
done

last=${paths##* }
echo "Memory-bound ops, GB/s (best of $rounds interleaved rounds, $benchtime each; $(date -u +%Y-%m-%d))"
echo
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- drsae: $(go version | cut -d' ' -f3-), $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' + local changes'); threads = GOMAXPROCS = $(nproc); path = DRSAE_CPU_VEC"
echo
header="| op | shape |"
rule="|---|---|"
for p in $paths; do header+=" $p |"; rule+="---|"; done
header+=" $last / ${paths%% *} | $last / Copy |"
rule+="---|---|"
echo "$header"
echo "$rule"
for name in "${names[@]}"; do
	op=${name%%/*} shape=${name#*/}
	row="| $op | $shape |"
	for p in $paths; do row+=" $(printf '%.1f' "${best["$name|$p"]}") |"; done
	first=${best["$name|${paths%% *}"]} top=${best["$name|$last"]} copy=${best["Copy/$shape|$last"]}
	row+=" $(awk "BEGIN{printf \"%.1f×\", $top / $first}") | $(awk "BEGIN{printf \"%.0f%%\", 100 * $top / $copy}") |"
	echo "$row"
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
