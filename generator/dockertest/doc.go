// Package dockertest checks tailor's copies of Docker's defaults against
// Docker's own code. It is a module of its own so that the tailor binary
// never links github.com/docker/docker; `make test` runs it.
package dockertest
