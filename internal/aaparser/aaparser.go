// Package aaparser checks AppArmor profile text with the real
// apparmor_parser, without loading anything into a kernel: tailor's tests
// validate every profile they generate with it (the kernel here has no
// AppArmor, so validating is all a test can do).
package aaparser

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// FeaturesFile is the kernel feature set the parser compiles for (from
// Debian's apparmor package): without it, the parser would ask the
// running kernel, which has no AppArmor here.
const FeaturesFile = "/usr/share/apparmor-features/features"

// ErrMissing marks a host without apparmor_parser or its features file.
var ErrMissing = errors.New("apparmor_parser is not available (install package apparmor: scripts/install-prereqs.sh)")

// parserPath finds apparmor_parser on PATH or in the sbin directories
// (which a non-root PATH may lack).
func parserPath() (string, error) {
	if p, err := exec.LookPath("apparmor_parser"); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, "apparmor_parser")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrMissing
}

// Available reports whether profiles can be validated here.
func Available() error {
	if _, err := parserPath(); err != nil {
		return err
	}
	if _, err := os.Stat(FeaturesFile); err != nil {
		return fmt.Errorf("%w: %w", ErrMissing, err)
	}
	return nil
}

// Validate compiles text as apparmor_parser -Q -K -M FeaturesFile would
// (parse and compile, skip the cache, load nothing): nil when the parser
// accepts it, else an error with the parser's message.
func Validate(text []byte) error {
	_, err := run(text)
	return err
}

// RuleExprs compiles text and returns the parser's -D rule-exprs dump:
// for each rule, the expression tree it became, in which an operator is
// written plainly and a literal operator character escaped.
func RuleExprs(text []byte) (string, error) {
	return run(text, "-D", "rule-exprs")
}

func run(text []byte, extra ...string) (string, error) {
	parser, err := parserPath()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "tailor-aaparser")
	if err != nil {
		return "", fmt.Errorf("validate profile: %w", err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "profile")
	if err := os.WriteFile(file, text, 0o600); err != nil {
		return "", fmt.Errorf("validate profile: %w", err)
	}
	args := append([]string{"-Q", "-K", "-M", FeaturesFile}, extra...)
	cmd := exec.Command(parser, append(args, file)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("apparmor_parser refuses the profile: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	// The dumps go to stdout or stderr depending on the option.
	return out.String() + stderr.String(), nil
}

// Require skips t when profiles cannot be validated here, and fails it
// under CI=true, where every prerequisite must be installed.
func Require(t testing.TB) {
	t.Helper()
	err := Available()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %v", err)
	}
	t.Skipf("skipping validation with apparmor_parser: %v", err)
}
