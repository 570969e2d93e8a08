// Package learn runs an OCI bundle once under a runtime with the tailor
// hook and a permissive learning filter, on a copy of its config.json, and
// waits for the tracer to write what the container did. `tailor learn` is
// this package.
package learn
