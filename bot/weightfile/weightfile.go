// Package weightfile reads and edits the weights in a service's DNS
// weights file in an env-config repository.
//
// Edits are surgical: the new weight numbers are spliced into the original
// bytes in place of the old weight tokens, so a weight-bump pull request
// changes exactly the weight numbers and not one other byte (comments,
// quoting, indentation, key order and line endings all survive).
//
// The YAML format (yaml.go) is one file per service: a mapping whose
// "sources" key holds a list of sources, each a mapping with "name",
// "target" and "weight" (an integer 0..255). Other keys may exist at any
// level and are left alone.
package weightfile

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Source is one weighted DNS source as written in the file.
type Source struct {
	Name, Target string
	Weight       int64
}

// ErrAllZero is returned (wrapped) when an edit would leave every source
// in the file with weight 0. Route53 sends traffic to every record equally
// when all weights are 0, which is the opposite of what a 0 means.
var ErrAllZero = errors.New("all weights would be 0 (Route53 then sends traffic to every record equally)")

// minWeight and maxWeight bound a Route53 weighted record's weight.
const (
	minWeight = 0
	maxWeight = 255
)

// errInternal marks a failed self-check: the edited content did not read
// back as expected. It is never expected; it exists so an edit is refused
// rather than written when the format code has a bug.
var errInternal = errors.New("internal error")

// planWeights checks a requested edit against the sources currently in a
// file and returns the weight each source will have after the edit, in
// file order. It is format-independent.
func planWeights(current []Source, weights map[string]int64) ([]int64, error) {
	index := make(map[string]int, len(current))
	for i, s := range current {
		index[s.Name] = i
	}
	var missing []string
	for name := range weights {
		if _, ok := index[name]; !ok {
			missing = append(missing, fmt.Sprintf("%q", name))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		have := make([]string, len(current))
		for i, s := range current {
			have[i] = fmt.Sprintf("%q", s.Name)
		}
		noun := "source"
		if len(missing) > 1 {
			noun = "sources"
		}
		return nil, fmt.Errorf("%s %s not in file (file has %s)", noun, strings.Join(missing, ", "), strings.Join(have, ", "))
	}
	names := make([]string, 0, len(weights))
	for name := range weights {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if w := weights[name]; w < minWeight || w > maxWeight {
			return nil, fmt.Errorf("source %q: new weight %d is outside %d..%d", name, w, minWeight, maxWeight)
		}
	}
	next := make([]int64, len(current))
	allZero := true
	for i, s := range current {
		next[i] = s.Weight
		if w, ok := weights[s.Name]; ok {
			next[i] = w
		}
		if next[i] != 0 {
			allZero = false
		}
	}
	if allZero {
		return nil, fmt.Errorf("refusing edit: %w", ErrAllZero)
	}
	return next, nil
}
