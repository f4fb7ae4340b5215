package handlers

import (
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestManifestListsHandledEvents: the app subscribes to exactly the events
// the bot handles. An event handled but not subscribed never arrives; one
// subscribed but not handled is traffic for nothing.
func TestManifestListsHandledEvents(t *testing.T) {
	data, err := os.ReadFile("../app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Name           string            `yaml:"name"`
		HookAttributes map[string]any    `yaml:"hook_attributes"`
		Permissions    map[string]string `yaml:"default_permissions"`
		Events         []string          `yaml:"default_events"`
	}
	if err := yaml.Unmarshal(data, &manifest); err != nil {
		t.Fatalf("app.yaml: %v", err)
	}
	for _, ev := range HandledEvents {
		if !slices.Contains(manifest.Events, ev) {
			t.Errorf("the bot handles %q but app.yaml does not subscribe to it", ev)
		}
	}
	for _, ev := range manifest.Events {
		if !slices.Contains(HandledEvents, ev) {
			t.Errorf("app.yaml subscribes to %q, which the bot does not handle", ev)
		}
	}
	for perm, level := range map[string]string{"contents": "write", "pull_requests": "write", "issues": "write", "members": "read", "checks": "read", "statuses": "read", "metadata": "read"} {
		if manifest.Permissions[perm] != level {
			t.Errorf("permission %s = %q, want %q", perm, manifest.Permissions[perm], level)
		}
	}
	if manifest.Name == "" || manifest.HookAttributes["url"] == nil {
		t.Error("app.yaml lacks its name or webhook URL")
	}
}
