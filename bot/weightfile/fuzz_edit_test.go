package weightfile

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzSetHCL checks SetHCL's contract on arbitrary input: it either refuses
// (returning nil) or returns content that reads back with exactly the
// requested weights, differs from the input only inside the weight tokens
// and leaves no record set with every weight 0.
//
// The weights to set are picked by index from the sources ReadHCL finds,
// plus an optional extra name.
func FuzzSetHCL(f *testing.F) {
	// The seed corpus is in testdata/fuzz/FuzzSetHCL.

	f.Fuzz(func(t *testing.T, content []byte, i1 uint8, w1 int64, i2 uint8, w2 int64, extra string) {
		in := bytes.Clone(content)
		before, sets, rerr := readHCLSets(t, content)

		weights := map[string]int64{}
		if len(before) > 0 {
			weights[before[int(i1)%len(before)].Name] = w1
			if i2%4 != 0 {
				weights[before[int(i2)%len(before)].Name] = w2
			}
		}
		if extra != "" {
			weights[extra] = w2
		}

		out, err := SetHCL(content, weights)
		if !bytes.Equal(content, in) {
			t.Fatal("SetHCL modified its input")
		}

		// Work out independently whether the edit should succeed.
		var wantErr error
		want := make([]Source, len(before))
		copy(want, before)
		if rerr != nil {
			wantErr = rerr
		} else {
			names := map[string]bool{}
			for i, s := range want {
				names[s.Name] = true
				if w, ok := weights[s.Name]; ok {
					want[i].Weight = w
				}
			}
			for name, w := range weights {
				if !names[name] || w < 0 || w > 255 {
					wantErr = errors.New("unknown name or weight out of range")
				}
			}
			if wantErr == nil && someSetAllZero(want, sets, -1) {
				wantErr = ErrAllZero
			}
		}

		if err != nil {
			if out != nil {
				t.Fatalf("SetHCL returned %q with error %v", out, err)
			}
			if errors.Is(err, errInternal) {
				t.Fatalf("SetHCL: %v", err)
			}
			if wantErr == nil {
				t.Fatalf("SetHCL(%v) failed: %v; want success", weights, err)
			}
			if errors.Is(wantErr, ErrAllZero) != errors.Is(err, ErrAllZero) {
				t.Fatalf("SetHCL error %v; want %v", err, wantErr)
			}
			return
		}
		if wantErr != nil {
			t.Fatalf("SetHCL(%v) succeeded; want an error like %v", weights, wantErr)
		}

		after, afterSets, err := readHCLSets(t, out)
		if err != nil {
			t.Fatalf("ReadHCL(output): %v\noutput: %q", err, out)
		}
		if diff := cmp.Diff(want, after); diff != "" {
			t.Fatalf("output sources mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(sets, afterSets); diff != "" {
			t.Fatalf("output record sets mismatch (-want +got):\n%s", diff)
		}
		assertOnlyHCLWeightTokensChanged(t, content, out)
		if someSetAllZero(after, afterSets, -1) {
			t.Fatal("output has a record set with every weight 0")
		}

		// Setting weights to the values they have changes nothing.
		if !someSetAllZero(before, sets, -1) {
			noop := map[string]int64{}
			for _, s := range before {
				noop[s.Name] = s.Weight
			}
			same, err := SetHCL(content, noop)
			if err != nil {
				t.Fatalf("no-op SetHCL: %v", err)
			}
			if !bytes.Equal(same, content) {
				t.Fatalf("no-op SetHCL changed bytes: %q -> %q", content, same)
			}
		}
		// And the edit is idempotent.
		again, err := SetHCL(out, weights)
		if err != nil {
			t.Fatalf("repeated SetHCL: %v", err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("repeated SetHCL changed bytes: %q -> %q", out, again)
		}
	})
}

// FuzzRemoveYAML checks RemoveYAML's contract on arbitrary input: it either
// refuses (returning nil) or returns the input with whole lines cut out of
// one place, reading back as the same sources minus the removed one (same
// names, targets, weights and order), not all of weight 0.
//
// The source to remove is picked by index from the sources ReadYAML finds,
// or is extra when that is not empty.
func FuzzRemoveYAML(f *testing.F) {
	// The seed corpus is in testdata/fuzz/FuzzRemoveYAML.

	f.Fuzz(func(t *testing.T, content []byte, i uint8, extra string) {
		before, rerr := ReadYAML(content)
		if errors.Is(rerr, errInternal) {
			t.Fatalf("ReadYAML: %v", rerr)
		}
		var sets []string
		if rerr == nil {
			sets = make([]string, len(before))
		}
		checkRemove(t, "RemoveYAML", RemoveYAML, content, before, sets, rerr, i, extra,
			func(out []byte) ([]Source, []string, error) {
				after, err := ReadYAML(out)
				return after, make([]string, len(after)), err
			},
			yamlLineStarts)
	})
}

// FuzzRemoveHCL is FuzzRemoveYAML for RemoveHCL; no record set may be left
// with every weight 0.
func FuzzRemoveHCL(f *testing.F) {
	// The seed corpus is in testdata/fuzz/FuzzRemoveHCL.

	f.Fuzz(func(t *testing.T, content []byte, i uint8, extra string) {
		before, sets, rerr := readHCLSets(t, content)
		checkRemove(t, "RemoveHCL", RemoveHCL, content, before, sets, rerr, i, extra,
			func(out []byte) ([]Source, []string, error) { return readHCLSets(t, out) },
			hclLineStarts)
	})
}

// checkRemove runs remove on content and checks its contract; before,
// sets and rerr are what reading content gave.
func checkRemove(t *testing.T, fn string, remove func([]byte, string) ([]byte, error),
	content []byte, before []Source, sets []string, rerr error, i uint8, extra string,
	read func([]byte) ([]Source, []string, error), lineStarts func([]byte) map[int]bool) {
	t.Helper()
	in := bytes.Clone(content)
	name := extra
	if name == "" && len(before) > 0 {
		name = before[int(i)%len(before)].Name
	}
	out, err := remove(content, name)
	if !bytes.Equal(content, in) {
		t.Fatalf("%s modified its input", fn)
	}

	// Work out independently whether the removal may succeed.
	at := -1
	for j, s := range before {
		if s.Name == name {
			at = j
		}
	}
	var wantErr error
	switch {
	case rerr != nil:
		wantErr = rerr
	case at < 0:
		wantErr = errors.New("not in file")
	case !hasOtherInSet(sets, at):
		wantErr = errors.New("only source of its record set")
	case someSetAllZero(before, sets, at):
		wantErr = ErrAllZero
	}

	if err != nil {
		if out != nil {
			t.Fatalf("%s returned %q with error %v", fn, out, err)
		}
		if errors.Is(err, errInternal) {
			t.Fatalf("%s(%q): %v", fn, name, err)
		}
		if errors.Is(wantErr, ErrAllZero) != errors.Is(err, ErrAllZero) {
			t.Fatalf("%s(%q) error %v; want %v", fn, name, err, wantErr)
		}
		if wantErr == nil && !strings.Contains(err.Error(), "cannot remove") {
			// Refusing an edit it cannot make exactly is allowed; any
			// other refusal of a valid removal is not.
			t.Fatalf("%s(%q) failed: %v; want success", fn, name, err)
		}
		return
	}
	if wantErr != nil {
		t.Fatalf("%s(%q) succeeded; want an error like %v", fn, name, wantErr)
	}

	after, afterSets, err := read(out)
	if err != nil {
		t.Fatalf("reading the output: %v\noutput: %q", err, out)
	}
	want := append(append([]Source{}, before[:at]...), before[at+1:]...)
	wantSets := append(append([]string{}, sets[:at]...), sets[at+1:]...)
	if diff := cmp.Diff(want, after); diff != "" {
		t.Fatalf("output sources mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantSets, afterSets); diff != "" {
		t.Fatalf("output record sets mismatch (-want +got):\n%s", diff)
	}
	if someSetAllZero(after, afterSets, -1) {
		t.Fatalf("output has a record set with every weight 0: %q", out)
	}
	if !cutWholeLines(content, out, lineStarts(content)) {
		t.Fatalf("output is not the input with whole lines cut from one place:\ninput:  %q\noutput: %q", content, out)
	}
	if again, err := remove(out, name); err == nil {
		t.Fatalf("removing %q twice succeeded: %q", name, again)
	}
}

// readHCLSets reads a Terraform file's sources and their record sets.
func readHCLSets(t testing.TB, content []byte) ([]Source, []string, error) {
	t.Helper()
	sources, err := ReadHCL(content)
	if errors.Is(err, errInternal) {
		t.Fatalf("ReadHCL: %v", err)
	}
	if err != nil {
		if sources != nil {
			t.Fatalf("ReadHCL returned %v with error %v", sources, err)
		}
		return nil, nil, err
	}
	f, err := parseHCL(content)
	if err != nil {
		t.Fatalf("parseHCL failed after ReadHCL succeeded: %v", err)
	}
	return sources, hclSets(f.sources), nil
}

// someSetAllZero reports whether, leaving out index skip, some record set
// has sources and every one of them has weight 0.
func someSetAllZero(sources []Source, sets []string, skip int) bool {
	nonZero, present := map[string]bool{}, map[string]bool{}
	for i, s := range sources {
		if i == skip {
			continue
		}
		present[sets[i]] = true
		if s.Weight != 0 {
			nonZero[sets[i]] = true
		}
	}
	for set := range present {
		if !nonZero[set] {
			return true
		}
	}
	return false
}

func hasOtherInSet(sets []string, at int) bool {
	for i := range sets {
		if i != at && sets[i] == sets[at] {
			return true
		}
	}
	return false
}

// cutWholeLines reports whether out is in with one run of whole lines (as
// given by starts, the offsets at which in's lines start) cut out.
func cutWholeLines(in, out []byte, starts map[int]bool) bool {
	d := len(in) - len(out)
	if d <= 0 {
		return false
	}
	p := 0
	for p < len(out) && in[p] == out[p] {
		p++
	}
	s := 0
	for s < len(out) && in[len(in)-1-s] == out[len(out)-1-s] {
		s++
	}
	isStart := func(off int) bool { return off == len(in) || starts[off] }
	for a := max(0, len(out)-s); a <= p; a++ {
		if isStart(a) && isStart(a+d) {
			return true
		}
	}
	return false
}

func yamlLineStarts(content []byte) map[int]bool {
	m := map[int]bool{0: true}
	for _, s := range newYAMLLocator(content).Starts {
		m[s] = true
	}
	return m
}

func hclLineStarts(content []byte) map[int]bool {
	m := map[int]bool{0: true}
	if bytes.HasPrefix(content, []byte("\xef\xbb\xbf")) {
		m[3] = true
	}
	for i, c := range content {
		if c == '\n' {
			m[i+1] = true
		}
	}
	return m
}

// hclWeightSpans returns the byte ranges of the weight tokens in content.
func hclWeightSpans(t testing.TB, content []byte) [][2]int {
	t.Helper()
	f, err := parseHCL(content)
	if err != nil {
		t.Fatalf("parseHCL: %v", err)
	}
	spans := make([][2]int, len(f.sources))
	for i, s := range f.sources {
		spans[i] = [2]int{s.start, s.end}
	}
	return spans
}

// assertOnlyHCLWeightTokensChanged checks that, with the weight tokens cut
// out of both, in and out are the same bytes, and that each weight token
// is unchanged if its weight is and is the new weight in decimal if not.
func assertOnlyHCLWeightTokensChanged(t testing.TB, in, out []byte) {
	t.Helper()
	inSpans, outSpans := hclWeightSpans(t, in), hclWeightSpans(t, out)
	if len(inSpans) != len(outSpans) {
		t.Fatalf("%d weight tokens in input, %d in output", len(inSpans), len(outSpans))
	}
	if diff := cmp.Diff(outsideTokens(in, inSpans), outsideTokens(out, outSpans)); diff != "" {
		t.Errorf("bytes outside the weight tokens changed (-in +out):\n%s", diff)
	}
	after, err := ReadHCL(out)
	if err != nil {
		t.Fatalf("ReadHCL(output): %v", err)
	}
	for i := range outSpans {
		outTok := string(out[outSpans[i][0]:outSpans[i][1]])
		if want := strconv.FormatInt(after[i].Weight, 10); outTok != want {
			t.Errorf("source %q: weight token %q, want %q", after[i].Name, outTok, want)
		}
	}
}
