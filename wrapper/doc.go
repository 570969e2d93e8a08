// Package wrapper is `tailor runtime`, the OCI runtime wrapper for engines
// that pass no annotations to hooks (Docker): it prepares a container's
// bundle on create and run, as its environment or annotations ask, then
// execs the real runtime with the engine's arguments unchanged.
//
//   - create and run: TAILOR_LEARN (or dev.tailor.learn) adds the learning
//     hook and filter; the hook adds a recording that an operator promotes,
//     or, with Options.LearnReplaces, replaces the stored profile.
//     TAILOR_PROFILE (or dev.tailor.profile) applies the stored profile,
//     never granting a capability the engine did not; a missing, invalid
//     or incomplete profile refuses the container (wrapper.go).
//     TAILOR_COMPLAIN=1|report beside it rolls the profile out in complain
//     mode, only when the operator allowed it (Options.Complain): an
//     image's environment alone cannot loosen enforcement (complain.go).
//   - exec into a container that enforces a profile: the process file's
//     capabilities are narrowed to the container's, and a --cap it does not
//     hold is refused (exec.go).
//   - restore of a container that asks tailor for anything is refused: the
//     restored container's later execs would take the engine's config.
//
// The command line is read exactly as the runtime will read it
// (internal/runtimeargs), and a line it cannot read that way is refused.
// A refusal writes nothing, never runs the runtime and goes to the
// runtime's --log file, where containerd looks for it. Every other command
// passes straight through.
package wrapper
