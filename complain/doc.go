// Package complain runs complain mode: the seccomp agent that receives a
// container's seccomp notify fd from runc or crun (linux.seccomp.listenerPath),
// records every syscall (or argument value) the enforced profile lacks, lets
// it through (SECCOMP_USER_NOTIF_FLAG_CONTINUE) or, in report mode, refuses
// it with the profile's errno, and when the container is gone writes what it
// recorded as a tailor profile (NAME.violations) for tailor merge and diff.
//
// Complain mode is not a security boundary: while it runs, the workload may
// do whatever the engine's filter allows. The agent is a sibling of the
// shared tracer in its root-only directory, started on demand by the
// createRuntime hook tailor apply --complain adds; see docs/complain.md.
package complain
