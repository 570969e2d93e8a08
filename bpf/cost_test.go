package bpf

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// stormEnv makes the test binary a storm of N getppid calls once it has
// been tracked (see runHelperAs).
const stormEnv = "TAILOR_BPF_STORM"

func init() {
	v := os.Getenv(stormEnv)
	switch {
	case v == "wait":
		os.Stdin.Read(make([]byte, 1))
		os.Setenv(stormEnv, "run")
		exe, _ := os.Executable()
		syscall.Exec(exe, os.Args, os.Environ())
		os.Exit(2)
	case v == "run":
		n, _ := strconv.Atoi(os.Getenv(stormEnv + "_N"))
		for range n {
			unix.Getppid()
		}
		os.Exit(0)
	}
}

// BenchmarkTrackedSyscall reports the kernel's run time of sys_enter and
// sys_exit_touch per getppid of a tracked task past its boundary (the
// storm's steady state: nothing new to record), from the kernel's BPF
// statistics rather than the time a syscall takes, so that the figure is
// tailor's code alone. empty-ns/call is an empty tp_btf program on
// sys_enter measured alike: the statistics' own cost, which the other two
// include. The programs run for every task on the host: what they cost
// over an idle window as long as the storm is taken away, so that other
// tasks' syscalls mostly leave the figure (on a busy machine, read it as
// ±10%). b.N is the storm's length in syscalls.
//
//	go test ./bpf -run '^$' -bench TrackedSyscall -benchtime 2000000x -count 5
func BenchmarkTrackedSyscall(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("loading BPF needs root")
	}
	tr, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	empty, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp,
		AttachTo: "sys_enter", License: "GPL", Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err != nil {
		b.Fatal(err)
	}
	defer empty.Close()
	l, err := link.AttachTracing(link.TracingOptions{Program: empty})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		b.Fatal(err)
	}
	defer stats.Close()
	progs := []struct {
		name string
		p    *ebpf.Program
	}{{"sys_enter", tr.objs.SysEnter}, {"sys_exit", tr.objs.SysExitTouch}, {"empty", empty}}
	snap := func() (out [3][2]float64) {
		for i, p := range progs {
			s, err := p.p.Stats()
			if err != nil {
				b.Fatal(err)
			}
			out[i] = [2]float64{float64(s.Runtime), float64(s.RunCount)}
		}
		return out
	}
	b.Setenv(stormEnv+"_N", strconv.Itoa(b.N))
	b.ResetTimer()
	start := time.Now()
	s0 := snap()
	runHelper(b, tr, 1, stormEnv)
	s1 := snap()
	time.Sleep(time.Since(start))
	s2 := snap()
	b.StopTimer()
	for i, p := range progs {
		ns := (s1[i][0] - s0[i][0]) - (s2[i][0] - s1[i][0])
		runs := (s1[i][1] - s0[i][1]) - (s2[i][1] - s1[i][1])
		b.ReportMetric(ns/runs, p.name+"-ns/call")
	}
	b.ReportMetric(0, "ns/op") // the storm's process start and the idle window: not a figure
}
