package githubemu

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// issueParam resolves {number} to an issue or pull request: the issues
// API serves both, as on GitHub.
func issueParam(c *call) (*issue, error) {
	n, err := c.number("number")
	if err != nil {
		return nil, err
	}
	is, ok := c.repo.issues[n]
	if !ok {
		return nil, errNotFound()
	}
	return is, nil
}

// labelLocked returns the repo's label, creating it on first use as
// GitHub does when an unknown label is added to an issue.
func (s *Server) labelLocked(r *repo, name string) *label {
	key := strings.ToLower(name)
	l := r.labels[key]
	if l == nil {
		l = &label{id: s.newIDLocked(), name: name, color: "ededed"}
		r.labels[key] = l
	}
	return l
}

func (s *Server) issueHookLocked(r *repo, is *issue, action, sender string, extra obj) {
	payload := obj{"action": action, "issue": s.issueJSON(r, is)}
	maps.Copy(payload, extra)
	s.emitHookLocked(r, "issues", sender, payload)
}

// POST /repos/{owner}/{repo}/issues
func (s *Server) createIssue(c *call) (int, any, error) {
	var req struct {
		Title  *string  `json:"title"`
		Body   string   `json:"body"`
		Labels []string `json:"labels"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Title == nil || *req.Title == "" {
		return 0, nil, errValidation(fieldError("Issue", "title", "missing_field", ""))
	}
	r := c.repo
	now := s.now()
	r.lastNumber++
	is := &issue{
		id:        s.newIDLocked(),
		number:    r.lastNumber,
		title:     *req.Title,
		body:      req.Body,
		author:    c.actor,
		state:     "open",
		createdAt: now,
		updatedAt: now,
	}
	for _, l := range req.Labels {
		if !containsFold(is.labels, l) {
			is.labels = append(is.labels, s.labelLocked(r, l).name)
		}
	}
	r.issues[is.number] = is
	s.issueHookLocked(r, is, "opened", c.actor, nil)
	return http.StatusCreated, s.issueJSON(r, is), nil
}

// GET /repos/{owner}/{repo}/issues (pull requests included, as on GitHub)
func (s *Server) listIssues(c *call) (int, any, error) {
	state := c.query.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	if l := c.query.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	var list []*issue
	for _, is := range c.repo.sortedIssues() {
		if state != "all" && is.state != state {
			continue
		}
		if !slices.ContainsFunc(want, func(l string) bool { return !containsFold(is.labels, l) }) {
			list = append(list, is)
		}
	}
	sortIssues(list, c.query.Get("sort"), c.query.Get("direction"))
	out := make([]obj, 0, len(list))
	for _, is := range paginate(s, c, list) {
		out = append(out, s.issueJSON(c.repo, is))
	}
	return http.StatusOK, out, nil
}

// GET /repos/{owner}/{repo}/issues/{number}
func (s *Server) getIssue(c *call) (int, any, error) {
	is, err := issueParam(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.issueJSON(c.repo, is), nil
}

// PATCH /repos/{owner}/{repo}/issues/{number}
func (s *Server) updateIssue(c *call) (int, any, error) {
	is, err := issueParam(c)
	if err != nil {
		return 0, nil, err
	}
	var req struct {
		Title       *string   `json:"title"`
		Body        *string   `json:"body"`
		State       *string   `json:"state"`
		StateReason *string   `json:"state_reason"`
		Labels      *[]string `json:"labels"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	r := c.repo
	if err := s.editLocked(r, is, c.actor, req.Title, req.Body, nil); err != nil {
		return 0, nil, err
	}
	if req.Labels != nil {
		var drop []string
		for _, l := range is.labels {
			if !containsFold(*req.Labels, l) {
				drop = append(drop, l)
			}
		}
		s.removeLabelsLocked(r, is, c.actor, drop)
		s.addLabelsLocked(r, is, c.actor, *req.Labels)
	}
	if req.State != nil {
		reason := ""
		if req.StateReason != nil {
			reason = *req.StateReason
		}
		switch reason {
		case "", "completed", "not_planned", "reopened":
		default:
			return 0, nil, errValidation(fieldError("Issue", "state_reason", "invalid", ""))
		}
		if err := s.setStateLocked(r, is, c.actor, *req.State, reason); err != nil {
			return 0, nil, err
		}
	}
	return http.StatusOK, s.issueJSON(r, is), nil
}

// POST /repos/{owner}/{repo}/issues/{number}/labels
func (s *Server) addLabels(c *call) (int, any, error) {
	is, err := issueParam(c)
	if err != nil {
		return 0, nil, err
	}
	// go-github sends a bare array; GitHub also takes {"labels": [...]}.
	var names []string
	if err := json.Unmarshal(c.body, &names); err != nil {
		var req struct {
			Labels []string `json:"labels"`
		}
		if err := c.decode(&req); err != nil {
			return 0, nil, err
		}
		names = req.Labels
	}
	s.addLabelsLocked(c.repo, is, c.actor, names)
	return http.StatusOK, s.labelsJSON(c.repo, is.labels), nil
}

// addLabelsLocked adds labels not yet on the issue: "labeled" for each,
// and one "updated" event for a PR.
func (s *Server) addLabelsLocked(r *repo, is *issue, by string, names []string) {
	var added []string
	for _, n := range names {
		if n == "" || containsFold(is.labels, n) {
			continue
		}
		name := s.labelLocked(r, n).name
		is.labels = append(is.labels, name)
		added = append(added, name)
	}
	if len(added) == 0 {
		return
	}
	is.updatedAt = s.now()
	if is.pull != nil {
		s.pullEventLocked(r, is, "updated", by)
	}
	for _, name := range added {
		s.labelHookLocked(r, is, "labeled", by, name)
	}
}

func (s *Server) removeLabelsLocked(r *repo, is *issue, by string, names []string) {
	for _, n := range names {
		i := indexFold(is.labels, n)
		if i < 0 {
			continue
		}
		name := is.labels[i]
		is.labels = slices.Delete(is.labels, i, i+1)
		is.updatedAt = s.now()
		s.labelHookLocked(r, is, "unlabeled", by, name)
	}
}

func (s *Server) labelHookLocked(r *repo, is *issue, action, by, name string) {
	extra := obj{"label": s.labelJSON(r, name)}
	if is.pull != nil {
		s.pullHookLocked(r, is, action, by, extra)
	} else {
		s.issueHookLocked(r, is, action, by, extra)
	}
}

// GET /repos/{owner}/{repo}/issues/{number}/labels
func (s *Server) listLabels(c *call) (int, any, error) {
	is, err := issueParam(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, paginate(s, c, s.labelsJSON(c.repo, is.labels)), nil
}

// DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name}
func (s *Server) removeLabel(c *call) (int, any, error) {
	is, err := issueParam(c)
	if err != nil {
		return 0, nil, err
	}
	if !containsFold(is.labels, c.param("name")) {
		return 0, nil, &apiError{status: http.StatusNotFound, message: "Label does not exist"}
	}
	s.removeLabelsLocked(c.repo, is, c.actor, []string{c.param("name")})
	return http.StatusOK, s.labelsJSON(c.repo, is.labels), nil
}

// POST /repos/{owner}/{repo}/issues/{number}/comments
func (s *Server) createComment(c *call) (int, any, error) {
	is, err := issueParam(c)
	if err != nil {
		return 0, nil, err
	}
	var req struct {
		Body string `json:"body"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	cm, err := s.commentLocked(c.repo, is, c.actor, req.Body)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, s.commentJSON(c.repo, cm), nil
}

// commentLocked adds a comment and sends issue_comment "created".
func (s *Server) commentLocked(r *repo, is *issue, by, body string) (*comment, error) {
	if body == "" {
		return nil, errValidation(fieldError("IssueComment", "body", "missing_field", ""))
	}
	now := s.now()
	cm := &comment{
		id:        s.newIDLocked(),
		issue:     is.number,
		author:    s.accountLocked(by, kindUser).login,
		body:      body,
		createdAt: now,
		updatedAt: now,
	}
	is.comments = append(is.comments, cm)
	r.comments[cm.id] = cm
	s.commentEventLocked(r, is, cm, "created")
	s.commentHookLocked(r, is, cm, "created", by, nil)
	return cm, nil
}

func (s *Server) commentEventLocked(r *repo, is *issue, cm *comment, action string) {
	e := Event{
		Kind:      "github.comment",
		Action:    action,
		Repo:      r.fullName(),
		Number:    is.number,
		CommentID: cm.id,
		Title:     is.title,
		Body:      cm.body,
		URL:       fmt.Sprintf("%s#issuecomment-%d", s.issueHTMLURL(r, is.number), cm.id),
		By:        cm.author,
		Labels:    slices.Clone(is.labels),
	}
	if is.pull != nil {
		e.Branch, e.Base = is.pull.head, is.pull.base
	}
	s.emitEventLocked(e)
}

func (s *Server) commentHookLocked(r *repo, is *issue, cm *comment, action, sender string, extra obj) {
	payload := obj{"action": action, "issue": s.issueJSON(r, is), "comment": s.commentJSON(r, cm)}
	maps.Copy(payload, extra)
	s.emitHookLocked(r, "issue_comment", sender, payload)
}

// GET /repos/{owner}/{repo}/issues/{number}/comments
func (s *Server) listComments(c *call) (int, any, error) {
	is, err := issueParam(c)
	if err != nil {
		return 0, nil, err
	}
	out := make([]obj, 0, len(is.comments))
	for _, cm := range is.comments {
		out = append(out, s.commentJSON(c.repo, cm))
	}
	return http.StatusOK, paginate(s, c, out), nil
}

func commentParam(c *call) (*comment, error) {
	id, err := strconv.ParseInt(c.param("comment_id"), 10, 64)
	if err != nil {
		return nil, errNotFound()
	}
	cm, ok := c.repo.comments[id]
	if !ok {
		return nil, errNotFound()
	}
	return cm, nil
}

// GET /repos/{owner}/{repo}/issues/comments/{comment_id}
func (s *Server) getComment(c *call) (int, any, error) {
	cm, err := commentParam(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.commentJSON(c.repo, cm), nil
}

// PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}
func (s *Server) updateComment(c *call) (int, any, error) {
	cm, err := commentParam(c)
	if err != nil {
		return 0, nil, err
	}
	var req struct {
		Body string `json:"body"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Body == "" {
		return 0, nil, errValidation(fieldError("IssueComment", "body", "missing_field", ""))
	}
	if req.Body != cm.body {
		r := c.repo
		is := r.issues[cm.issue]
		from := cm.body
		cm.body = req.Body
		cm.updatedAt = s.now()
		s.commentEventLocked(r, is, cm, "edited")
		s.commentHookLocked(r, is, cm, "edited", c.actor, obj{"changes": obj{"body": obj{"from": from}}})
	}
	return http.StatusOK, s.commentJSON(c.repo, cm), nil
}

var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

// POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions
func (s *Server) createReaction(c *call) (int, any, error) {
	cm, err := commentParam(c)
	if err != nil {
		return 0, nil, err
	}
	var req struct {
		Content string `json:"content"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if !slices.Contains(reactionContents, req.Content) {
		return 0, nil, errValidation(fieldError("Reaction", "content", "invalid", ""))
	}
	// One reaction of a kind per user: a repeat answers 200 with the
	// same reaction, which is what makes the bot's "eyes" idempotent.
	key := strings.ToLower(c.actor) + " " + req.Content
	if cm.reactionIDs == nil {
		cm.reactionIDs = map[string]int64{}
	}
	status := http.StatusOK
	id, ok := cm.reactionIDs[key]
	if !ok {
		id = s.newIDLocked()
		cm.reactionIDs[key] = id
		if cm.reactions == nil {
			cm.reactions = map[string]int{}
		}
		cm.reactions[req.Content]++
		status = http.StatusCreated
	}
	return status, obj{
		"id":         id,
		"node_id":    nodeID("Reaction", id),
		"user":       s.userJSON(c.actor),
		"content":    req.Content,
		"created_at": stamp(s.now()),
	}, nil
}

// GET /repos/{owner}/{repo}/collaborators/{username}/permission
func (s *Server) getPermission(c *call) (int, any, error) {
	login := c.param("username")
	role := s.roleLocked(c.repo, login)
	level := permissionLevels[role]
	user := s.userJSON(login)
	user["permissions"] = obj{
		"admin":    level == "admin",
		"maintain": role == "maintain" || role == "admin",
		"push":     level == "write" || level == "admin",
		"triage":   level != "none",
		"pull":     level != "none",
	}
	user["role_name"] = role
	return http.StatusOK, obj{"permission": level, "role_name": role, "user": user}, nil
}
