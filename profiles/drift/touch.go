package drift

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tailor-dev/tailor/profiles"
)

// The kinds of change to what a container touches (schema version 2).
const (
	KindFile    Kind = "file"
	KindProgram Kind = "program"
	KindNetwork Kind = "network"
	KindSignal  Kind = "signal"
)

// touchDims pairs each touch kind with the dimension that must be recorded
// on both sides for it to be compared.
var touchDims = []struct {
	kind Kind
	dim  profiles.Dimension
}{{KindFile, profiles.DimFiles}, {KindProgram, profiles.DimPrograms}, {KindNetwork, profiles.DimNetwork}, {KindSignal, profiles.DimSignals}}

// diffTouch compares the touch sections both profiles recorded. A section
// only one side recorded is not compared (an unrecorded section says
// nothing), and a note says so.
func (r *Report) diffTouch(base, cur *profiles.Profile) {
	for _, t := range touchDims {
		switch b, c := base.Records(t.dim), cur.Records(t.dim); {
		case b && c:
			r.TouchCompared = append(r.TouchCompared, t.dim)
		case c && !b:
			r.Notes = append(r.Notes, fmt.Sprintf("BASELINE did not record %s: CURRENT's %s are not compared", t.dim, t.dim))
			continue
		default:
			continue
		}
		switch t.kind {
		case KindFile:
			r.diffFiles(base.Files, cur.Files)
		case KindProgram:
			diffItems(r, base.Programs, cur.Programs, profiles.Program.Key,
				func(p profiles.Program, i int) Change {
					c := Change{Kind: KindProgram, Name: QuoteName(p.Path), Seen: seen(p.Seen), path: fmt.Sprintf("programs[%d].path", i)}
					if p.Interpreter != "" {
						c.Detail = "run by " + QuoteName(p.Interpreter)
					}
					c.setGrade(ProgramGrade(p.Path))
					return c
				})
		case KindNetwork:
			diffItems(r, base.Network, cur.Network, profiles.Network.Key,
				func(n profiles.Network, i int) Change {
					c := Change{Kind: KindNetwork, Name: DescribeNetwork(n), Seen: seen(n.Seen), path: fmt.Sprintf("network[%d].op", i)}
					c.setGrade(NetworkGrade(n))
					return c
				})
		case KindSignal:
			diffItems(r, base.Signals, cur.Signals, profiles.Signal.Key,
				func(s profiles.Signal, i int) Change {
					c := Change{Kind: KindSignal, Name: DescribeSignal(s), Seen: seen(s.Seen), path: fmt.Sprintf("signals[%d].signal", i)}
					c.setGrade(SignalGrade(s))
					return c
				})
		}
	}
}

func diffItems[T any](r *Report, base, cur []T, key func(T) string, change func(T, int) Change) {
	inBase := map[string]bool{}
	for _, b := range base {
		inBase[key(b)] = true
	}
	inCur := map[string]bool{}
	for i, c := range cur {
		inCur[key(c)] = true
		if inBase[key(c)] {
			r.Unchanged++
			continue
		}
		r.Added = append(r.Added, change(c, i))
	}
	for i, b := range base {
		if !inCur[key(b)] {
			ch := change(b, i)
			ch.Risk, ch.Why, ch.Source, ch.Seen, ch.path = RiskNone, "", "", nil, ""
			r.Removed = append(r.Removed, ch)
		}
	}
}

// diffFiles compares files by path: a new path, or new accesses to a
// known one, is an addition graded by the accesses it adds; accesses (or
// whole paths) CURRENT no longer makes are removals.
func (r *Report) diffFiles(base, cur []profiles.File) {
	byPath := map[string]profiles.File{}
	for _, f := range base {
		byPath[f.Path] = f
	}
	inCur := map[string]bool{}
	for i, f := range cur {
		inCur[f.Path] = true
		b := byPath[f.Path]
		if added := accessMinus(f, b); len(added) > 0 {
			c := Change{Kind: KindFile, Name: QuoteName(f.Path), Access: added, Detail: joinAccess(added),
				Seen: seen(f.Seen), path: fmt.Sprintf("files[%d].path", i)}
			c.setGrade(FileGrade(f.Path, added))
			r.Added = append(r.Added, c)
		} else {
			r.Unchanged++
		}
		if gone := accessMinus(b, f); len(gone) > 0 {
			r.Removed = append(r.Removed, Change{Kind: KindFile, Name: QuoteName(f.Path), Access: gone, Detail: joinAccess(gone)})
		}
	}
	for _, b := range base {
		if !inCur[b.Path] {
			r.Removed = append(r.Removed, Change{Kind: KindFile, Name: QuoteName(b.Path), Access: b.Access, Detail: joinAccess(b.Access)})
		}
	}
}

// accessMinus is the accesses of a that b lacks.
func accessMinus(a, b profiles.File) []profiles.Access {
	var out []profiles.Access
	for _, x := range a.Access {
		if !b.Has(x) {
			out = append(out, x)
		}
	}
	return out
}

func joinAccess(as []profiles.Access) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// DescribeNetwork spells an endpoint out: "connect inet tcp port 443",
// "bind unix stream /run/x.sock".
func DescribeNetwork(n profiles.Network) string {
	s := string(n.Op) + " " + n.Family
	if n.Protocol != "" {
		s += " " + n.Protocol
	}
	if n.Port != 0 {
		s += " port " + strconv.Itoa(n.Port)
	}
	if n.Address != "" {
		s += " " + QuoteName(n.Address)
	}
	if n.Op == profiles.NetConnect || n.Op == profiles.NetSend {
		if n.Family != "unix" {
			if n.Loopback {
				s += " (loopback)"
			} else {
				s += " (not loopback)"
			}
		}
	}
	return s
}

// DescribeSignal spells a signal or ptrace item out: a ptrace attach the
// kernel refused (Failed) reads as an attempt, never as a ptrace that
// happened.
func DescribeSignal(s profiles.Signal) string {
	if s.Signal == "ptrace" {
		if s.Failed {
			return "failed ptrace attempt on " + QuoteName(s.Target) + " outside the container"
		}
		return "ptrace of " + QuoteName(s.Target) + " outside the container"
	}
	return s.Signal + " to " + QuoteName(s.Target) + " outside the container"
}

// QuoteName makes a name from a recording safe to print: a file name can
// hold newlines, terminal escapes or invalid UTF-8, which must not reach a
// terminal, a Markdown table or a CI annotation as they are. Printable
// names are shown as they are; others Go-quoted.
func QuoteName(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == '"' }) {
		return s
	}
	return strconv.Quote(s)
}
