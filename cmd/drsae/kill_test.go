package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drsae/drsae/internal/atomicfile"
	"github.com/drsae/drsae/kernels"
	"github.com/drsae/drsae/model"
)

// TestMain lets a test run the command line in a child process, the test binary standing in for
// drsae: DRSAE_TEST_CHILD holds the arguments (separated by \x1f), and DRSAE_TEST_KILL_AT=k makes
// the child kill itself (SIGKILL, as a power cut would stop it) before the k-th step of its saves.
func TestMain(m *testing.M) {
	if args := os.Getenv("DRSAE_TEST_CHILD"); args != "" {
		if k, _ := strconv.Atoi(os.Getenv("DRSAE_TEST_KILL_AT")); k > 0 {
			steps := 0
			atomicfile.Hook = func(string, string) {
				if steps++; steps == k {
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
					time.Sleep(time.Minute)
				}
			}
		}
		os.Exit(run(strings.Split(args, "\x1f")))
	}
	os.Exit(m.Run())
}

// child starts the command line in a child process.
func child(t *testing.T, args []string, killAt int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DRSAE_TEST_CHILD="+strings.Join(args, "\x1f"), "DRSAE_TEST_KILL_AT="+strconv.Itoa(killAt))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestCheckpointSurvivesKill kills a training at every step of every save it makes (each write
// of a file's content, its sync, close, chmod, rename and the folder's sync) and at random
// moments between, then continues it: the checkpoint on disk is always absent (no epoch ended
// yet) or whole, it loads, and --resume (or, without a checkpoint, a new run) ends with exactly
// the model of a run never stopped, leaving no temporary file behind. With -short every third
// step is tried.
func TestCheckpointSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	args := func(out string) []string {
		return []string{"train", "dict", "--data", "patches", "--patch", "8", "--units", "8", "--train-size", "200", "--test-size", "20", "--epochs", "3",
			"--iterations", "5", "--batch", "50", "--backend", "cpu", "--quiet", "--out", out}
	}
	ref := filepath.Join(dir, "ref", "m.safetensors")
	steps := 0
	atomicfile.Hook = func(string, string) { steps++ }
	code, _, errs := drsaeRun(t, args(ref)...)
	atomicfile.Hook = nil
	if code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, errs)
	}
	want, _, err := model.LoadTensors(ref)
	if err != nil {
		t.Fatal(err)
	}
	wantCfg, _ := os.ReadFile(model.ConfigPath(ref))

	type moment struct {
		killAt int           // the save step to die at, or 0
		after  time.Duration // else: SIGKILL after this long
	}
	var moments []moment
	for k := 1; k <= steps; k++ {
		if !testing.Short() || k%3 == 1 {
			moments = append(moments, moment{killAt: k})
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 4 {
		moments = append(moments, moment{after: time.Duration(rng.IntN(150)) * time.Millisecond})
	}
	be, err := kernels.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	resumed := 0
	for i, mo := range moments {
		out := filepath.Join(dir, strconv.Itoa(i), "m.safetensors")
		what := fmt.Sprintf("killed before save step %d of %d", mo.killAt, steps)
		cmd := child(t, args(out), mo.killAt)
		if mo.killAt == 0 {
			what = fmt.Sprintf("killed after %v", mo.after)
			time.Sleep(mo.after)
			cmd.Process.Signal(syscall.SIGKILL)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if mo.killAt > 0 && (!errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL) {
			t.Fatalf("%s: the child was not killed: %v", what, err)
		}
		ck := model.CheckpointPath(out)
		cont := args(out)
		if _, err := os.Stat(ck); err == nil {
			tr, err := model.LoadCheckpoint(be, ck)
			if err != nil {
				t.Fatalf("%s: the checkpoint does not load: %v", what, err)
			}
			tr.Free()
			tr.Module.Free()
			cont = []string{"train", "dict", "--resume", ck, "--backend", "cpu", "--quiet"}
			resumed++
		}
		if code, _, errs := drsaeRun(t, cont...); code != 0 {
			t.Fatalf("%s: %v: exit %d: %s", what, cont, code, errs)
		}
		got, _, err := model.LoadTensors(out)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for name, w := range want {
			if !slices.Equal(got[name].Data, w.Data) {
				t.Errorf("%s: tensor %s differs from the uninterrupted run's", what, name)
			}
		}
		if cfg, _ := os.ReadFile(model.ConfigPath(out)); string(cfg) != string(wantCfg) {
			t.Errorf("%s: the config differs from the uninterrupted run's", what)
		}
		entries, _ := os.ReadDir(filepath.Dir(out))
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp") {
				t.Errorf("%s: a temporary file is left: %s", what, e.Name())
			}
		}
	}
	if resumed == 0 {
		t.Errorf("no kill left a checkpoint to resume from; the test tried nothing")
	}
	t.Logf("%d save steps in a run; %d kills, %d resumed from a checkpoint", steps, len(moments), resumed)
}

// TestSIGTERM: SIGTERM stops a training as Ctrl-C does, after the current minibatch, with one
// line naming the checkpoint to resume from.
func TestSIGTERM(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.safetensors")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DRSAE_TEST_CHILD="+strings.Join([]string{"train", "dict", "--data", "patches", "--patch", "8", "--units", "8",
		"--train-size", "200", "--test-size", "20", "--epochs", "100000", "--iterations", "5", "--batch", "50",
		"--backend", "cpu", "--quiet", "--out", out}, "\x1f"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(model.CheckpointPath(out)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint after a minute")
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "--resume "+model.CheckpointPath(out)) {
		t.Errorf("after SIGTERM: %v, stderr %q; want exit 1 and the checkpoint to resume from", err, stderr.String())
	}
	if _, err := model.ReadSaved(model.CheckpointPath(out)); err != nil {
		t.Errorf("the checkpoint after SIGTERM: %v", err)
	}
}
