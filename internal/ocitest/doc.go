// Package ocitest builds the OCI bundles tailor's end-to-end tests and
// benchmarks run, and runs them under runc or crun.
//
// A bundle's config.json is `runc spec`'s default config with what a
// Config says on top (the command, the root, the hostname and Options such
// as WithCaps or WithSeccomp), edited as a typed specs.Spec. The root
// filesystems come from package internal/rootfs. Run, RunContainer,
// WaitFile and PrepareCrun are the side effects both callers share; what
// they do with a failure (fail a test, record a benchmark error) is theirs.
package ocitest
