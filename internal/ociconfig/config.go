package ociconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Limits of the config.json documents tailor edits. runc's own spec is
// about 3 KB and a large Kubernetes pod's a few hundred; the limits only
// keep a hostile document from costing the host time or memory.
const (
	// MaxSize is the largest config.json tailor reads, in bytes.
	MaxSize = 8 << 20
	// MaxDepth is the deepest nesting of objects and arrays it takes.
	MaxDepth = 64
)

// ErrInvalid marks a config.json that tailor refuses to edit.
var ErrInvalid = errors.New("invalid OCI config")

// Config is an OCI config.json, edited in place: each edit replaces or
// inserts one value and keeps every other byte of the document as it was,
// so fields tailor does not own (numbers up to 2^64-1, unknown fields, key
// order, indentation) survive exactly. It is the one place that rewrites
// a bundle's config.
type Config struct {
	data   []byte
	root   *node
	indent string // the document's indentation unit; "" when on one line
	lines  []int  // offsets of the newlines of data, when asked for (lineStart)

	// Edits are kept as splices of data, applied together when the
	// document is next read (flush): each edit costs what it writes, not a
	// pass over the whole document, so rewriting every mount of a large
	// config stays linear. stale marks the nodes whose bytes or members a
	// pending edit changed, walking into one flushes first; dirty marks
	// them and their ancestors, editing one as a whole flushes first.
	pending []edit
	stale   map[*node]bool
	dirty   map[*node]bool
	size    int // len(data) with the pending edits applied
}

// edit replaces data[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// lookup finds key in object n. Parse refused keys that a runtime would
// read as a field of another spelling, so the exact key is the one runc
// and crun read.
func (n *node) lookup(key, where string) *node {
	return n.get(key)
}

// Parse checks that data is an OCI config tailor can edit: at most
// MaxSize bytes and MaxDepth levels, valid JSON whose fields
// have runtime-spec's types, an object at the top, no key twice in an
// object, and no key that folds to a runtime-spec field without being its
// exact name (runc would read `"Linux": {"seccomp": null}` after "linux" as
// unsetting the filter tailor wrote, and crun would ignore it).
func Parse(data []byte) (*Config, error) {
	bad := func(err error) (*Config, error) { return nil, fmt.Errorf("%w: %w", ErrInvalid, err) }
	if len(data) > MaxSize {
		return bad(fmt.Errorf("%d bytes, more than the %d tailor reads", len(data), MaxSize))
	}
	c := &Config{}
	if err := c.reset(data); err != nil {
		return bad(err)
	}
	if c.root.kind != '{' {
		return bad(errors.New("the document is not a JSON object"))
	}
	if err := checkSpelling(c.root, specType, ""); err != nil {
		return bad(err)
	}
	// Types are checked against runtime-spec (a process.args that is not
	// a list is refused); unknown fields are fine, they are kept.
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return bad(err)
	}
	return c, nil
}

func (c *Config) reset(data []byte) error {
	root, err := parseTree(data, MaxDepth)
	if err != nil {
		return err
	}
	c.data, c.root, c.lines = data, root, nil
	c.pending, c.stale, c.dirty, c.size = nil, nil, nil, len(data)
	c.indent, _ = detectIndent(data)
	return nil
}

// Bytes is the document as edited.
func (c *Config) Bytes() []byte {
	c.flush()
	return c.data
}

// Spec decodes the document as it is now.
func (c *Config) Spec() (*specs.Spec, error) {
	c.flush()
	var spec specs.Spec
	if err := json.Unmarshal(c.data, &spec); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return &spec, nil
}

// Get returns the value at path (object keys and array indexes) as
// written, or nil when there is none.
func (c *Config) Get(path ...any) json.RawMessage {
	c.flush()
	n := c.root
	where := ""
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if n.kind != '{' {
				return nil
			}
			n, where = n.lookup(p, where), join(where, p)
		case int:
			if n.kind != '[' || p < 0 || p >= len(n.elems) {
				return nil
			}
			n, where = n.elems[p], where+"[]"
		}
		if n == nil {
			return nil
		}
	}
	return json.RawMessage(c.data[n.start:n.end])
}

// Keys lists the keys of the object at path in document order.
func (c *Config) Keys(path ...any) []string {
	c.flush()
	n, i, err := c.walk(path)
	if err != nil || i < len(path) || n.kind != '{' {
		return nil
	}
	keys := make([]string, len(n.members))
	for j, m := range n.members {
		keys[j] = m.key
	}
	return keys
}

// IsSet reports whether path holds a value other than null.
func (c *Config) IsSet(path ...any) bool {
	v := c.Get(path...)
	return v != nil && string(v) != "null"
}

// Set writes value (encoded as JSON; a json.RawMessage is taken as it is)
// at path, replacing what is there. Objects missing along the path (or
// null) are created; an array element must exist.
func (c *Config) Set(value any, path ...any) error {
	if len(path) == 0 {
		return errors.New("set: empty path")
	}
	n, i, err := c.walk(path)
	if err != nil {
		return err
	}
	rest := path[i:]
	if len(rest) == 0 {
		return c.replace(n, value)
	}
	if n.kind != '{' {
		return fmt.Errorf("%w: %s is not an object", ErrInvalid, pathString(path[:i]))
	}
	key, ok := rest[0].(string)
	if !ok {
		return fmt.Errorf("set %s: no element %v", pathString(path), rest[0])
	}
	for j := len(rest) - 1; j > 0; j-- {
		k, ok := rest[j].(string)
		if !ok {
			return fmt.Errorf("set %s: no element %v", pathString(path), rest[j])
		}
		value = map[string]any{k: value}
	}
	return c.insertMember(n, key, value)
}

// Append adds value at the end of the array at path, creating the array
// (and objects on the way) when missing or null.
func (c *Config) Append(value any, path ...any) error {
	n, i, err := c.walk(path)
	if err != nil {
		return err
	}
	if i < len(path) || n.isNull(c.data) {
		return c.Set([]any{value}, path...)
	}
	if n.kind != '[' {
		return fmt.Errorf("%w: %s is not an array", ErrInvalid, pathString(path))
	}
	enc, err := c.encode(value, c.lineIndent(n.start)+c.indent)
	if err != nil {
		return err
	}
	if len(n.elems) == 0 {
		return c.fillEmpty(n, enc)
	}
	last := n.elems[len(n.elems)-1]
	sep := c.leadingSpace(last.start)
	return c.splice(n, last.end, last.end, ","+sep+string(enc), "["+string(enc)+"]")
}

// walk follows path as far as it exists, treating a null as missing: it
// returns the deepest node reached and how many elements of path it took.
func (c *Config) walk(path []any) (*node, int, error) {
	if c.stale[c.root] {
		c.flush()
	}
	n := c.root
	where := ""
	for i, p := range path {
		var next *node
		switch p := p.(type) {
		case string:
			if n.kind != '{' {
				return nil, 0, fmt.Errorf("%w: %s is not an object", ErrInvalid, pathString(path[:i]))
			}
			next, where = n.lookup(p, where), join(where, p)
		case int:
			if n.kind != '[' || p < 0 || p >= len(n.elems) {
				return nil, 0, fmt.Errorf("%w: %s has no element %d", ErrInvalid, pathString(path[:i]), p)
			}
			next, where = n.elems[p], where+"[]"
		default:
			return nil, 0, fmt.Errorf("path element %v is neither a key nor an index", p)
		}
		if next != nil && i < len(path)-1 && next.isNull(c.data) {
			_, ok := p.(string)
			if !ok {
				return nil, 0, fmt.Errorf("%w: %s is null", ErrInvalid, pathString(path[:i+1]))
			}
			if len(c.pending) > 0 {
				// dropNull finds n again by its offset: make it final.
				c.flush()
				return c.walk(path)
			}
			// A null on the way is replaced by the object to create.
			return n, i, c.dropNull(n, next)
		}
		if next == nil {
			return c.reached(n, i, path)
		}
		if c.stale[next] {
			// A pending edit changed next: read it as edited.
			c.flush()
			return c.walk(path)
		}
		n = next
	}
	return c.reached(n, len(path), path)
}

// reached is walk's answer n, i, unless a pending edit lies in n, which
// the caller is about to edit: then the edits are applied first.
func (c *Config) reached(n *node, i int, path []any) (*node, int, error) {
	if c.dirty[n] {
		c.flush()
		return c.walk(path)
	}
	return n, i, nil
}

// dropNull removes the member of object n whose value is null, so that
// the caller's insert creates key anew.
func (c *Config) dropNull(n, null *node) error {
	idx := -1
	for i, m := range n.members {
		if m.value == null {
			idx = i
		}
	}
	m := n.members[idx]
	start, end := m.keyStart, m.value.end
	switch {
	case idx > 0: // take the comma before it
		start = n.members[idx-1].value.end
	case len(n.members) > 1: // the first: take up to the next key
		end = n.members[1].keyStart
	}
	if err := c.splice(n, start, end, "", ""); err != nil {
		return err
	}
	// The member list of n changed under the insert that follows: apply
	// the edit now, and find n again by its position in the new tree.
	c.flush()
	*n = *c.nodeAt(n.start)
	return nil
}

func (c *Config) nodeAt(start int) *node {
	var find func(*node) *node
	find = func(x *node) *node {
		if x.start == start {
			return x
		}
		for _, m := range x.members {
			if m.value.start <= start && start < m.value.end {
				return find(m.value)
			}
		}
		for _, e := range x.elems {
			if e.start <= start && start < e.end {
				return find(e)
			}
		}
		return nil
	}
	return find(c.root)
}

func (c *Config) replace(n *node, value any) error {
	enc, err := c.encode(value, c.lineIndent(n.start))
	if err != nil {
		return err
	}
	if !c.ownLine(n.start) && c.indent != "" {
		// An inline value (`"seccomp": {...}` on a line shared with other
		// keys) stays inline.
		enc, err = c.encode(value, "")
		if err != nil {
			return err
		}
		enc = compact(enc)
	}
	return c.splice(n, n.start, n.end, string(enc), string(enc))
}

func (c *Config) insertMember(obj *node, key string, value any) error {
	k, _ := json.Marshal(key)
	if len(obj.members) == 0 {
		enc, err := c.encode(value, c.lineIndent(obj.start)+c.indent)
		if err != nil {
			return err
		}
		colon := ":"
		if c.indent != "" {
			colon = ": "
		}
		return c.fillEmpty(obj, append(append(k, colon...), enc...))
	}
	last := obj.members[len(obj.members)-1]
	sep := c.leadingSpace(last.keyStart)
	colon := string(c.data[last.keyEnd:last.value.start])
	if strings.TrimSpace(colon) != ":" {
		colon = ": "
	}
	prefix := ""
	if strings.Contains(sep, "\n") {
		prefix = sep[strings.LastIndexByte(sep, '\n')+1:]
	}
	enc, err := c.encode(value, prefix)
	if err != nil {
		return err
	}
	if !strings.Contains(sep, "\n") {
		enc = compact(enc)
	}
	return c.splice(obj, last.value.end, last.value.end, ","+sep+string(k)+colon+string(enc), "{"+string(k)+":"+string(enc)+"}")
}

// fillEmpty writes inner between the brackets of the empty object or
// array n, on its own line when the document is indented.
func (c *Config) fillEmpty(n *node, inner []byte) error {
	check := string(c.data[n.start]) + string(inner) + string(c.data[n.end-1])
	if c.indent == "" {
		return c.splice(n, n.start+1, n.end-1, string(inner), check)
	}
	outer := c.lineIndent(n.start)
	return c.splice(n, n.start+1, n.end-1, "\n"+outer+c.indent+string(inner)+"\n"+outer, check)
}

// encode marshals v for a place whose line is indented by prefix.
func (c *Config) encode(v any, prefix string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if c.indent != "" {
		enc.SetIndent(prefix, c.indent)
	}
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode config value: %w", err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return b
	}
	return out.Bytes()
}

// leadingSpace is the whitespace before offset back to the previous
// structural byte ("{", "[" or ","): the separator the document uses.
func (c *Config) leadingSpace(off int) string {
	i := off
	for i > 0 && strings.IndexByte(" \t\r\n", c.data[i-1]) >= 0 {
		i--
	}
	return string(c.data[i:off])
}

// lineIndent is the whitespace that starts the line holding offset.
func (c *Config) lineIndent(off int) string {
	if c.indent == "" {
		return "" // one line: values are written compact
	}
	start := c.lineStart(off)
	end := start
	for end < len(c.data) && (c.data[end] == ' ' || c.data[end] == '\t') {
		end++
	}
	return string(c.data[start:end])
}

// lineStart is the offset of the line holding off. The newlines are
// found once per version of the document, so that many edits of one long
// line do not each scan back to its start.
func (c *Config) lineStart(off int) int {
	if c.lines == nil {
		c.lines = []int{}
		for i, b := range c.data {
			if b == '\n' {
				c.lines = append(c.lines, i)
			}
		}
	}
	i, _ := slices.BinarySearch(c.lines, off)
	if i == 0 {
		return 0
	}
	return c.lines[i-1] + 1
}

// ownLine reports whether the member or value at offset starts its line
// (only its key, or whitespace, stands before it).
func (c *Config) ownLine(off int) bool {
	start := c.lineStart(off)
	before := bytes.TrimSpace(c.data[start:off])
	if len(before) == 0 {
		return true
	}
	// `"key": ` before the value
	if k, ok := bytes.CutSuffix(before, []byte(":")); ok {
		k = bytes.TrimSpace(k)
		return len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' && json.Valid(k)
	}
	return false
}

// splice replaces data[start:end] with text, an edit of node n (which
// becomes stale until the next flush). check is the value the edit
// writes, standing where n stands (the new member in an object of its
// own, the new element in an array): it must be valid JSON within what is
// left of MaxDepth, so that an edit is refused now, never a broken
// document written. Nothing else of the document changes.
func (c *Config) splice(n *node, start, end int, text, check string) error {
	size := c.size - (end - start) + len(text)
	if size > MaxSize {
		return fmt.Errorf("%w: the edited config would be %d bytes, more than %d", ErrInvalid, size, MaxSize)
	}
	if check != "" {
		if _, err := parseTree([]byte(check), MaxDepth-n.depth); err != nil {
			return fmt.Errorf("edit config: %w", err)
		}
	}
	// walk flushed the edits in n or on the way to it, so this one
	// overlaps none of them.
	c.pending = append(c.pending, edit{start: start, end: end, text: text})
	if c.stale == nil {
		c.stale, c.dirty = map[*node]bool{}, map[*node]bool{}
	}
	c.stale[n] = true
	for a := n; a != nil && !c.dirty[a]; a = a.parent {
		c.dirty[a] = true
	}
	c.size = size
	return nil
}

// flush applies the pending edits in one pass and rebuilds the tree.
func (c *Config) flush() {
	if len(c.pending) == 0 {
		return
	}
	// Edits at one offset keep the order they were made in.
	slices.SortStableFunc(c.pending, func(a, b edit) int { return a.start - b.start })
	data := make([]byte, 0, c.size)
	at := 0
	for _, e := range c.pending {
		data = append(data, c.data[at:e.start]...)
		data = append(data, e.text...)
		at = e.end
	}
	data = append(data, c.data[at:]...)
	if err := c.reset(data); err != nil {
		// Unreachable: each edit was checked in the value it changes, and
		// a value with a pending edit is not edited again before a flush.
		// Stop rather than hand back a document no one checked.
		panic(fmt.Sprintf("ociconfig: edits checked one by one make an invalid document: %v", err))
	}
}

func pathString(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		}
	}
	if b.Len() == 0 {
		return "the document"
	}
	return b.String()
}

// detectIndent finds the document's indentation unit from its second line:
// tabs as runc spec writes them, or n spaces.
func detectIndent(doc []byte) (string, bool) {
	trimmed := bytes.TrimSpace(doc)
	i := bytes.IndexByte(trimmed, '\n')
	if i < 0 {
		return "", false
	}
	line := trimmed[i+1:]
	n := 0
	for n < len(line) && (line[n] == ' ' || line[n] == '\t') {
		n++
	}
	switch {
	case n == 0:
		return "", false
	case line[0] == '\t':
		return "\t", true
	}
	return strings.Repeat(" ", n), true
}
