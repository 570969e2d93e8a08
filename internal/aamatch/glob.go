package aamatch

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnsupported marks policy text this package does not model: it
// refuses it rather than guess what the kernel would allow.
var ErrUnsupported = errors.New("not supported by the matcher")

// Glob is a compiled AppArmor path glob.
type Glob struct {
	src  string
	seq  []node
	prog []inst
}

// Compile compiles a rule's path as written in a profile (quoted or not),
// with vars for its variable references.
func Compile(glob string, vars Vars) (*Glob, error) {
	its, err := unquote(glob)
	if err != nil {
		return nil, err
	}
	if its, err = expand(its, vars, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", glob, err)
	}
	its = collapseSlashes(its)
	p := &globParser{items: its}
	seq, err := p.seq(false)
	if err != nil {
		return nil, fmt.Errorf("glob %s: %w", glob, err)
	}
	if p.pos != len(its) {
		return nil, fmt.Errorf("glob %s: unbalanced '}'", glob)
	}
	g := &Glob{src: glob, seq: seq}
	g.prog = compileSeq(nil, seq)
	g.prog = append(g.prog, inst{op: opMatch})
	return g, nil
}

// MustCompile is Compile for globs known to be valid; it panics otherwise.
func MustCompile(glob string, vars Vars) *Glob {
	g, err := Compile(glob, vars)
	if err != nil {
		panic(err)
	}
	return g
}

// String returns the glob as it was written.
func (g *Glob) String() string { return g.src }

// Literal returns the one path the glob matches when it matches exactly
// one (each byte stands for itself, or is a class of one byte), and false
// otherwise.
func (g *Glob) Literal() (string, bool) {
	var b strings.Builder
	for _, n := range g.seq {
		if n.kind != nodeByte {
			return "", false
		}
		c, ok := n.set.single()
		if !ok {
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// byteSet is a set of bytes.
type byteSet [4]uint64

func (s *byteSet) add(c byte)      { s[c>>6] |= 1 << (c & 63) }
func (s *byteSet) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }
func (s *byteSet) addRange(lo, hi int) {
	for c := lo; c <= hi; c++ {
		s.add(byte(c))
	}
}

func (s *byteSet) negate() {
	for i := range s {
		s[i] = ^s[i]
	}
}

func (s *byteSet) single() (byte, bool) {
	n, last := 0, byte(0)
	for c := 0; c < 256; c++ {
		if s.has(byte(c)) {
			n++
			last = byte(c)
		}
	}
	return last, n == 1
}

func setOf(c byte) *byteSet {
	var s byteSet
	s.add(c)
	return &s
}

// allBut returns the set of every byte but those given.
func allBut(cs ...byte) *byteSet {
	var s byteSet
	for _, c := range cs {
		s.add(c)
	}
	s.negate()
	return &s
}

type nodeKind int

const (
	nodeByte nodeKind = iota // one byte of set
	nodeStar                 // any number of bytes of set
	nodeAlt                  // one of alts
)

type node struct {
	kind nodeKind
	set  *byteSet
	alts [][]node
}

type globParser struct {
	items []item
	pos   int
}

// seq parses up to the end, or, inside braces, up to the next plain ',' or
// '}' (left for the caller).
func (p *globParser) seq(inAlt bool) ([]node, error) {
	var out []node
	for p.pos < len(p.items) {
		it := p.items[p.pos]
		if !it.plain {
			out = append(out, literal(it.b))
			p.pos++
			continue
		}
		switch it.b {
		case '*':
			double := p.pos+1 < len(p.items) && p.items[p.pos+1] == item{b: '*', plain: true}
			if n := len(out); n > 0 && out[n-1].kind == nodeByte && out[n-1].set == slashSet {
				// A * or ** right after a / matches at least one byte,
				// which is not a /: /dir/* never matches /dir/.
				out = append(out, node{kind: nodeByte, set: notSlash})
			}
			if double {
				out = append(out, node{kind: nodeStar, set: notNul})
				p.pos += 2
			} else {
				out = append(out, node{kind: nodeStar, set: notSlash})
				p.pos++
			}
		case '?':
			out = append(out, node{kind: nodeByte, set: notSlash})
			p.pos++
		case '[':
			set, err := p.class()
			if err != nil {
				return nil, err
			}
			out = append(out, node{kind: nodeByte, set: set})
		case '{':
			p.pos++
			var alts [][]node
			for {
				alt, err := p.seq(true)
				if err != nil {
					return nil, err
				}
				alts = append(alts, alt)
				if p.pos == len(p.items) {
					return nil, errors.New("unterminated '{'")
				}
				sep := p.items[p.pos].b
				p.pos++
				if sep == '}' {
					break
				}
			}
			out = append(out, node{kind: nodeAlt, alts: alts})
		case ',', '}':
			if inAlt {
				return out, nil
			}
			if it.b == '}' {
				return nil, errors.New("unbalanced '}'")
			}
			out = append(out, literal(it.b))
			p.pos++
		default:
			out = append(out, literal(it.b))
			p.pos++
		}
	}
	return out, nil
}

// literal is the node of one byte standing for itself.
func literal(c byte) node {
	if c == '/' {
		return node{kind: nodeByte, set: slashSet}
	}
	return node{kind: nodeByte, set: setOf(c)}
}

// The sets the glob operators stand for; slashSet is shared so that the
// "* after /" rule can recognise a plain or escaped slash.
var (
	slashSet = setOf('/')
	notSlash = allBut('/', 0)
	notNul   = allBut(0)
)

// class parses [...] at p.pos.
func (p *globParser) class() (*byteSet, error) {
	p.pos++ // [
	var s byteSet
	negate := false
	if p.pos < len(p.items) && p.items[p.pos] == (item{b: '^', plain: true}) {
		negate = true
		p.pos++
	}
	empty := true
	for {
		if p.pos == len(p.items) {
			return nil, errors.New("unterminated '['")
		}
		it := p.items[p.pos]
		if it.plain && it.b == ']' {
			p.pos++
			break
		}
		lo := it.b
		p.pos++
		if p.pos+1 < len(p.items) && p.items[p.pos] == (item{b: '-', plain: true}) && p.items[p.pos+1] != (item{b: ']', plain: true}) {
			hi := p.items[p.pos+1].b
			if hi < lo {
				return nil, fmt.Errorf("range %c-%c is reversed", lo, hi)
			}
			s.addRange(int(lo), int(hi))
			p.pos += 2
		} else {
			s.add(lo)
		}
		empty = false
	}
	if empty {
		return nil, errors.New("empty '[]'")
	}
	if negate {
		// As in apparmor_parser, a negated class is everything else, /
		// included.
		s.negate()
	}
	return &s, nil
}

// The program of a glob: a Thompson NFA run by Match.
type opcode uint8

const (
	opByte  opcode = iota // consume one byte of set, go to pc+1
	opSplit               // go to x and y
	opJmp                 // go to x
	opMatch
)

type inst struct {
	op   opcode
	set  *byteSet
	x, y int
}

func compileSeq(prog []inst, seq []node) []inst {
	for _, n := range seq {
		switch n.kind {
		case nodeByte:
			prog = append(prog, inst{op: opByte, set: n.set})
		case nodeStar:
			loop := len(prog)
			prog = append(prog, inst{op: opSplit, x: loop + 1})
			prog = append(prog, inst{op: opByte, set: n.set}, inst{op: opJmp, x: loop})
			prog[loop].y = len(prog)
		case nodeAlt:
			var jumps []int
			for i, alt := range n.alts {
				split := -1
				if i < len(n.alts)-1 {
					split = len(prog)
					prog = append(prog, inst{op: opSplit, x: split + 1})
				}
				prog = compileSeq(prog, alt)
				if i < len(n.alts)-1 {
					jumps = append(jumps, len(prog))
					prog = append(prog, inst{op: opJmp})
					prog[split].y = len(prog)
				}
			}
			for _, j := range jumps {
				prog[j].x = len(prog)
			}
		}
	}
	return prog
}

// Match reports whether the glob matches path, byte for byte.
func (g *Glob) Match(path string) bool {
	cur, next := newThreads(len(g.prog)), newThreads(len(g.prog))
	cur.add(g.prog, 0)
	for i := 0; i < len(path); i++ {
		c := path[i]
		next.reset()
		for _, pc := range cur.list {
			if in := g.prog[pc]; in.op == opByte && in.set.has(c) {
				next.add(g.prog, pc+1)
			}
		}
		cur, next = next, cur
		if len(cur.list) == 0 {
			return false
		}
	}
	for _, pc := range cur.list {
		if g.prog[pc].op == opMatch {
			return true
		}
	}
	return false
}

// threads is the set of program counters alive at one byte.
type threads struct {
	list []int  // byte and match instructions, in order
	seen []int  // every instruction visited, to reset on
	on   []bool // indexed by program counter
}

func newThreads(n int) *threads { return &threads{on: make([]bool, n)} }

func (t *threads) reset() {
	for _, pc := range t.seen {
		t.on[pc] = false
	}
	t.list, t.seen = t.list[:0], t.seen[:0]
}

// add puts pc and every instruction reachable from it without consuming
// a byte into the set; only byte and match instructions are listed.
func (t *threads) add(prog []inst, pc int) {
	if t.on[pc] {
		return
	}
	t.on[pc] = true
	t.seen = append(t.seen, pc)
	switch in := prog[pc]; in.op {
	case opSplit:
		t.add(prog, in.x)
		t.add(prog, in.y)
	case opJmp:
		t.add(prog, in.x)
	default:
		t.list = append(t.list, pc)
	}
}
