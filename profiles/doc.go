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
// Those readers are package internal/jsondoc's, and the store's layout
// (names, scopes, room for recordings, atomic writes) package
// profiles/storedir's, re-exported here: the OCI hook uses them without
// linking the model, whose syscall names come from libseccomp (cgo).
//
// Completeness is derived, never taken on trust: a profile that counts a
// loss is incomplete whatever its "complete" field says, and Validate
// refuses argument data a recording cannot give (an empty value list in a
// complete profile, values with overflow, values outside the recorded bits).
//
// # What a container touches (schema version 2)
//
// A profile document carries schemaVersion. Version 1 held what the
// syscall and capability recorder sees. Version 2 (SchemaVersion) adds
// what a container touches, as top-level sections, one per kind (touch.go):
// "files" (each path with its accesses: read, write, create, mmap, unlink,
// a failed lookup...), "programs" (executables run, with the interpreter of
// a script), "network" (ports bound and listened on, destinations
// connected to, unix socket peers) and "signals" (signals and ptrace aimed
// outside the container); and "recorded", the dimensions the recording
// covered.
//   - One writer: this code writes only the newest version, so a profile
//     with none of the new sections is still written as version 2.
//   - Every older version loads. A version 1 document loads with the new
//     sections empty and not recorded, so a v1 profile never reads as
//     "touches no files": generators that need a section (AppArmor,
//     Landlock) refuse a profile that did not record it
//     (Profile.RequireRecorded) rather than emit deny-all rules. A version
//     newer than this code knows is refused with the versions it reads.
//   - A file's path is the bytes the kernel resolved, as the container sees
//     its root: any byte but NUL. A path that is not valid UTF-8 is written
//     as pathBase64, so that no byte is replaced on the way.
//   - Each section is a sorted list of items with Seen (the recordings and
//     first comm/exe that saw it).
//   - Merge unions items as it does syscalls: Seen counts add, loss adds,
//     and the result records a dimension only when every input did (its
//     section may still list what the others saw: it is then partial).
//   - Loss counters grow per dimension (Paths: longer than the kernel walk;
//     Objects: the kernel's deduplication map full); completeness stays
//     derived from all of them.
package profiles
