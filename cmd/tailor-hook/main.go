// Command tailor-hook is tailor's OCI hook as a binary of its own: what
// `tailor hook` does, with the same flags, refusals and exit codes, without
// linking the rest of tailor. A runtime runs the hook on every container
// start, before the container may run, and a Go binary's package inits
// and page faults grow with what it links: this one links package hook
// (which reads the OCI state, confines paths and registers with the
// tracer) and nothing that generates profiles, loads BPF or talks to a
// registry. When no tracer runs, it starts `tailor tracer` from the tailor
// binary installed beside it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tailor-dev/tailor/hook"
	"github.com/tailor-dev/tailor/profiler/wire"
	"github.com/tailor-dev/tailor/profiles/storedir"
)

// Exit codes, as `tailor hook`'s: 1 when the container cannot be learned
// (the runtime then refuses to start it), 2 for a usage error.
const (
	exitRefused = 1
	exitUsage   = 2
)

// tailorName is the full binary, beside this one, that runs the tracer.
const tailorName = "tailor"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stderr))
}

// run is the whole command: main and the tests call it.
func run(args []string, stdin io.Reader, stderr io.Writer) int {
	opts, err := parse(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "tailor-hook: %s\n", err)
		return exitUsage
	}
	if err := hook.Run(context.Background(), stdin, opts); err != nil {
		fmt.Fprintf(stderr, "tailor-hook: %s\n", err)
		return exitRefused
	}
	return 0
}

// parse reads `tailor hook`'s flags (see cmd/tailor/hook.go): --store
// (default $TAILOR_STORE, else the default store), --learn-replaces,
// --allow-dir (repeatable, or comma-separated), --output, --tracer-dir,
// --tracer-timeout.
func parse(args []string, stderr io.Writer) (hook.Options, error) {
	fs := flag.NewFlagSet("tailor-hook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	store := storedir.DefaultDir
	if v, ok := lookupStore(); ok {
		store = v
	}
	var opts hook.Options
	var allow dirList
	fs.StringVar(&opts.Store, "store", store, "profile store `DIR` (env TAILOR_STORE)")
	fs.BoolVar(&opts.LearnReplaces, "learn-replaces", false,
		"a learning request replaces the stored profile of its name, which other containers may enforce (default: it adds a recording to promote)")
	fs.Var(&allow, "allow-dir", "directory "+hook.AnnotationTraceSyscall+" may write to and read from (repeatable)")
	fs.StringVar(&opts.Output, "output", "", "write the tailor profile here (set by tailor learn)")
	dir := fs.String("tracer-dir", wire.DefaultDir, "directory of the shared tracer's socket, lock and log")
	timeout := fs.Duration("tracer-timeout", hook.DefaultTracerTimeout, "give up on the tracer after this long")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tailor-hook [flags] < OCI-STATE\n\nThe OCI hook (createRuntime or prestart) that registers the container with tailor's tracer: see tailor hook --help.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("tailor-hook takes no arguments (got %q): the OCI state comes on stdin", fs.Args())
	}
	opts.AllowDirs = allow
	tailor := filepath.Join(filepath.Dir(hook.Executable()), tailorName)
	opts.Tracer = hook.TracerClient(*dir, *timeout, tailor)
	return opts, nil
}

// lookupStore is --store's default from the environment, as tailor's.
func lookupStore() (string, bool) { return os.LookupEnv("TAILOR_STORE") }

// dirList is a repeatable flag whose values may also be comma-separated,
// as `tailor hook`'s --allow-dir (a cli.StringSliceFlag) reads them.
type dirList []string

func (d *dirList) String() string { return strings.Join(*d, ",") }

func (d *dirList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		*d = append(*d, strings.TrimSpace(s))
	}
	return nil
}
