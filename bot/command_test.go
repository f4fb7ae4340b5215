package bot

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr(n int64) *int64 { return &n }

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    Command
		problem string // part of the UsageError's problem, when bad
	}{
		{name: "start", text: "start web-api", want: Command{Verb: VerbStart, Service: "web-api"}},
		{name: "leading /migrate", text: "/migrate next", want: Command{Verb: VerbNext}},
		{name: "bump", text: "bump 25", want: Command{Verb: VerbBump, Weight: ptr(25)}},
		{name: "bump zero is a real weight", text: "bump 0 web-api", want: Command{Verb: VerbBump, Weight: ptr(0), Service: "web-api"}},
		{name: "bump with percent", text: "bump 50%", want: Command{Verb: VerbBump, Weight: ptr(50)}},
		{name: "bump 100", text: "  bump   100  billing ", want: Command{Verb: VerbBump, Weight: ptr(100), Service: "billing"}},
		{name: "status names service", text: "status search", want: Command{Verb: VerbStatus, Service: "search"}},
		{name: "verb case", text: "NEXT", want: Command{Verb: VerbNext}},
		{name: "empty is help", text: "", want: Command{Verb: VerbHelp}},
		{name: "help ignores the rest", text: "help bump please", want: Command{Verb: VerbHelp}},
		{name: "rollback", text: "rollback", want: Command{Verb: VerbRollback}},
		{name: "rollback to", text: "rollback to 10 billing", want: Command{Verb: VerbRollback, Weight: ptr(10), Service: "billing"}},
		{name: "rollback service", text: "rollback web-api", want: Command{Verb: VerbRollback, Service: "web-api"}},
		{name: "done item", text: "done deployed", want: Command{Verb: VerbDone, Item: "deployed"}},
		{name: "done item service", text: "done deployed web-api", want: Command{Verb: VerbDone, Item: "deployed", Service: "web-api"}},
		{name: "force anywhere", text: "bump --force 75 web-api", want: Command{Verb: VerbBump, Weight: ptr(75), Force: true, Service: "web-api"}},
		{name: "list", text: "list", want: Command{Verb: VerbList}},
		{name: "pause resume abort plan", text: "plan billing", want: Command{Verb: VerbPlan, Service: "billing"}},
		{name: "rollback bare number", text: "rollback 10", problem: "say `rollback to 10`"},
		{name: "rollback to nothing", text: "rollback to", problem: "rollback to needs a weight"},
		{name: "rollback to 101", text: "rollback to 101", problem: "101 is out of range"},
		{name: "done nothing", text: "done", problem: "done needs the checklist item"},
		{name: "force on status", text: "status --force", problem: "status does not take --force"},
		{name: "unknown option", text: "bump 10 --yes", problem: `"--yes" is not an option of bump`},
		{name: "list takes no service", text: "list web-api", problem: "list takes no service"},
		{name: "bump 250", text: "bump 250", problem: "250 is out of range"},
		{name: "bump -5", text: "bump -5", problem: "-5 is out of range"},
		{name: "bump abc", text: "bump abc", problem: `"abc" is not a weight`},
		{name: "bump 2.5", text: "bump 2.5", problem: `"2.5" is not a weight`},
		{name: "bump alone", text: "bump", problem: "bump needs the new side's weight"},
		{name: "start alone", text: "start", problem: "start needs the name of the service"},
		{name: "unknown verb", text: "deploy web-api", problem: `"deploy" is not a migratebot command`},
		{name: "bad service name", text: "next Web_API!", problem: `"Web_API!" is not a service name`},
		{name: "too many words", text: "next web-api now", problem: "too many words"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCommand(tc.text)
			if tc.problem == "" {
				if err != nil {
					t.Fatalf("ParseCommand(%q): %v", tc.text, err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("ParseCommand(%q) (-want +got):\n%s", tc.text, diff)
				}
				return
			}
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseCommand(%q) = %+v, %v; want a UsageError", tc.text, got, err)
			}
			if !strings.Contains(ue.Problem, tc.problem) || !strings.HasPrefix(ue.Usage, "Usage: /migrate") {
				t.Errorf("problem %q, usage %q; want %q and a usage line", ue.Problem, ue.Usage, tc.problem)
			}
		})
	}
}

func TestCommandStringRoundTrips(t *testing.T) {
	for _, text := range []string{"start web-api", "bump 0 web-api", "bump 25", "next", "status billing", "rollback to 10 billing", "done deployed web-api", "bump 75 --force web-api", "abort"} {
		c, err := ParseCommand(text)
		if err != nil {
			t.Fatal(err)
		}
		if c.String() != text {
			t.Errorf("%q renders as %q", text, c.String())
		}
	}
}

func TestWeightsNeverZeroZero(t *testing.T) {
	for n := int64(0); n <= 100; n++ {
		w := WeightsForNew(n)
		if w.Old+w.New != 100 || w.Old < 0 || w.New < 0 {
			t.Fatalf("WeightsForNew(%d) = %v", n, w)
		}
	}
}

// FuzzParseCommand: any text either parses to a command that renders back to
// an equivalent one, or is a UsageError with a usage line. It never panics.
func FuzzParseCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCommand(text)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || !strings.HasPrefix(ue.Usage, "Usage: ") || ue.Problem == "" {
				t.Fatalf("ParseCommand(%q): %v is not a usage error", text, err)
			}
			return
		}
		if c.Weight != nil && (*c.Weight < 0 || *c.Weight > 100) {
			t.Fatalf("ParseCommand(%q) weight %d out of range", text, *c.Weight)
		}
		if c.Verb == VerbHelp {
			return
		}
		again, err := ParseCommand(c.String())
		if err != nil {
			t.Fatalf("%q parsed to %q, which does not parse: %v", text, c.String(), err)
		}
		if diff := cmp.Diff(c, again); diff != "" {
			t.Fatalf("round trip of %q:\n%s", text, diff)
		}
	})
}
