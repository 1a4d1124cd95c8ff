#!/usr/bin/env bash
# bench-gemm.sh: drsae's CPU Gemm beside OpenBLAS (through numpy) at the DrSAE shapes, 1 and 2
# threads, interleaved in one run so that both see the same machine; prints a markdown table.
#
#   scripts/bench-gemm.sh [ROUNDS]        (default 3; each cell is the best of its rounds)
#
# Environment: BENCHTIME (go test -benchtime, default 1s), KERNELS (a regexp over drsae's kernel
# names, default avx: the assembly ones; . adds the portable one), THREADS (default "1 2").
# Needs Go and /usr/bin/python3 with numpy on OpenBLAS (Debian: apt-get install python3-numpy
# libopenblas0-pthread). OpenBLAS is asked for its AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX)
# where the CPU has AVX-512F, else for Haswell's (AVX2); the table says which it ran.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
benchtime=${BENCHTIME:-1s}
kernels=${KERNELS:-avx}
threads=${THREADS:-"1 2"}
# name  m n k transA transB  (the names of gemmShapes in cpu/gemm_bench_test.go)
shapes=(
	"enc_256x400x784_NT 256 400 784 0 1"
	"rec_256x400x400_NN 256 400 400 0 0"
	"dec_256x784x400_NT 256 784 400 0 1"
	"gradE_400x784x256_TN 400 784 256 1 0"
	"sq_1024 1024 1024 1024 0 0"
)
if grep -qw avx512f /proc/cpuinfo; then coretype=SkylakeX; else coretype=Haswell; fi
py=/usr/bin/python3
if ! $py -c 'import numpy' 2>/dev/null; then
	echo "bench-gemm: $py has no numpy (apt-get install python3-numpy libopenblas0-pthread)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/cpu.test" ./cpu/
regexp=$(printf '%s|' "${shapes[@]%% *}")
regexp="^BenchmarkGemm\$/${kernels}/^(${regexp%|})\$"

cat > "$tmp/blas.py" <<'PY'
import sys, time
import numpy as np
m, n, k, ta, tb, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5] == "1", float(sys.argv[6])
r = np.random.default_rng(1)
a = r.uniform(-1, 1, (k, m) if ta else (m, k)).astype(np.float32)
b = r.uniform(-1, 1, (n, k) if tb else (k, n)).astype(np.float32)
a, b = (a.T if ta else a), (b.T if tb else b)  # transposed views: sgemm with a transpose flag
c = np.empty((m, n), np.float32)
np.matmul(a, b, out=c)
count, t0 = 0, time.perf_counter()
while True:
    np.matmul(a, b, out=c)
    count += 1
    t = time.perf_counter() - t0
    if t >= secs:
        break
print(2.0 * m * n * k * count / t / 1e9)
PY

secs=${benchtime%s}
declare -A best
names=()
for ((r = 1; r <= rounds; r++)); do
	for th in $threads; do
		# ours: one go test run per thread count covers every shape and kernel
		while read -r name val; do
			key="$name|$th"
			[[ -v "best[$key]" ]] || names+=("$name")
			if [[ ! -v "best[$key]" ]] || awk "BEGIN{exit !($val > ${best[$key]})}"; then best[$key]=$val; fi
		done < <(GOMAXPROCS=$th "$tmp/cpu.test" -test.run '^$' -test.bench "$regexp" -test.benchtime "$benchtime" 2>&1 |
			awk '/GFLOP\/s/ { n = $1; sub(/^BenchmarkGemm\//, "", n); sub(/-[0-9]+$/, "", n); for (i = 1; i < NF; i++) if ($(i+1) == "GFLOP/s") print n, $i }')
		for s in "${shapes[@]}"; do
			read -r name m n k ta tb <<< "$s"
			val=$(OPENBLAS_CORETYPE=$coretype OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th $py "$tmp/blas.py" "$m" "$n" "$k" "$ta" "$tb" "$secs")
			key="openblas/$name|$th"
			[[ -v "best[$key]" ]] || names+=("openblas/$name")
			if [[ ! -v "best[$key]" ]] || awk "BEGIN{exit !($val > ${best[$key]})}"; then best[$key]=$val; fi
		done
	done
done

blasver=$(OPENBLAS_CORETYPE=$coretype $py -c '
import ctypes, numpy
try:
    lib = ctypes.CDLL("libblas.so.3"); lib.openblas_get_config.restype = ctypes.c_char_p; lib.openblas_get_corename.restype = ctypes.c_char_p
    print("numpy %s, %s, core %s" % (numpy.__version__, lib.openblas_get_config().decode(), lib.openblas_get_corename().decode()))
except Exception as e:
    print("numpy %s (BLAS not identified: %s)" % (numpy.__version__, e))')
kerns=$(printf '%s\n' "${names[@]}" | awk -F/ '$1 != "openblas" {print $1}' | sort -u)
echo "Gemm, GFLOP/s (best of $rounds interleaved rounds, $benchtime each; $(date -u +%Y-%m-%d))"
echo
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, AVX-512F: $([[ $coretype == SkylakeX ]] && echo yes || echo no); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- drsae: $(go version | cut -d' ' -f3-), $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' + local changes'); threads = GOMAXPROCS"
echo "- OpenBLAS: $blasver, OPENBLAS_CORETYPE=$coretype; threads = OPENBLAS_NUM_THREADS"
echo
header="| shape | threads |"
rule="|---|---|"
for kn in $kerns; do header+=" drsae $kn |"; rule+="---|"; done
header+=" OpenBLAS | best drsae / OpenBLAS |"
rule+="---|---|"
echo "$header"
echo "$rule"
for s in "${shapes[@]}"; do
	name=${s%% *}
	for th in $threads; do
		row="| $name | $th |"
		top=0
		for kn in $kerns; do
			v=${best["$kn/$name|$th"]:-}
			if [[ -n $v ]]; then
				row+=" $(printf '%.1f' "$v") |"
				top=$(awk "BEGIN{print ($v > $top) ? $v : $top}")
			else
				row+=" – |"
			fi
		done
		o=${best["openblas/$name|$th"]}
		row+=" $(printf '%.1f' "$o") | $(awk "BEGIN{printf \"%.2f×\", $top / $o}") |"
		echo "$row"
	done
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
