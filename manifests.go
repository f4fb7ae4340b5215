// Package migratebot holds the app manifests at the repository's root, so
// that `migratebot setup` prints the very files the repository keeps.
package migratebot

import _ "embed"

// AppManifest is app.yaml, the GitHub App manifest: the single truth for the
// app's permissions and events.
//
//go:embed app.yaml
var AppManifest []byte

// SlackManifest is slack-app.yaml, the Slack app manifest: the slash command,
// interactivity and bot scopes.
//
//go:embed slack-app.yaml
var SlackManifest []byte
