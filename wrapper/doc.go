// Package wrapper is `tailor runtime`, the OCI runtime wrapper for engines
// that pass no annotations to hooks (Docker): on create it prepares the
// bundle for learning or enforcement, as the container's environment or
// annotations ask, then execs the real runtime with the engine's arguments.
package wrapper
