#!/usr/bin/env bash
# bench-steps.sh: drsae's model steps on the cpu backend beside their PyTorch twins
# (scripts/bench_steps.py) at 1 and 2 threads, interleaved in one run so that both see the same
# machine; prints a markdown table of milliseconds per step.
#
#   scripts/bench-steps.sh [ROUNDS]        (default 3; each cell is the best of its rounds)
#
# Environment: BENCHTIME (seconds per case and round, default 2), THREADS (PyTorch's, default
# "1 2"), VARIANTS (drsae columns, each a comma-separated list of environment settings, e.g.
# "DRSAE_CPU_SPIN=1 DRSAE_CPU_SPIN=0"; default one column in the environment as it is); drsae
# runs GOMAXPROCS goroutines. Needs Go and /usr/bin/python3 with PyTorch (Debian: apt-get install
# python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${BENCHTIME:-2}
threads=${THREADS:-"1 2"}
variants=${VARIANTS:-"-"}
first=${variants%% *} # the column the ratio is taken against
py=/usr/bin/python3
if ! $py -c 'import torch' 2>/dev/null; then
	echo "bench-steps: $py has no torch (apt-get install python3-torch)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/bench.test" ./bench/
declare -A best
names=()
keep() { # keep NAME|COLUMN SECONDS: the smaller
	if [[ ! -v "best[$1]" ]] || awk -v a="$2" -v b="${best[$1]}" 'BEGIN{exit !(a < b)}'; then
		best[$1]=$2
	fi
}
load=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 0; r < rounds; r++)); do
	for v in $variants; do
		envs=()
		[[ $v == - ]] || IFS=, read -ra envs <<<"$v"
		for pat in '^BenchmarkDrSAEStep$/./^cpu$' '^BenchmarkLISTAForward$/././^cpu$' '^BenchmarkFISTA$/^fista$/./^cpu$' '^BenchmarkConvStep$/^cpu$/' '^BenchmarkTopoStep$/^cpu$/^autoencoder$/'; do
			while read -r name sec; do
				if [[ $v == "$first" && ! -v "best[$name|drsae$v]" ]]; then names+=("$name"); fi
				keep "$name|drsae$v" "$sec"
			done < <(env "${envs[@]}" "$tmp/bench.test" -test.run '^$' -test.bench "$pat" -test.benchtime "${secs}s" 2>/dev/null |
				awk '/ns\/op/ {n = $1; sub(/^Benchmark/, "", n); sub(/-[0-9]+$/, "", n); sub(/\/cpu$/, "", n); sub(/\/cpu\//, "/", n); print n, $3 / 1e9}')
		done
	done
	for th in $threads; do
		while read -r name sec; do
			keep "$name|torch$th" "$sec"
		done < <(OMP_NUM_THREADS=$th $py scripts/bench_steps.py "$th" "$secs" all)
	done
done
info=$(go test -count=1 -run '^TestInfo$' -v ./cpu/ 2>/dev/null | grep -o 'gemm kernel [^,]*' | head -1 || true)
torchver=$($py -c 'import torch; print(torch.__version__)')
echo "Model steps, ms per step (best of $rounds interleaved rounds, ${secs}s each; $(date +%F))"
echo
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load before: $load"
echo "- drsae: $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), GOMAXPROCS=${GOMAXPROCS:-$(nproc)}, $info; columns: $([[ $variants == - ]] && echo 'the environment as it is' || echo "$variants")"
echo "- PyTorch: $torchver (torch.set_num_threads = the column's threads)"
echo
header="| case |"
rule="|---|"
for v in $variants; do
	if [[ $v == - ]]; then header+=" drsae cpu |"; else header+=" drsae cpu, ${v//,/ } |"; fi
	rule+="---|"
done
for th in $threads; do
	header+=" PyTorch, $th thread(s) |"
	rule+="---|"
done
echo "$header PyTorch's best / drsae (first column) |"
echo "$rule---|"
ms() { awk -v v="$1" 'BEGIN{printf "%.2f", v * 1e3}'; }
for name in "${names[@]}"; do
	row="| $name |"
	for v in $variants; do
		row+=" $(ms "${best["$name|drsae$v"]}") |"
	done
	tb=""
	for th in $threads; do
		t=${best["$name|torch$th"]:-}
		if [[ -z $t ]]; then
			row+=" – |"
			continue
		fi
		row+=" $(ms "$t") |"
		if [[ -z $tb ]] || awk -v a="$t" -v b="$tb" 'BEGIN{exit !(a < b)}'; then tb=$t; fi
	done
	echo "$row $(awk -v t="$tb" -v d="${best["$name|drsae$first"]}" 'BEGIN{printf "%.2f×", t / d}') |"
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
