// Package profiles is tailor's model of what a container was seen doing:
// syscalls per ABI (with the argument values that matter), capabilities
// (granted and denied checks), provenance and loss. It loads, validates and
// saves profile documents byte-stably; merge and diff build on it.
package profiles
