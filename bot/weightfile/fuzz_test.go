package weightfile

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzSetYAML checks SetYAML's contract on arbitrary input: it either
// refuses (returning nil) or returns content that reads back with exactly
// the requested weights, differs from the input only inside the weight
// tokens and does not have every weight 0.
//
// The weights to set are picked by index from the sources ReadYAML finds
// (so most runs edit real sources), plus an optional extra name.
func FuzzSetYAML(f *testing.F) {
	// The seed corpus is in testdata/fuzz/FuzzSetYAML.

	f.Fuzz(func(t *testing.T, content []byte, i1 uint8, w1 int64, i2 uint8, w2 int64, extra string) {
		in := bytes.Clone(content)
		before, rerr := ReadYAML(content)
		if errors.Is(rerr, errInternal) {
			t.Fatalf("ReadYAML: %v", rerr)
		}
		if rerr != nil && before != nil {
			t.Fatalf("ReadYAML returned %v with error %v", before, rerr)
		}

		weights := map[string]int64{}
		if len(before) > 0 {
			weights[before[int(i1)%len(before)].Name] = w1
			if i2%4 != 0 { // sometimes set just one source
				weights[before[int(i2)%len(before)].Name] = w2
			}
		}
		if extra != "" {
			weights[extra] = w2
		}

		out, err := SetYAML(content, weights)
		if !bytes.Equal(content, in) {
			t.Fatal("SetYAML modified its input")
		}

		// Work out independently whether the edit should succeed.
		var wantErr error
		want := make([]Source, len(before))
		copy(want, before)
		if rerr != nil {
			wantErr = rerr
		} else {
			names := map[string]bool{}
			allZero := true
			for i, s := range want {
				names[s.Name] = true
				if w, ok := weights[s.Name]; ok {
					want[i].Weight = w
				}
				if want[i].Weight != 0 {
					allZero = false
				}
			}
			for name, w := range weights {
				if !names[name] || w < 0 || w > 255 {
					wantErr = errors.New("unknown name or weight out of range")
				}
			}
			if wantErr == nil && allZero {
				wantErr = ErrAllZero
			}
		}

		if err != nil {
			if out != nil {
				t.Fatalf("SetYAML returned %q with error %v", out, err)
			}
			if errors.Is(err, errInternal) {
				t.Fatalf("SetYAML: %v", err)
			}
			if wantErr == nil {
				t.Fatalf("SetYAML(%v) failed: %v; want success", weights, err)
			}
			if errors.Is(wantErr, ErrAllZero) != errors.Is(err, ErrAllZero) {
				t.Fatalf("SetYAML error %v; want %v", err, wantErr)
			}
			return
		}
		if wantErr != nil {
			t.Fatalf("SetYAML(%v) succeeded; want an error like %v", weights, wantErr)
		}

		// (a) The output reads back with exactly the requested weights and
		// every other source unchanged.
		after, err := ReadYAML(out)
		if err != nil {
			t.Fatalf("ReadYAML(output): %v\noutput: %q", err, out)
		}
		if len(after) != len(want) {
			t.Fatalf("output has %d sources, want %d", len(after), len(want))
		}
		allZero := true
		for i := range want {
			if after[i] != want[i] {
				t.Errorf("output source #%d = %+v, want %+v", i+1, after[i], want[i])
			}
			if after[i].Weight != 0 {
				allZero = false
			}
		}
		// (b) Only the weight tokens changed.
		assertOnlyWeightTokensChanged(t, content, out)
		// (c) Not every weight is 0.
		if allZero {
			t.Fatal("output has every weight 0")
		}

		// Setting weights to the values they have changes nothing.
		noop := map[string]int64{}
		for _, s := range before {
			noop[s.Name] = s.Weight
		}
		if !allZeroSources(before) {
			same, err := SetYAML(content, noop)
			if err != nil {
				t.Fatalf("no-op SetYAML: %v", err)
			}
			if !bytes.Equal(same, content) {
				t.Fatalf("no-op SetYAML changed bytes: %q -> %q", content, same)
			}
		}
		// And the edit is idempotent.
		again, err := SetYAML(out, weights)
		if err != nil {
			t.Fatalf("repeated SetYAML: %v", err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("repeated SetYAML changed bytes: %q -> %q", out, again)
		}
	})
}

func allZeroSources(sources []Source) bool {
	for _, s := range sources {
		if s.Weight != 0 {
			return false
		}
	}
	return true
}
