// Command tailor-bench runs tailor's benchmarks (issue 5) on this machine
// as root, prints a table and writes the figures as JSON.
//
//	tailor-bench -tailor bin/tailor -o bench/results.json
//	tailor-bench -quick -only container-storm,hook   # check the harness
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tailor-dev/tailor/bench"
)

func main() {
	tailor := flag.String("tailor", "bin/tailor", "the tailor binary to measure")
	out := flag.String("o", "bench/results.json", "where to write the results")
	quick := flag.Bool("quick", false, "short loops and few rounds: checks the harness, figures not worth recording")
	only := flag.String("only", "", "comma-separated benchmarks to run: "+strings.Join(bench.Names(), ", "))
	keep := flag.Bool("keep", false, "keep the work directory")
	flag.Parse()
	opts := bench.Options{Tailor: *tailor, Quick: *quick, Keep: *keep, Log: os.Stderr}
	if *only != "" {
		opts.Only = strings.Split(*only, ",")
	}
	env, err := bench.NewEnv(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tailor-bench: %s\n", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "tailor-bench: interrupted, cleaning up")
		env.Close()
		os.Exit(130)
	}()
	res, err := env.Run()
	env.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tailor-bench: %s\n", err)
		os.Exit(2)
	}
	res.Print(os.Stdout)
	data, err := res.JSON()
	if err == nil {
		err = os.WriteFile(*out, append(data, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tailor-bench: write %s: %s\n", *out, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "tailor-bench: wrote %s\n", *out)
}
