// Package profiles is tailor's model of what a container was seen doing:
// syscalls per ABI (with the argument values that matter), capabilities
// (granted and denied checks), provenance and loss. It loads, validates and
// saves profile documents byte-stably; merge and diff build on it.
//
// Profiles, seccomp JSON and OCI documents come from other people (a pull
// request, an image, a pod), so reading them is bounded and linear:
//   - every document is read through ReadDocument or ReadDocumentFile, or
//     checked with CheckJSON before it is decoded: at most MaxDocumentSize
//     (16 MiB) bytes, with arrays and objects nested at most MaxDepth (64)
//     deep, refused at once with ErrTooLarge or ErrTooDeep otherwise;
//   - positions in a document (Positions, Locate) are found in one pass,
//     however many are asked for.
//
// Completeness is derived, never taken on trust: a profile that counts a
// loss is incomplete whatever its "complete" field says, and Validate
// refuses argument data a recording cannot give (an empty value list in a
// complete profile, values with overflow, values outside the recorded bits).
//
// # How the document grows
//
// A profile document carries schemaVersion. Version 1 (SchemaVersion) holds
// what the syscall and capability recorder sees. The next dimension, what a
// container touches (files with their accesses, programs run, network
// peers, signals and ptrace), arrives as new top-level sections, one per
// kind ("files", "programs", "network"), in schema version 2:
//   - One writer: this code writes only the newest version, so a profile
//     with none of the new sections is still written as version 2.
//   - Every older version loads. A version 1 document loads with the new
//     sections empty and marked as not recorded (a profile records which
//     dimensions its recording covered), so a v1 profile never reads as
//     "touches no files": generators that need a section (AppArmor,
//     Landlock) refuse a profile that did not record it rather than emit
//     deny-all rules. A version newer than this code knows is refused with
//     the versions it reads.
//   - Each section is a sorted list of items with Seen (the recordings and
//     first comm/exe that saw it), in its own file with its own Normalize
//     order and Validate rules, so that a new kind touches the model,
//     Merge and the drift package in one place each.
//   - Merge unions items as it does syscalls: Seen counts add, loss adds,
//     and the result records a dimension only when every input did.
//   - drift grades each section with its own risk table (writes under /etc
//     or a binary directory, a new executable, a new outbound port, reads
//     of secret locations: high), additions and removals as for syscalls.
//   - Loss counters grow per dimension (a path longer than the kernel walk,
//     a full map); completeness stays derived from all of them.
package profiles
