package githubemu

import (
	"fmt"
	"strings"
)

// The builders below produce GitHub's JSON objects, key for key, for the
// REST answers and the webhook payloads alike (GitHub uses the same shapes
// for both). They run with s.mu held. contract_test.go holds them to
// GitHub's real payloads.

type obj = map[string]any

func (s *Server) userJSON(login string) obj {
	a := s.accountLocked(login, kindUser)
	api := s.api + "/users/" + a.login
	html := "https://github.com/" + a.login
	if a.kind == kindBot {
		html = "https://github.com/apps/" + strings.TrimSuffix(a.login, "[bot]")
	}
	return obj{
		"login":               a.login,
		"id":                  a.id,
		"node_id":             nodeID(a.kind, a.id),
		"avatar_url":          fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", a.id),
		"gravatar_id":         "",
		"url":                 api,
		"html_url":            html,
		"followers_url":       api + "/followers",
		"following_url":       api + "/following{/other_user}",
		"gists_url":           api + "/gists{/gist_id}",
		"starred_url":         api + "/starred{/owner}{/repo}",
		"subscriptions_url":   api + "/subscriptions",
		"organizations_url":   api + "/orgs",
		"repos_url":           api + "/repos",
		"events_url":          api + "/events{/privacy}",
		"received_events_url": api + "/received_events",
		"type":                a.kind,
		"user_view_type":      "public",
		"site_admin":          false,
	}
}

// userOrNil is a user object, or null for "" (merged_by of an open PR).
func (s *Server) userOrNil(login string) any {
	if login == "" {
		return nil
	}
	return s.userJSON(login)
}

func (s *Server) orgJSON(login string) obj {
	a := s.accountLocked(login, kindOrg)
	api := s.api + "/orgs/" + a.login
	return obj{
		"login":              a.login,
		"id":                 a.id,
		"node_id":            nodeID(kindOrg, a.id),
		"url":                api,
		"repos_url":          api + "/repos",
		"events_url":         api + "/events",
		"hooks_url":          api + "/hooks",
		"issues_url":         api + "/issues",
		"members_url":        api + "/members{/member}",
		"public_members_url": api + "/public_members{/member}",
		"avatar_url":         fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", a.id),
		"description":        "",
	}
}

func (s *Server) appJSON() obj {
	slug := s.appSlug()
	return obj{
		"id":           s.opts.AppID,
		"slug":         slug,
		"node_id":      nodeID("Integration", s.opts.AppID),
		"client_id":    fmt.Sprintf("Iv1.%016x", s.opts.AppID),
		"owner":        s.userJSON(s.opts.BotLogin),
		"name":         slug,
		"description":  "",
		"external_url": "https://github.com/apps/" + slug,
		"html_url":     "https://github.com/apps/" + slug,
		"created_at":   stamp(s.now()),
		"updated_at":   stamp(s.now()),
		"permissions":  appPermissions(),
		"events":       appEvents,
	}
}

func (s *Server) repoJSON(r *repo) obj {
	api := s.api + "/repos/" + r.fullName()
	html := r.htmlURL()
	open := 0
	for _, is := range r.issues {
		if is.state == "open" {
			open++
		}
	}
	return obj{
		"id":                          r.id,
		"node_id":                     nodeID("Repository", r.id),
		"name":                        r.name,
		"full_name":                   r.fullName(),
		"private":                     true,
		"owner":                       s.userJSON(r.owner),
		"html_url":                    html,
		"description":                 nil,
		"fork":                        false,
		"url":                         api,
		"forks_url":                   api + "/forks",
		"keys_url":                    api + "/keys{/key_id}",
		"collaborators_url":           api + "/collaborators{/collaborator}",
		"teams_url":                   api + "/teams",
		"hooks_url":                   api + "/hooks",
		"issue_events_url":            api + "/issues/events{/number}",
		"events_url":                  api + "/events",
		"assignees_url":               api + "/assignees{/user}",
		"branches_url":                api + "/branches{/branch}",
		"tags_url":                    api + "/tags",
		"blobs_url":                   api + "/git/blobs{/sha}",
		"git_tags_url":                api + "/git/tags{/sha}",
		"git_refs_url":                api + "/git/refs{/sha}",
		"trees_url":                   api + "/git/trees{/sha}",
		"statuses_url":                api + "/statuses/{sha}",
		"languages_url":               api + "/languages",
		"stargazers_url":              api + "/stargazers",
		"contributors_url":            api + "/contributors",
		"subscribers_url":             api + "/subscribers",
		"subscription_url":            api + "/subscription",
		"commits_url":                 api + "/commits{/sha}",
		"git_commits_url":             api + "/git/commits{/sha}",
		"comments_url":                api + "/comments{/number}",
		"issue_comment_url":           api + "/issues/comments{/number}",
		"contents_url":                api + "/contents/{+path}",
		"compare_url":                 api + "/compare/{base}...{head}",
		"merges_url":                  api + "/merges",
		"archive_url":                 api + "/{archive_format}{/ref}",
		"downloads_url":               api + "/downloads",
		"issues_url":                  api + "/issues{/number}",
		"pulls_url":                   api + "/pulls{/number}",
		"milestones_url":              api + "/milestones{/number}",
		"notifications_url":           api + "/notifications{?since,all,participating}",
		"labels_url":                  api + "/labels{/name}",
		"releases_url":                api + "/releases{/id}",
		"deployments_url":             api + "/deployments",
		"created_at":                  stamp(r.createdAt),
		"updated_at":                  stamp(r.pushedAt),
		"pushed_at":                   stamp(r.pushedAt),
		"git_url":                     "git://github.com/" + r.fullName() + ".git",
		"ssh_url":                     "git@github.com:" + r.fullName() + ".git",
		"clone_url":                   html + ".git",
		"svn_url":                     html,
		"homepage":                    nil,
		"size":                        0,
		"stargazers_count":            0,
		"watchers_count":              0,
		"language":                    nil,
		"has_issues":                  true,
		"has_projects":                false,
		"has_downloads":               true,
		"has_wiki":                    false,
		"has_pages":                   false,
		"has_discussions":             false,
		"forks_count":                 0,
		"mirror_url":                  nil,
		"archived":                    false,
		"disabled":                    false,
		"open_issues_count":           open,
		"license":                     nil,
		"allow_forking":               false,
		"is_template":                 false,
		"web_commit_signoff_required": false,
		"topics":                      []string{},
		"custom_properties":           obj{},
		"visibility":                  "private",
		"forks":                       0,
		"open_issues":                 open,
		"watchers":                    0,
		"default_branch":              r.defaultBranch,
	}
}

func (s *Server) labelJSON(r *repo, name string) obj {
	l := s.labelLocked(r, name)
	return obj{
		"id":          l.id,
		"node_id":     nodeID("Label", l.id),
		"url":         s.api + "/repos/" + r.fullName() + "/labels/" + l.name,
		"name":        l.name,
		"color":       l.color,
		"default":     false,
		"description": l.description,
	}
}

func (s *Server) labelsJSON(r *repo, names []string) []obj {
	out := make([]obj, 0, len(names))
	for _, n := range names {
		out = append(out, s.labelJSON(r, n))
	}
	return out
}

func (s *Server) usersJSON(logins []string) []obj {
	out := make([]obj, 0, len(logins))
	for _, l := range logins {
		out = append(out, s.userJSON(l))
	}
	return out
}

// teamJSON is a team as PRs and review-request webhooks carry it.
func (s *Server) teamJSON(t *team) obj {
	api := fmt.Sprintf("%s/organizations/%d/team/%d", s.api, s.accountLocked(t.org, kindOrg).id, t.id)
	return obj{
		"name":                 t.slug,
		"id":                   t.id,
		"node_id":              nodeID("Team", t.id),
		"slug":                 t.slug,
		"description":          "",
		"privacy":              "closed",
		"notification_setting": "notifications_enabled",
		"url":                  api,
		"html_url":             "https://github.com/orgs/" + t.org + "/teams/" + t.slug,
		"members_url":          api + "/members{/member}",
		"repositories_url":     api + "/repos",
		"permission":           "pull",
		"parent":               nil,
	}
}

// requestedTeamsJSON is a PR's requested teams.
func (s *Server) requestedTeamsJSON(r *repo, slugs []string) []obj {
	out := make([]obj, 0, len(slugs))
	for _, slug := range slugs {
		out = append(out, s.teamJSON(s.requestedTeamLocked(r, slug)))
	}
	return out
}

func reactionsJSON(url string, counts map[string]int) obj {
	out := obj{"url": url}
	total := 0
	for _, k := range []string{"+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"} {
		out[k] = counts[k]
		total += counts[k]
	}
	out["total_count"] = total
	return out
}

// authorAssociation is login's relation to r, as GitHub reports it.
func (s *Server) authorAssociation(r *repo, login string) string {
	switch {
	case strings.EqualFold(login, r.owner):
		return "OWNER"
	case permissionLevels[s.roleLocked(r, login)] == "admin", permissionLevels[s.roleLocked(r, login)] == "write":
		return "MEMBER"
	case s.roleLocked(r, login) != "none":
		return "COLLABORATOR"
	}
	return "NONE"
}

func (s *Server) issueURLs(r *repo, number int) (api, html string) {
	return fmt.Sprintf("%s/repos/%s/issues/%d", s.api, r.fullName(), number),
		fmt.Sprintf("%s/issues/%d", r.htmlURL(), number)
}

func (s *Server) issueJSON(r *repo, is *issue) obj {
	api, html := s.issueURLs(r, is.number)
	out := obj{
		"url":                      api,
		"repository_url":           s.api + "/repos/" + r.fullName(),
		"labels_url":               api + "/labels{/name}",
		"comments_url":             api + "/comments",
		"events_url":               api + "/events",
		"timeline_url":             api + "/timeline",
		"html_url":                 html,
		"id":                       is.id,
		"node_id":                  nodeID("Issue", is.id),
		"number":                   is.number,
		"title":                    is.title,
		"user":                     s.userJSON(is.author),
		"labels":                   s.labelsJSON(r, is.labels),
		"state":                    is.state,
		"state_reason":             nilIfEmpty(is.stateReason),
		"locked":                   false,
		"assignee":                 nil,
		"assignees":                []obj{},
		"milestone":                nil,
		"comments":                 len(is.comments),
		"created_at":               stamp(is.createdAt),
		"updated_at":               stamp(is.updatedAt),
		"closed_at":                stampOrNil(is.closedAt),
		"author_association":       s.authorAssociation(r, is.author),
		"active_lock_reason":       nil,
		"body":                     nilIfEmpty(is.body),
		"reactions":                reactionsJSON(api+"/reactions", nil),
		"draft":                    false,
		"performed_via_github_app": nil,
	}
	if p := is.pull; p != nil {
		pullAPI := fmt.Sprintf("%s/repos/%s/pulls/%d", s.api, r.fullName(), is.number)
		pullHTML := fmt.Sprintf("%s/pull/%d", r.htmlURL(), is.number)
		out["html_url"] = pullHTML
		out["draft"] = p.draft
		out["pull_request"] = obj{
			"url":       pullAPI,
			"html_url":  pullHTML,
			"diff_url":  pullHTML + ".diff",
			"patch_url": pullHTML + ".patch",
			"merged_at": stampOrNil(p.mergedAt),
		}
	}
	return out
}

func (s *Server) commentJSON(r *repo, c *comment) obj {
	issueAPI, _ := s.issueURLs(r, c.issue)
	html := fmt.Sprintf("%s#issuecomment-%d", s.issueHTMLURL(r, c.issue), c.id)
	api := fmt.Sprintf("%s/repos/%s/issues/comments/%d", s.api, r.fullName(), c.id)
	var app any
	if strings.EqualFold(c.author, s.opts.BotLogin) {
		app = s.appJSON()
	}
	return obj{
		"url":                      api,
		"html_url":                 html,
		"issue_url":                issueAPI,
		"id":                       c.id,
		"node_id":                  nodeID("IssueComment", c.id),
		"user":                     s.userJSON(c.author),
		"created_at":               stamp(c.createdAt),
		"updated_at":               stamp(c.updatedAt),
		"author_association":       s.authorAssociation(r, c.author),
		"performed_via_github_app": app,
		"body":                     c.body,
		"reactions":                reactionsJSON(api+"/reactions", c.reactions),
	}
}

// issueHTMLURL is .../pull/N for a pull request and .../issues/N otherwise,
// as GitHub links them.
func (s *Server) issueHTMLURL(r *repo, number int) string {
	if is, ok := r.issues[number]; ok && is.pull != nil {
		return fmt.Sprintf("%s/pull/%d", r.htmlURL(), number)
	}
	return fmt.Sprintf("%s/issues/%d", r.htmlURL(), number)
}

func (s *Server) reviewJSON(r *repo, number int, rv *review) obj {
	pullAPI := fmt.Sprintf("%s/repos/%s/pulls/%d", s.api, r.fullName(), number)
	html := fmt.Sprintf("%s/pull/%d#pullrequestreview-%d", r.htmlURL(), number, rv.id)
	return obj{
		"id":                 rv.id,
		"node_id":            nodeID("PullRequestReview", rv.id),
		"user":               s.userJSON(rv.author),
		"body":               rv.body,
		"commit_id":          rv.commitID,
		"submitted_at":       stampOrNil(rv.submittedAt),
		"state":              rv.state,
		"html_url":           html,
		"pull_request_url":   pullAPI,
		"author_association": s.authorAssociation(r, rv.author),
		"_links": obj{
			"html":         obj{"href": html},
			"pull_request": obj{"href": pullAPI},
		},
	}
}

// pullJSON is the full pull request object, facts computed from git.
func (s *Server) pullJSON(r *repo, is *issue) obj {
	p := is.pull
	facts := s.pullFactsLocked(r, is)
	api := fmt.Sprintf("%s/repos/%s/pulls/%d", s.api, r.fullName(), is.number)
	issueAPI, _ := s.issueURLs(r, is.number)
	html := fmt.Sprintf("%s/pull/%d", r.htmlURL(), is.number)
	repoAPI := s.api + "/repos/" + r.fullName()
	var mergeable any
	mergeableState := "unknown"
	if !p.merged {
		mergeable = len(facts.conflicts) == 0
		mergeableState = "clean"
		if len(facts.conflicts) > 0 {
			mergeableState = "dirty"
		}
	}
	branch := func(ref, sha string) obj {
		return obj{
			"label": r.owner + ":" + ref,
			"ref":   ref,
			"sha":   sha,
			"user":  s.userJSON(r.owner),
			"repo":  s.repoJSON(r),
		}
	}
	href := func(u string) obj { return obj{"href": u} }
	return obj{
		"url":                   api,
		"id":                    p.id,
		"node_id":               nodeID("PullRequest", p.id),
		"html_url":              html,
		"diff_url":              html + ".diff",
		"patch_url":             html + ".patch",
		"issue_url":             issueAPI,
		"number":                is.number,
		"state":                 is.state,
		"locked":                false,
		"title":                 is.title,
		"user":                  s.userJSON(is.author),
		"body":                  nilIfEmpty(is.body),
		"created_at":            stamp(is.createdAt),
		"updated_at":            stamp(is.updatedAt),
		"closed_at":             stampOrNil(is.closedAt),
		"merged_at":             stampOrNil(p.mergedAt),
		"merge_commit_sha":      nilIfEmpty(p.mergeCommitSHA),
		"assignee":              nil,
		"assignees":             []obj{},
		"requested_reviewers":   s.usersJSON(p.reviewers),
		"requested_teams":       s.requestedTeamsJSON(r, p.teams),
		"labels":                s.labelsJSON(r, is.labels),
		"milestone":             nil,
		"draft":                 p.draft,
		"commits_url":           api + "/commits",
		"review_comments_url":   api + "/comments",
		"review_comment_url":    repoAPI + "/pulls/comments{/number}",
		"comments_url":          issueAPI + "/comments",
		"statuses_url":          repoAPI + "/statuses/" + facts.head,
		"head":                  branch(p.head, facts.head),
		"base":                  branch(p.base, facts.baseTip),
		"author_association":    s.authorAssociation(r, is.author),
		"auto_merge":            nil,
		"active_lock_reason":    nil,
		"merged":                p.merged,
		"mergeable":             mergeable,
		"rebaseable":            mergeable,
		"mergeable_state":       mergeableState,
		"merged_by":             s.userOrNil(p.mergedBy),
		"comments":              len(is.comments),
		"review_comments":       0,
		"maintainer_can_modify": false,
		"commits":               facts.commits,
		"additions":             facts.additions,
		"deletions":             facts.deletions,
		"changed_files":         len(facts.paths),
		"_links": obj{
			"self":            href(api),
			"html":            href(html),
			"issue":           href(issueAPI),
			"comments":        href(issueAPI + "/comments"),
			"review_comments": href(api + "/comments"),
			"review_comment":  href(repoAPI + "/pulls/comments{/number}"),
			"commits":         href(api + "/commits"),
			"statuses":        href(repoAPI + "/statuses/" + facts.head),
		},
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
