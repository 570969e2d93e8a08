package aamatch

import (
	"fmt"
	"strings"
)

// Perm is a set of file permissions, as AppArmor's file rules grant them.
type Perm uint8

// The file permissions.
const (
	Read   Perm = 1 << iota // r
	Write                   // w (a rule granting w grants a too)
	Append                  // a
	Link                    // l
	Lock                    // k
	Mmap                    // m (mmap with PROT_EXEC)
	Exec                    // x, in any exec mode (ix, px, ux, cx...)
)

// AllPerms is every permission (the bare "file," rule).
const AllPerms = Read | Write | Append | Link | Lock | Mmap | Exec

var permLetters = []struct {
	p Perm
	c byte
}{{Read, 'r'}, {Write, 'w'}, {Append, 'a'}, {Link, 'l'}, {Lock, 'k'}, {Mmap, 'm'}, {Exec, 'x'}}

// String spells the permissions in AppArmor's letters, in the order
// r, w, a, l, k, m, x.
func (p Perm) String() string {
	var b strings.Builder
	for _, l := range permLetters {
		if p&l.p != 0 {
			b.WriteByte(l.c)
		}
	}
	return b.String()
}

// ParsePerm reads a permission query such as "r", "rw" or "x".
func ParsePerm(s string) (Perm, error) {
	var p Perm
	if s == "" {
		return 0, fmt.Errorf("no permission given (use letters of rwalkmx)")
	}
	for i := 0; i < len(s); i++ {
		found := false
		for _, l := range permLetters {
			if s[i] == l.c {
				p |= l.p
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("permission %q: unknown letter %q (use letters of rwalkmx)", s, s[i])
		}
	}
	return p, nil
}

// parseRulePerm reads the access of a file rule, exec modes included
// (ix, px, Px, ux, Ux, cx, Cx, pix, cux...): any of them grants Exec.
func parseRulePerm(s string) (Perm, bool) {
	var p Perm
	qualified := false
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 'r':
			p |= Read
		case 'w':
			p |= Write | Append
		case 'a':
			p |= Append
		case 'l':
			p |= Link
		case 'k':
			p |= Lock
		case 'm':
			p |= Mmap
		case 'x':
			p |= Exec
		case 'i', 'p', 'P', 'u', 'U', 'c', 'C':
			qualified = true
		default:
			return 0, false
		}
	}
	if qualified && p&Exec == 0 {
		return 0, false
	}
	return p, true
}
