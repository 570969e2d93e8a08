// Package ociconfig is the one editor of OCI config.json documents: each
// edit replaces or inserts one value and keeps every other byte as it was
// (numbers up to 2^64-1, unknown fields, key order, indentation). Parse
// refuses what runc, crun and tailor could read differently: duplicate
// keys, keys that fold (Unicode simple folding, as Go's decoder matches) to
// a runtime-spec field but are not its exact name, documents too large or
// too deep.
package ociconfig
