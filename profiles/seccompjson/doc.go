// Package seccompjson imports plain OCI (runtime-spec) and Docker/moby
// seccomp JSON profiles as tailor profiles, so that a hand-written or
// Docker's default filter can be merged with learned profiles and diffed
// against them.
//
// A seccomp JSON says what a filter allows, not what a container did, so an
// imported profile is necessarily coarser than a learned one: see Limits.
package seccompjson
