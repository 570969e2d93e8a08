package seccompjson

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tailor-dev/tailor/profiles"
)

// Format is the kind of document a profile was read from.
type Format string

// The formats Read recognises.
const (
	FormatTailor  Format = "tailor profile"
	FormatSeccomp Format = "seccomp JSON"
)

// ErrUnknownFormat marks a JSON document that is neither a tailor profile
// nor a seccomp profile.
var ErrUnknownFormat = errors.New("unknown document format")

// Document is a profile read from a tailor profile or a seccomp JSON.
type Document struct {
	// Name says where the document came from (a file name).
	Name    string
	Format  Format
	Profile *profiles.Profile
	// Notes says where an imported profile is approximate.
	Notes []string
	// Data is the document's bytes (for positions in reports).
	Data []byte
}

// Detect tells a tailor profile (kind TailorProfile) from a seccomp JSON
// (defaultAction) by content.
func Detect(data []byte) (Format, error) {
	var top map[string]json.RawMessage
	if err := profiles.DecodeStrict(data, &top); err != nil {
		return "", err
	}
	if raw, ok := top["kind"]; ok {
		var kind string
		if err := json.Unmarshal(raw, &kind); err != nil || kind != profiles.Kind {
			return "", fmt.Errorf("%w: kind is %s, want %q", ErrUnknownFormat, raw, profiles.Kind)
		}
		return FormatTailor, nil
	}
	if _, ok := top["defaultAction"]; ok {
		return FormatSeccomp, nil
	}
	return "", fmt.Errorf("%w: neither a tailor profile (kind %q) nor a seccomp profile (defaultAction)", ErrUnknownFormat, profiles.Kind)
}

// Parse reads a tailor profile or a seccomp JSON, told apart by content.
func Parse(name string, data []byte, opts Options) (*Document, error) {
	format, err := Detect(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	doc := &Document{Name: name, Format: format, Data: data}
	switch format {
	case FormatTailor:
		doc.Profile, err = profiles.Parse(data)
	default:
		var r *Result
		r, err = Import(data, opts)
		if r != nil {
			doc.Profile, doc.Notes = r.Profile, r.Notes
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return doc, nil
}

// ReadFile reads the tailor profile or seccomp JSON at path, within the
// limits of profiles.ReadDocumentFile.
func ReadFile(path string, opts Options) (*Document, error) {
	data, err := profiles.ReadDocumentFile(path)
	if errors.Is(err, profiles.ErrTooLarge) || errors.Is(err, profiles.ErrTooDeep) {
		return nil, err // names the file and the limit
	}
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	return Parse(path, data, opts)
}
