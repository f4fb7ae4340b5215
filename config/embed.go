package config

import _ "embed"

// SandboxYAML is config/sandbox.yaml, the sandbox's config.
//
//go:embed sandbox.yaml
var SandboxYAML []byte
