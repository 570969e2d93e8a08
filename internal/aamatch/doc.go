// Package aamatch decides which file accesses an AppArmor profile allows,
// without a kernel: it parses a profile's text (the preamble's variables,
// one profile block, its file rules) and matches paths against the rules'
// globs the way apparmor_parser compiles them. tailor's tests use it to
// prove that each generated rule matches exactly what it should, and that
// what a workload never did stays refused; the end-to-end tests use it to
// check a separate run's accesses (Allowed).
//
// What it models, checked against apparmor_parser 3.0 (-D rule-exprs):
//   - quoting and escapes: "..." strings, backslash escapes (\\, \", \NNN
//     octal, \xHH, \dNNN, \n, \t, \r, \a, \e, \f, \v); an escaped byte is
//     never a glob operator;
//   - globs: * (any bytes but /), ** (any bytes), ? (one byte but /),
//     [abc], [a-c], [^a-c] (which, as in AppArmor, may match /), {a,b}
//     (empty alternatives too), and the rule that * or ** right after a /
//     matches at least one byte, so /tmp/* and /tmp/** never match /tmp/;
//   - variables: @{NAME}=... and += in the preamble, the values of
//     tunables/global (Tunables) when the profile includes it, and
//     @{profile_name};
//   - consecutive slashes collapse to one, as the parser's do;
//   - permissions r, w (which includes a), a, l, k, m and x (any exec
//     mode: ix, px, ux, cx...), allow and deny, deny winning whatever the
//     order.
//
// What it does not: owner rules count as if the task owned the file (the
// common case in a container; tailor never writes owner rules), audit is
// ignored, and includes other than tunables/global, child profiles, hats,
// link and alias rules, rule blocks and priorities are refused with
// ErrUnsupported rather than guessed at. Directories are matched, as
// AppArmor does, by a path that ends with a slash.
package aamatch
