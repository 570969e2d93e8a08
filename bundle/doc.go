// Package bundle prepares OCI bundles: the learning setup (the tailor hook
// and a permissive filter), enforcing a profile (linux.seccomp, within the
// bundle's own filter when it has one, and process.capabilities), and
// narrowing capabilities to what the engine granted. Every rewrite goes through internal/ociconfig, which changes
// only the fields tailor owns and keeps every other byte. ApplyBundle
// keeps the user's original config beside the one it rewrites.
package bundle
