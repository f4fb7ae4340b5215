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
//
// The Terraform format (hcl.go) is a .tf file in which each source is an
// aws_route53_record resource with a set_identifier and a
// weighted_routing_policy block. Everything else in the file is left alone.
//
// Read, Set and Remove (format.go) pick the format by name.
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
// of a weighted record set with weight 0 (in a YAML file: every source in
// the file). Route53 sends traffic to every record equally when all weights
// are 0, which is the opposite of what a 0 means.
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
// file order. It is format-independent; every source is in one record set.
func planWeights(current []Source, weights map[string]int64) ([]int64, error) {
	return planSetWeights(current, nil, weights)
}

// planSetWeights is planWeights for a file holding several record sets:
// sets[i] names the record set of current[i] (nil: all in one set). The
// edit is refused if any record set would have every weight 0.
func planSetWeights(current []Source, sets []string, weights map[string]int64) ([]int64, error) {
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
		noun := "source"
		if len(missing) > 1 {
			noun = "sources"
		}
		return nil, fmt.Errorf("%s %s not in file (file has %s)", noun, strings.Join(missing, ", "), quotedNames(current))
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
	for i, s := range current {
		next[i] = s.Weight
		if w, ok := weights[s.Name]; ok {
			next[i] = w
		}
	}
	if set, ok := allZeroSet(next, sets, -1); ok {
		if sets == nil {
			return nil, fmt.Errorf("refusing edit: %w", ErrAllZero)
		}
		return nil, fmt.Errorf("refusing edit: record set %s: %w", set, ErrAllZero)
	}
	return next, nil
}

// planRemove checks that the named source may be removed from a file
// holding current and returns its index. sets is as for planSetWeights.
// The source must exist, must not be the last of its record set, and no
// record set may be left with every weight 0.
func planRemove(current []Source, sets []string, name string) (int, error) {
	at := -1
	for i, s := range current {
		if s.Name == name {
			at = i
			break
		}
	}
	if at < 0 {
		return -1, fmt.Errorf("source %q not in file (file has %s)", name, quotedNames(current))
	}
	others := 0
	for i := range current {
		if i != at && (sets == nil || sets[i] == sets[at]) {
			others++
		}
	}
	if others == 0 {
		if sets == nil {
			return -1, fmt.Errorf("refusing to remove source %q: it is the only source in the file", name)
		}
		return -1, fmt.Errorf("refusing to remove source %q: it is the only source of record set %s", name, sets[at])
	}
	weights := make([]int64, len(current))
	for i, s := range current {
		weights[i] = s.Weight
	}
	if set, ok := allZeroSet(weights, sets, at); ok {
		if sets == nil {
			return -1, fmt.Errorf("refusing to remove source %q: %w", name, ErrAllZero)
		}
		return -1, fmt.Errorf("refusing to remove source %q: record set %s: %w", name, set, ErrAllZero)
	}
	return at, nil
}

// allZeroSet reports the first record set (in file order) in which every
// weight is 0, leaving out index skip (-1: none). A set with no sources
// left is not reported.
func allZeroSet(weights []int64, sets []string, skip int) (string, bool) {
	set := func(i int) string {
		if sets == nil {
			return ""
		}
		return sets[i]
	}
	nonZero := map[string]bool{}
	for i, w := range weights {
		if i != skip && w != 0 {
			nonZero[set(i)] = true
		}
	}
	for i := range weights {
		if i != skip && !nonZero[set(i)] {
			return set(i), true
		}
	}
	return "", false
}

func quotedNames(sources []Source) string {
	have := make([]string, len(sources))
	for i, s := range sources {
		have[i] = fmt.Sprintf("%q", s.Name)
	}
	return strings.Join(have, ", ")
}
