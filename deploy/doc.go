// Package deploy holds migratebot's deployment files: Kubernetes manifests
// in kubernetes/, applied with `kubectl apply -k deploy/kubernetes`. It has
// no code; its test checks the manifests, the Dockerfile and slack-app.yaml
// against what the bot serves and reads.
package deploy
