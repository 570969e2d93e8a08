// Package storedir is the layout of a profile store, without the profiles
// in it: the names of profiles and of scopes (the host, a Kubernetes
// namespace), where recordings go and how many may wait, the writers'
// lock, and atomic writes through a handle on the directory. Package
// profiles builds its Store on it and re-exports its names.
//
// It is a package of its own so that the OCI hook can check a learning
// request (a profile name, a namespace, room for one more recording) and
// open the store with exactly the refusals of tailor's store, without
// linking the profile model, whose syscall names come from libseccomp
// (cgo): tailor-hook stays a static binary.
package storedir
