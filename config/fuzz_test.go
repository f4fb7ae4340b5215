package config

import (
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzConfigParse: Parse never panics on any YAML. A config it accepts is
// valid again (Validate is idempotent, defaults included), its services
// and environments are exactly the file's, and it survives being written
// back out as YAML and parsed again with the same names. Seeds, in
// testdata/fuzz/FuzzConfigParse/, are the sandbox, example and Kubernetes
// configs and the shapes the config tests use.
func FuzzConfigParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			if cfg != nil {
				t.Fatal("Parse returned a config with its error")
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("an accepted config fails Validate again: %v", err)
		}
		// The names are the file's own: none lost, none made up.
		var names struct {
			Environments map[string]yaml.Node `yaml:"environments"`
			Services     map[string]yaml.Node `yaml:"services"`
		}
		if err := yaml.Unmarshal(data, &names); err != nil {
			t.Fatalf("an accepted config does not decode loosely: %v", err)
		}
		if got, want := cfg.ServiceNames(), sortedKeys(names.Services); !slices.Equal(got, want) {
			t.Fatalf("services %q, the file has %q", got, want)
		}
		if got, want := sortedKeys(cfg.Environments), sortedKeys(names.Environments); !slices.Equal(got, want) {
			t.Fatalf("environments %q, the file has %q", got, want)
		}
		for _, name := range cfg.ServiceNames() {
			if _, _, ok := cfg.Lookup(name); !ok {
				t.Fatalf("Lookup(%q) fails", name)
			}
		}

		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("an accepted config cannot be written out: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("an accepted config, written out, is refused: %v\n%s", err, out)
		}
		if got, want := again.ServiceNames(), cfg.ServiceNames(); !slices.Equal(got, want) {
			t.Fatalf("services after a round trip %q, want %q", got, want)
		}
		if got, want := sortedKeys(again.Environments), sortedKeys(cfg.Environments); !slices.Equal(got, want) {
			t.Fatalf("environments after a round trip %q, want %q", got, want)
		}
		for _, name := range cfg.ServiceNames() {
			if a, b := again.Services[name], cfg.Services[name]; a.Environment != b.Environment || a.Playbook != b.Playbook {
				t.Fatalf("service %s after a round trip is in %s/%s, was %s/%s", name, a.Environment, a.Playbook, b.Environment, b.Playbook)
			}
		}
		if got, want := sortedKeys(again.Playbooks), sortedKeys(cfg.Playbooks); !slices.Equal(got, want) {
			t.Fatalf("playbooks after a round trip %q, want %q", got, want)
		}
	})
}
