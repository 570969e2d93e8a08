// Package runtimeargs reads a runc or crun command line exactly as that
// runtime would, and refuses what it cannot read that way: `tailor
// runtime` prepares the bundle it finds here, and a create it misread would
// start a container from a config it never prepared.
//
// runc and crun parse differently:
//
//   - runc (Go's flag package, through urfave/cli): -name and --name alike,
//     the value after "=" or as the next argument, no abbreviations, no
//     value attached to a one-letter option (-bDIR is an unknown option).
//   - crun (glibc argp): --name[=value] with unambiguous abbreviations
//     (--bund is --bundle), -b DIR or -bDIR, grouped switches (-dt), and
//     -bundle is -b with the value "undle".
//
// For runc Parse takes the forms Go's flag package takes. Of crun's it
// takes full long names and single short options, and refuses
// abbreviations, attached values and groups, which no engine writes. For
// any other runtime it takes only the forms both read alike. For all,
// options come before the container id (runc would move later ones
// forward, crun refuses them), --bundle at most once and not empty, and
// crun's --config is refused: the container's config is BUNDLE/config.json.
//
// The tests hold models of both parsers (oracle_test.go), written apart
// from this one, and a fuzz target that compares them.
package runtimeargs
