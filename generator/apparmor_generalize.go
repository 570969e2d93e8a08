package generator

import (
	"strings"
)

// Generalisation turns the parts of a path that differ from run to run
// (process ids, temporary names, hashes) into globs, so that the profile
// still covers a second run of the same workload; everything else stays
// exact. Each rule matches one documented shape only (docs/apparmor.md),
// and is tested both ways: fresh names of that shape match, neighbouring
// names do not.

// The rule names, as notes and docs call them.
const (
	aaRuleProcPID    = "/proc/<pid>"
	aaRuleProcSelf   = "/proc/self"
	aaRuleThreadSelf = "/proc/thread-self"
	aaRuleProcTID    = "/proc/<pid>/task/<tid>"
	aaRuleUUID       = "uuid"
	aaRuleHex        = "hex hash"
	aaRuleMktemp     = "mktemp tmp.XXXXXXXXXX"
	aaRulePyTemp     = "python tempfile tmpXXXXXXXX"
	aaRuleMkstemp    = "mkstemp XXXXXX"
	aaRuleNumber     = "numeric suffix"
)

// The glob pieces rules are made of.
const (
	aaGlobAlnum  = "[0-9A-Za-z]"
	aaGlobPyChar = "[0-9_a-z]"
	aaGlobHexLo  = "[0-9a-f]"
	aaGlobHexUp  = "[0-9A-F]"
	// aaGlobNum is a decimal number of 1 to 10 digits without a leading
	// zero (any uint32, what Go's os.CreateTemp and a pid print): a
	// variable the profile's preamble defines (aaNumVar) when a rule
	// uses it.
	aaGlobNum = "@{tailor_num}"
)

// aaNumVar defines aaGlobNum.
const aaNumVar = "@{tailor_num}={[0-9],[1-9][0-9],[1-9][0-9][0-9],[1-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9]," +
	"[1-9][0-9][0-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]," +
	"[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]}"

// aaTempDirs are the directories whose entries get the temporary-name
// rules, by their components.
var aaTempDirs = [][]string{{"tmp"}, {"var", "tmp"}, {"dev", "shm"}}

// aaHashLengths are the lengths of the hex digests and ids the hex rule
// knows (64-bit ids, SHA-1, SHA-256, ...).
var aaHashLengths = map[int]bool{16: true, 20: true, 24: true, 32: true, 40: true, 48: true, 56: true, 64: true, 96: true, 128: true}

// aaTempPrefixes name mkstemp templates whose six random characters
// need no evidence of randomness ("tmpXXXXXX").
var aaTempPrefixes = map[string]bool{"tmp": true, "tmp.": true, "tmp-": true, "tmp_": true}

// aaGeneralize returns the rule pattern of path and the generalisation
// rules that applied (none: the pattern is path, exactly).
func aaGeneralize(path string) (aaPattern, []string) {
	if path == "/" {
		return aaLiteral("/"), nil
	}
	comps := strings.Split(path[1:], "/")
	if comps[0] == "proc" && len(comps) > 1 {
		return aaGeneralizeProc(comps)
	}
	var pat aaPattern
	var used []string
	tempFrom := aaTempDepth(comps)
	for i, c := range comps {
		pat = pat.lit("/")
		piece, rule := aaGeneralizeComponent(c, tempFrom > 0 && i >= tempFrom)
		pat = append(pat, piece...)
		if rule != "" {
			used = append(used, rule)
		}
	}
	return pat, used
}

// aaTempDepth returns the index of the first component inside a temporary
// directory, or 0 when the path is in none.
func aaTempDepth(comps []string) int {
	for _, dir := range aaTempDirs {
		if len(comps) > len(dir) && strings.Join(comps[:len(dir)], "/") == strings.Join(dir, "/") {
			return len(dir)
		}
	}
	return 0
}

// aaGeneralizeProc handles /proc: the pid of a process (or self, which the
// kernel resolves to it before AppArmor sees the path) becomes @{pid},
// thread-self and task/<tid> become task/@{tid}. Nothing else under
// /proc changes.
func aaGeneralizeProc(comps []string) (aaPattern, []string) {
	pat := aaLiteral("/proc")
	var used []string
	rest := comps[1:]
	switch {
	case aaPID(rest[0]) || rest[0] == "self":
		rule := aaRuleProcPID
		if rest[0] == "self" {
			rule = aaRuleProcSelf
		}
		pat, used = pat.lit("/").glob("@{pid}"), append(used, rule)
		rest = rest[1:]
		if len(rest) >= 2 && rest[0] == "task" && aaPID(rest[1]) {
			pat, used = pat.lit("/task/").glob("@{tid}"), append(used, aaRuleProcTID)
			rest = rest[2:]
		}
	case rest[0] == "thread-self":
		pat, used = pat.lit("/").glob("@{pid}").lit("/task/").glob("@{tid}"), append(used, aaRuleThreadSelf)
		rest = rest[1:]
	}
	for _, c := range rest {
		pat = pat.lit("/" + c)
	}
	return pat, used
}

// aaPID reports whether s is a number that @{pid} matches: 1 to
// 4999999 without a leading zero (the kernel's pid_max is at most 2^22).
func aaPID(s string) bool {
	if s == "" || len(s) > 7 || s[0] == '0' || !aaDigits(s) {
		return false
	}
	return len(s) < 7 || s[0] <= '4'
}

// aaGeneralizeComponent applies the first rule that fits one path
// component: uuid or hex hash anywhere, the temporary-name rules inside a
// temporary directory.
func aaGeneralizeComponent(c string, temp bool) (aaPattern, string) {
	if p, ok := aaGeneralizeUUID(c); ok {
		return p, aaRuleUUID
	}
	if p, ok := aaGeneralizeHex(c); ok {
		return p, aaRuleHex
	}
	if !temp {
		return aaLiteral(c), ""
	}
	switch {
	case strings.HasPrefix(c, "tmp.") && len(c) == 14 && aaAllOf(c[4:], aaAlnum):
		return aaLiteral("tmp.").glob(strings.Repeat(aaGlobAlnum, 10)), aaRuleMktemp
	case strings.HasPrefix(c, "tmp") && len(c) == 11 && aaAllOf(c[3:], aaPyChar):
		return aaLiteral("tmp").glob(strings.Repeat(aaGlobPyChar, 8)), aaRulePyTemp
	}
	if p, ok := aaGeneralizeMkstemp(c); ok {
		return p, aaRuleMkstemp
	}
	if p, ok := aaGeneralizeNumber(c); ok {
		return p, aaRuleNumber
	}
	return aaLiteral(c), ""
}

// aaGeneralizeUUID replaces one UUID (8-4-4-4-12 hex digits, all of one
// case) that stands alone between separators.
func aaGeneralizeUUID(c string) (aaPattern, bool) {
	for start := 0; start+36 <= len(c); start++ {
		u := c[start : start+36]
		if !aaUUID(u) || !aaStandsAlone(c, start, start+36) {
			continue
		}
		class := aaGlobHexLo
		if strings.ToUpper(u) == u && strings.ToLower(u) != u {
			class = aaGlobHexUp
		}
		p := aaLiteral(c[:start])
		for i, n := range []int{8, 4, 4, 4, 12} {
			if i > 0 {
				p = p.lit("-")
			}
			p = p.glob(strings.Repeat(class, n))
		}
		return p.lit(c[start+36:]), true
	}
	return nil, false
}

func aaUUID(u string) bool {
	for i := 0; i < len(u); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if u[i] != '-' {
				return false
			}
		} else if !aaHex(u[i]) {
			return false
		}
	}
	return strings.ToLower(u) == u || strings.ToUpper(u) == u
}

// aaGeneralizeHex replaces every run of hex digits of a digest's length
// (aaHashLengths) that stands alone between separators, has both digits
// and letters, and is of one case.
func aaGeneralizeHex(c string) (aaPattern, bool) {
	var p aaPattern
	done, changed := 0, false
	for i := 0; i < len(c); {
		if !aaHex(c[i]) {
			i++
			continue
		}
		j := i
		for j < len(c) && aaHex(c[j]) {
			j++
		}
		run := c[i:j]
		lower, upper := strings.ToLower(run) == run, strings.ToUpper(run) == run
		if aaHashLengths[len(run)] && aaStandsAlone(c, i, j) && strings.ContainsAny(run, "0123456789") &&
			strings.ContainsAny(strings.ToLower(run), "abcdef") && (lower || upper) {
			class := aaGlobHexLo
			if !lower {
				class = aaGlobHexUp
			}
			p = p.lit(c[done:i]).glob(strings.Repeat(class, len(run)))
			done, changed = j, true
		}
		i = j
	}
	if !changed {
		return nil, false
	}
	return p.lit(c[done:]), true
}

// aaStandsAlone reports whether c[i:j] is not glued to other letters or
// digits (a hash inside a longer word is not a hash).
func aaStandsAlone(c string, i, j int) bool {
	return (i == 0 || !aaAlnum(c[i-1])) && (j == len(c) || !aaAlnum(c[j]))
}

// aaGeneralizeMkstemp replaces the six random characters mkstemp(3) and
// mkdtemp(3) put at the end of a template: after a known prefix (tmp,
// tmp., ...) always, after any other prefix only when they look random
// (an upper-case letter with a lower-case letter or a digit), so that a
// fixed name such as "backup" or "passwd-2024" stays exact.
func aaGeneralizeMkstemp(c string) (aaPattern, bool) {
	if len(c) <= 6 {
		return nil, false
	}
	prefix, suffix := c[:len(c)-6], c[len(c)-6:]
	if !aaAllOf(suffix, aaAlnum) {
		return nil, false
	}
	random := strings.ContainsAny(suffix, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") &&
		(strings.ContainsAny(suffix, "abcdefghijklmnopqrstuvwxyz") || strings.ContainsAny(suffix, "0123456789"))
	if !aaTempPrefixes[prefix] && !random {
		return nil, false
	}
	return aaLiteral(prefix).glob(strings.Repeat(aaGlobAlnum, 6)), true
}

// aaGeneralizeNumber replaces a decimal number without a leading zero at
// the end of a name: after '.', '-' or '_' (a pid or counter suffix), or
// of six digits or more (Go's os.CreateTemp, which may also make the
// whole name a number).
func aaGeneralizeNumber(c string) (aaPattern, bool) {
	i := len(c)
	for i > 0 && c[i-1] >= '0' && c[i-1] <= '9' {
		i--
	}
	digits := c[i:]
	if digits == "" || len(digits) > 10 || digits[0] == '0' && digits != "0" {
		return nil, false
	}
	if !(i > 0 && strings.IndexByte(".-_", c[i-1]) >= 0) && len(digits) < 6 {
		return nil, false
	}
	if len(digits) == 10 && digits > "4294967295" {
		return nil, false
	}
	return aaLiteral(c[:i]).glob(aaGlobNum), true
}

func aaDigits(s string) bool { return aaAllOf(s, func(c byte) bool { return c >= '0' && c <= '9' }) }

func aaAllOf(s string, f func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !f(s[i]) {
			return false
		}
	}
	return s != ""
}

func aaAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func aaPyChar(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' }

func aaHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// StableDepth returns how many leading components of path (absolute and
// clean, as a profile holds it) name the same thing on every run: those
// before the first component the generalisation above turns into a glob
// (a pid, a temporary name, a hash). It is the number of components when
// none varies. Landlock, which grants rights beneath existing
// directories and has no globs, anchors a varying path at that depth.
func StableDepth(path string) int {
	if path == "/" {
		return 0
	}
	comps := strings.Split(path[1:], "/")
	for i := range comps {
		if _, used := aaGeneralize("/" + strings.Join(comps[:i+1], "/")); len(used) > 0 {
			return i
		}
	}
	return len(comps)
}
