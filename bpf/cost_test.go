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

// stormEnv makes the test binary a storm of N operations once it has been
// tracked (see runHelperAs): getppid calls, or, with stormEnv_OP set, the
// open and close of its own executable (open) or a connect of one UDP
// socket to 127.0.0.1:9 (connect), the container storm's ops.
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
		os.Exit(storm(os.Getenv(stormEnv+"_OP"), n))
	}
}

// storm runs n operations op and returns the exit status.
func storm(op string, n int) int {
	switch op {
	case "", "getppid":
		for range n {
			unix.Getppid()
		}
	case "open":
		exe, err := os.Executable()
		if err != nil {
			return 2
		}
		for range n {
			fd, err := unix.Open(exe, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return 2
			}
			unix.Close(fd)
		}
	case "connect":
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return 2
		}
		sa := &unix.SockaddrInet4{Port: 9, Addr: [4]byte{127, 0, 0, 1}}
		for range n {
			if unix.Connect(fd, sa) != nil {
				return 2
			}
		}
	default:
		return 2
	}
	return 0
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
// ±10%). b.N is the storm's length in operations: a getppid, an open and
// close of a known file (the path walk, hash and deduplication lookup of
// an object already recorded; close runs sys_exit_touch only up to its
// syscall number test), a connect of a UDP socket to a known endpoint.
// -ns/op is the run time per operation, -ns/call per program run.
//
//	go test ./bpf -run '^$' -bench TrackedSyscall -benchtime 2000000x -count 5
func BenchmarkTrackedSyscall(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("loading BPF needs root")
	}
	for _, op := range []string{"getppid", "open", "connect"} {
		b.Run(op, func(b *testing.B) { benchTracked(b, op) })
	}
}

func benchTracked(b *testing.B, op string) {
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
	b.Setenv(stormEnv+"_OP", op)
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
		if p.name != "empty" {
			b.ReportMetric(ns/float64(b.N), p.name+"-ns/op")
		}
	}
	b.ReportMetric(0, "ns/op") // the storm's process start and the idle window: not a figure
}
