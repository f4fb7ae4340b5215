// Package githubemu is an in-memory GitHub: the REST API v3 and webhook
// deliveries of a GitHub App, on a loopback port, speaking the real wire
// protocol so that the real go-github client and ghinstallation transport
// work against it unchanged.
//
// It keeps real git objects (blobs, trees, commits with git's own ids),
// branches, pull requests, issues, comments, reviews, labels, teams,
// commit statuses and check runs, and sends the webhooks GitHub would
// send, signed, one at a time and in order. What people and CI do (merge,
// review, comment, report checks) is done by calling Server methods; what
// the bot does arrives over HTTP with an installation token.
//
// End-to-end tests and the bot's sandbox command use it: the sandbox
// prints the Events it reports, tests inspect PRs, files and Calls.
//
// Files by concern: server.go (options, dispatch), router.go and routes.go
// (the endpoint table), auth.go (JWTs, tokens, rate limits, installations),
// git.go (objects), gitdata.go (git data API), repos.go (repo, branches,
// contents), pulls.go, merge.go, reviews.go, issues.go, teams.go (teams
// and their members), checks.go (commit statuses and check runs),
// webhooks.go (events, deliveries), people.go (what people do), inspect.go
// (what tests look at), payloads.go (GitHub's JSON shapes).
package githubemu
