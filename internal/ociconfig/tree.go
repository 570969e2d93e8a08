package ociconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// node is one JSON value of a document with where it stands in the bytes,
// so that an edit can replace or insert exactly one value.
type node struct {
	kind       byte // '{', '[', '"', or 'v' for a number, true, false or null
	start, end int  // the value's bytes: data[start:end]
	depth      int  // how deeply it nests: 0 for the document
	parent     *node
	members    []member
	elems      []*node
}

// member is one key of an object.
type member struct {
	key      string
	keyStart int // the opening quote of the key
	keyEnd   int // just after its closing quote
	value    *node
}

// scanner builds the tree of a document it has already validated as JSON
// (json.Valid): it checks nesting depth and duplicate keys, not syntax.
type scanner struct {
	data     []byte
	pos      int
	maxDepth int
}

var errDepth = errors.New("nested too deeply")

func parseTree(data []byte, maxDepth int) (*node, error) {
	if !json.Valid(data) {
		// Let encoding/json name the error and its offset.
		var v any
		err := json.Unmarshal(data, &v)
		if err == nil {
			err = errors.New("not valid JSON")
		}
		return nil, err
	}
	s := &scanner{data: data, maxDepth: maxDepth}
	s.space()
	n, err := s.value(0, "")
	if err != nil {
		return nil, err
	}
	return n, nil
}

func (s *scanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value scans the value at s.pos; path names it in errors.
func (s *scanner) value(depth int, path string) (*node, error) {
	if depth > s.maxDepth {
		return nil, fmt.Errorf("%s: %w (more than %d levels)", describe(path), errDepth, s.maxDepth)
	}
	n := &node{start: s.pos, depth: depth}
	switch c := s.data[s.pos]; c {
	case '{':
		n.kind = '{'
		s.pos++
		s.space()
		seen := map[string]bool{}
		for s.data[s.pos] != '}' {
			keyStart := s.pos
			s.str()
			keyEnd := s.pos
			key, err := decodeString(s.data[keyStart:keyEnd])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", describe(path), err)
			}
			if seen[key] {
				// Decoders disagree on which duplicate wins: refuse.
				return nil, fmt.Errorf("%s: key %q appears twice", describe(path), key)
			}
			seen[key] = true
			s.space()
			s.pos++ // ':'
			s.space()
			v, err := s.value(depth+1, join(path, key))
			if err != nil {
				return nil, err
			}
			v.parent = n
			n.members = append(n.members, member{key: key, keyStart: keyStart, keyEnd: keyEnd, value: v})
			s.space()
			if s.data[s.pos] == ',' {
				s.pos++
				s.space()
			}
		}
		s.pos++
	case '[':
		n.kind = '['
		s.pos++
		s.space()
		for s.data[s.pos] != ']' {
			v, err := s.value(depth+1, fmt.Sprintf("%s[%d]", path, len(n.elems)))
			if err != nil {
				return nil, err
			}
			v.parent = n
			n.elems = append(n.elems, v)
			s.space()
			if s.data[s.pos] == ',' {
				s.pos++
				s.space()
			}
		}
		s.pos++
	case '"':
		n.kind = '"'
		s.str()
	default:
		n.kind = 'v'
		for s.pos < len(s.data) && !strings.ContainsRune(" \t\r\n,]}", rune(s.data[s.pos])) {
			s.pos++
		}
	}
	n.end = s.pos
	return n, nil
}

// str moves past the string at s.pos.
func (s *scanner) str() {
	s.pos++ // opening quote
	for s.data[s.pos] != '"' {
		if s.data[s.pos] == '\\' {
			s.pos++
		}
		s.pos++
	}
	s.pos++
}

func decodeString(raw []byte) (string, error) {
	if !strings.ContainsRune(string(raw), '\\') {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

func (n *node) get(key string) *node {
	for _, m := range n.members {
		if m.key == key {
			return m.value
		}
	}
	return nil
}

func (n *node) member(key string) *member {
	for i := range n.members {
		if n.members[i].key == key {
			return &n.members[i]
		}
	}
	return nil
}

func (n *node) isNull(data []byte) bool {
	return n.kind == 'v' && string(data[n.start:n.end]) == "null"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}
