// Package jsondoc reads the JSON documents tailor gets from others (a
// profile, a seccomp JSON, an OCI state) within its limits, checks their
// keys against the Go types they decode into, and says where in a document
// a value is. Package profiles re-exports it as the way every document is
// read (see its doc); it is a package of its own, without the profile
// model and its libseccomp, so that the OCI hook can read the OCI state and
// an if: seccomp input with the same limits and refusals while linking
// neither.
package jsondoc
