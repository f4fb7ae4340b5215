package trafficfile

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden testdata/*/*.want files from the current output")

// goldenCase is one table test of an editor on a file in testdata/<dir>.
//
// A successful edit is compared with testdata/<dir>/<name>.want, so the
// exact bytes an edit changes are visible in review (diff the .in and the
// .want). Every case also runs on the input with CRLF line endings, where
// the output must be the .want with CRLF line endings.
type goldenCase struct {
	name string
	in   string // input file name in testdata/<dir>, e.g. "upstreams.in"
	edit func(content []byte) ([]byte, error)

	unchanged bool   // the edit must return the input's bytes (no .want)
	wantErr   string // the edit must fail with an error containing this
	errIs     error  // and, if set, matching this
}

func runGolden(t *testing.T, dir string, cases []goldenCase) {
	t.Helper()
	names := map[string]bool{}
	for _, tc := range cases {
		if names[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		names[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			orig, err := os.ReadFile(filepath.Join("testdata", dir, tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.IndexByte(orig, '\r') >= 0 {
				t.Fatalf("%s has CR bytes; write inputs with LF, the CRLF variant is made here", tc.in)
			}
			wantPath := filepath.Join("testdata", dir, tc.name+".want")
			for _, crlf := range []bool{false, true} {
				in := orig
				if crlf {
					in = toCRLF(orig)
				}
				inCopy := bytes.Clone(in)
				out, err := tc.edit(in)
				if !bytes.Equal(in, inCopy) {
					t.Fatalf("crlf=%v: the editor modified its input", crlf)
				}
				if errors.Is(err, errInternal) {
					t.Fatalf("crlf=%v: self-check failed: %v", crlf, err)
				}
				if tc.wantErr != "" {
					switch {
					case err == nil:
						t.Fatalf("crlf=%v: succeeded; want error containing %q\noutput:\n%s", crlf, tc.wantErr, out)
					case out != nil:
						t.Fatalf("crlf=%v: returned output with error %v", crlf, err)
					case !strings.Contains(err.Error(), tc.wantErr):
						t.Fatalf("crlf=%v: error %q; want it to contain %q", crlf, err, tc.wantErr)
					case tc.errIs != nil && !errors.Is(err, tc.errIs):
						t.Fatalf("crlf=%v: error %q does not match %v", crlf, err, tc.errIs)
					}
					continue
				}
				if err != nil {
					t.Fatalf("crlf=%v: %v", crlf, err)
				}
				if tc.unchanged {
					if !bytes.Equal(out, in) {
						t.Fatalf("crlf=%v: want identical bytes, got diff (-in +out):\n%s", crlf, cmp.Diff(string(in), string(out)))
					}
					continue
				}
				if *update && !crlf {
					if err := os.WriteFile(wantPath, out, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(wantPath)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if crlf {
					want = toCRLF(want)
				}
				if !bytes.Equal(out, want) {
					t.Fatalf("crlf=%v: output differs from %s (-want +got):\n%s", crlf, wantPath, cmp.Diff(string(want), string(out)))
				}
				if bytes.Equal(out, in) {
					t.Fatalf("crlf=%v: output equals the input; mark the case unchanged", crlf)
				}
				// Editing again to the same value changes nothing (or,
				// for nginx, finds nothing left to edit).
				if again, err := tc.edit(out); err == nil && !bytes.Equal(again, out) {
					t.Fatalf("crlf=%v: editing the output again changed it (-first +second):\n%s", crlf, cmp.Diff(string(out), string(again)))
				}
			}
		})
	}
}

func toCRLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

// TestGoldenFilesUsed checks that every .want file belongs to a case, so
// a renamed case does not leave a stale golden file behind.
func TestGoldenFilesUsed(t *testing.T) {
	used := map[string]bool{}
	for dir, cases := range map[string][]goldenCase{
		"nginx":      nginxCases,
		"properties": propertyCases,
		"yaml":       yamlCases,
		"fastly":     fastlyCases,
		"route53":    cnameCases,
	} {
		for _, tc := range cases {
			if tc.wantErr == "" && !tc.unchanged {
				used[filepath.Join("testdata", dir, tc.name+".want")] = true
			}
		}
	}
	wants, err := filepath.Glob(filepath.Join("testdata", "*", "*.want"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range wants {
		if !used[w] {
			t.Errorf("%s belongs to no test case", w)
		}
	}
}
