// Package seccompjson imports plain OCI (runtime-spec) and Docker/moby
// seccomp JSON profiles as tailor profiles, so that a hand-written or
// Docker's default filter can be merged with learned profiles and diffed
// against them.
//
// A seccomp JSON says what a filter allows, not what a container did, so an
// imported profile is necessarily coarser than a learned one: see Limits.
//
// Documents are read within profiles.MaxDocumentSize and profiles.MaxDepth,
// and importing one is linear in its size: notes find their positions in
// one pass, repeated argument rules are expanded once, and unknown syscall
// names beyond the first few are counted in one note.
package seccompjson
