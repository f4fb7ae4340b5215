package jiraemu

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// jiraTime is how Jira writes date-times.
const jiraTime = "2006-01-02T15:04:05.000-0700"

type userKey struct{}

func withUser(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, userKey{}, user)
}

func userOf(r *http.Request) string {
	u, _ := r.Context().Value(userKey{}).(string)
	return u
}

// writeJSON answers v as JSON with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers Jira's error shape:
// {"errorMessages": [...], "errors": {"field": "message"}}.
func writeError(w http.ResponseWriter, code int, messages []string, fields map[string]string) {
	if messages == nil {
		messages = []string{}
	}
	if fields == nil {
		fields = map[string]string{}
	}
	writeJSON(w, code, map[string]any{"errorMessages": messages, "errors": fields})
}

// readJSON decodes a request body into v, or answers 400.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	data, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, []string{fmt.Sprintf("Unexpected body %q: %v", trimBody(data), err)}, nil)
		return false
	}
	return true
}

// standardFields can always be set on create.
var standardFields = []string{
	"project", "issuetype", "summary", "description", "labels", "duedate",
	"priority", "assignee", "reporter", "components", "fixVersions", "environment",
}

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Fields map[string]any `json:"fields"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if req.Fields == nil {
		writeError(w, http.StatusBadRequest, []string{"No fields were given: the request needs \"fields\"."}, nil)
		return
	}
	f := req.Fields
	errs := map[string]string{}

	project, _ := f["project"].(map[string]any)
	switch {
	case project == nil:
		errs["project"] = "Specify a valid project ID or key"
	case !strings.EqualFold(str(project["key"]), s.opts.Project) && str(project["id"]) != "10000":
		errs["project"] = "Specify a valid project ID or key"
	}
	it, _ := f["issuetype"].(map[string]any)
	issueType := ""
	if it != nil {
		for i, name := range s.opts.IssueTypes {
			if strings.EqualFold(str(it["name"]), name) || str(it["id"]) == issueTypeID(i) {
				issueType = name
			}
		}
	}
	if issueType == "" {
		errs["issuetype"] = "Specify a valid issue type"
	}
	summary, ok := f["summary"].(string)
	switch {
	case !ok || strings.TrimSpace(summary) == "":
		errs["summary"] = "You must specify a summary of the issue."
	case strings.ContainsAny(summary, "\r\n"):
		errs["summary"] = "The summary is invalid because it contains newline characters."
	case utf8.RuneCountInString(summary) > 255:
		errs["summary"] = "Summary must be less than 255 characters."
	}
	description := ""
	switch d := f["description"].(type) {
	case nil:
	case string:
		description = d
	default:
		errs["description"] = "Operation value must be a string"
	}
	var labels []string
	switch l := f["labels"].(type) {
	case nil:
	case []any:
		for _, e := range l {
			lab, ok := e.(string)
			switch {
			case !ok:
				errs["labels"] = "Operation value must be a string"
			case lab == "":
				errs["labels"] = "The label '' is invalid: a label must not be empty."
			case strings.IndexFunc(lab, unicode.IsSpace) >= 0:
				errs["labels"] = fmt.Sprintf("The label '%s' contains spaces which is invalid.", lab)
			case utf8.RuneCountInString(lab) > 255:
				errs["labels"] = "The label must not exceed 255 characters."
			default:
				if !slices.Contains(labels, lab) {
					labels = append(labels, lab)
				}
			}
		}
	default:
		errs["labels"] = "data was not an array"
	}
	switch d := f["duedate"].(type) {
	case nil:
	case string:
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			errs["duedate"] = "Error parsing date string: " + d
		}
	default:
		errs["duedate"] = "Operation value must be a string"
	}
	if s.opts.Fields != nil {
		for id := range f {
			if !slices.Contains(standardFields, id) && !slices.Contains(s.opts.Fields, id) {
				errs[id] = fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", id)
			}
		}
	}
	if len(errs) > 0 {
		writeError(w, http.StatusBadRequest, nil, errs)
		return
	}

	s.mu.Lock()
	s.seq++
	now := s.opts.Now()
	is := &Issue{
		ID:          strconv.Itoa(10000 + s.seq),
		Key:         fmt.Sprintf("%s-%d", s.opts.Project, s.seq),
		Project:     s.opts.Project,
		IssueType:   issueType,
		Summary:     summary,
		Description: description,
		Labels:      labels,
		Status:      s.statuses[0].name,
		History:     []string{s.statuses[0].name},
		Fields:      f,
		Created:     now,
		Updated:     now,
	}
	s.issues = append(s.issues, is)
	s.byKey[is.Key] = is
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"id": is.ID, "key": is.Key, "self": s.URL() + "/rest/api/2/issue/" + is.ID})
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func issueTypeID(i int) string { return strconv.Itoa(10001 + i) }

// lookup finds an issue by key or id, under s.mu, or answers 404.
func (s *Server) lookup(w http.ResponseWriter, ref string) *Issue {
	if is, ok := s.byKey[strings.ToUpper(ref)]; ok {
		return is
	}
	for _, is := range s.issues {
		if is.ID == ref {
			return is
		}
	}
	writeError(w, http.StatusNotFound, []string{"Issue does not exist or you do not have permission to see it."}, nil)
	return nil
}

// fieldSet reads a fields parameter: which fields to render (nil: all but
// those only "*all" brings). def is what no parameter means.
type fieldSet struct {
	all     bool
	names   []string
	idsOnly bool
}

func parseFields(r *http.Request, def fieldSet) fieldSet {
	v := strings.TrimSpace(r.URL.Query().Get("fields"))
	if v == "" {
		return def
	}
	var fs fieldSet
	for _, n := range strings.Split(v, ",") {
		switch n = strings.TrimSpace(n); n {
		case "*all", "*navigable":
			fs.all = true
		case "":
		default:
			fs.names = append(fs.names, n)
		}
	}
	return fs
}

func (fs fieldSet) has(name string) bool { return fs.all || slices.Contains(fs.names, name) }

// issueJSON renders an issue as Jira does, under s.mu.
func (s *Server) issueJSON(is *Issue, fs fieldSet) map[string]any {
	self := s.URL() + "/rest/api/2/issue/" + is.ID
	if fs.idsOnly {
		return map[string]any{"id": is.ID}
	}
	all := map[string]any{}
	for k, v := range is.Fields {
		all[k] = deepCopy(v)
	}
	all["summary"] = is.Summary
	all["description"] = nilIfEmpty(is.Description)
	all["labels"] = append([]string{}, is.Labels...)
	st, _ := s.status(is.Status)
	all["status"] = s.statusJSON(st)
	for i, name := range s.opts.IssueTypes {
		if name == is.IssueType {
			all["issuetype"] = map[string]any{"id": issueTypeID(i), "name": name, "subtask": false}
		}
	}
	all["project"] = map[string]any{"id": "10000", "key": is.Project, "name": is.Project}
	all["created"] = is.Created.Format(jiraTime)
	all["updated"] = is.Updated.Format(jiraTime)
	if _, ok := all["duedate"]; !ok {
		all["duedate"] = nil
	}
	all["comment"] = s.commentsJSON(is)
	fields := map[string]any{}
	for k, v := range all {
		if fs.has(k) {
			fields[k] = v
		}
	}
	return map[string]any{"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations", "id": is.ID, "self": self, "key": is.Key, "fields": fields}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) statusJSON(st status) map[string]any {
	catID, catName := map[string]int{"new": 2, "indeterminate": 4, "done": 3}[st.category], map[string]string{"new": "To Do", "indeterminate": "In Progress", "done": "Done"}[st.category]
	return map[string]any{
		"self": s.URL() + "/rest/api/2/status/" + st.id, "id": st.id, "name": st.name, "description": "",
		"statusCategory": map[string]any{"id": catID, "key": st.category, "name": catName},
	}
}

func (s *Server) commentsJSON(is *Issue) map[string]any {
	list := make([]map[string]any, len(is.Comments))
	for i, c := range is.Comments {
		list[i] = s.commentJSON(is, c)
	}
	return map[string]any{"comments": list, "maxResults": len(list), "total": len(list), "startAt": 0}
}

func (s *Server) commentJSON(is *Issue, c Comment) map[string]any {
	author := map[string]any{"name": c.Author, "emailAddress": c.Author, "displayName": c.Author, "active": true}
	return map[string]any{
		"self": s.URL() + "/rest/api/2/issue/" + is.ID + "/comment/" + c.ID, "id": c.ID,
		"author": author, "updateAuthor": author, "body": c.Body,
		"created": c.Created.Format(jiraTime), "updated": c.Created.Format(jiraTime),
	}
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.lookup(w, r.PathValue("key")); is != nil {
		writeJSON(w, http.StatusOK, s.issueJSON(is, parseFields(r, fieldSet{all: true})))
	}
}

// offered lists the transitions from an issue's status, under s.mu.
func (s *Server) offered(is *Issue) []Transition {
	var out []Transition
	for _, t := range s.opts.Workflow {
		if len(t.From) == 0 || slices.ContainsFunc(t.From, func(f string) bool { return strings.EqualFold(f, is.Status) }) {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) getTransitions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.lookup(w, r.PathValue("key"))
	if is == nil {
		return
	}
	list := []map[string]any{}
	for _, t := range s.offered(is) {
		to, _ := s.status(t.To)
		list = append(list, map[string]any{
			"id": t.ID, "name": t.Name, "to": s.statusJSON(to),
			"hasScreen": false, "isGlobal": len(t.From) == 0, "isInitial": false, "isAvailable": true, "isConditional": false, "isLooped": false,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"expand": "transitions", "transitions": list})
}

func (s *Server) doTransition(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Transition *struct {
			ID string `json:"id"`
		} `json:"transition"`
		Update struct {
			Comment []struct {
				Add struct {
					Body string `json:"body"`
				} `json:"add"`
			} `json:"comment"`
		} `json:"update"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.lookup(w, r.PathValue("key"))
	if is == nil {
		return
	}
	if req.Transition == nil || req.Transition.ID == "" {
		writeError(w, http.StatusBadRequest, []string{"Missing 'transition' identifier"}, nil)
		return
	}
	i := slices.IndexFunc(s.offered(is), func(t Transition) bool { return t.ID == req.Transition.ID })
	if i < 0 {
		writeError(w, http.StatusBadRequest, []string{fmt.Sprintf("Transition id '%s' is not valid for this issue.", req.Transition.ID)}, nil)
		return
	}
	s.setStatus(is, s.offered(is)[i].To)
	for _, c := range req.Update.Comment {
		if c.Add.Body != "" {
			s.comment(is, userOf(r), c.Add.Body)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// comment adds a comment, under s.mu.
func (s *Server) comment(is *Issue, author, body string) Comment {
	s.commentID++
	c := Comment{ID: strconv.Itoa(10000 + s.commentID), Body: body, Author: author, Created: s.opts.Now()}
	is.Comments = append(is.Comments, c)
	is.Updated = c.Created
	return c
}

func (s *Server) getComments(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.lookup(w, r.PathValue("key")); is != nil {
		writeJSON(w, http.StatusOK, s.commentsJSON(is))
	}
}

func (s *Server) addComment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Body any `json:"body"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.lookup(w, r.PathValue("key"))
	if is == nil {
		return
	}
	body, ok := req.Body.(string)
	switch {
	case req.Body != nil && !ok:
		writeError(w, http.StatusBadRequest, nil, map[string]string{"comment": "Operation value must be a string"})
		return
	case strings.TrimSpace(body) == "":
		writeError(w, http.StatusBadRequest, nil, map[string]string{"comment": "Comment body can not be empty!"})
		return
	}
	writeJSON(w, http.StatusCreated, s.commentJSON(is, s.comment(is, userOf(r), body)))
}

// query runs a JQL query, under s.mu, or answers 400.
func (s *Server) query(w http.ResponseWriter, jql string) ([]*Issue, bool) {
	q, err := parseJQL(jql)
	if err == nil {
		err = s.checkQuery(q)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return nil, false
	}
	var out []*Issue
	for _, is := range s.issues {
		if q.matches(is) {
			out = append(out, is)
		}
	}
	order := q.order
	if len(order) == 0 {
		order = []orderBy{{field: "key", desc: true}}
	}
	slices.SortStableFunc(out, func(a, b *Issue) int {
		for _, o := range order {
			var c int
			switch o.field {
			case "created":
				c = a.Created.Compare(b.Created)
			case "updated":
				c = a.Updated.Compare(b.Updated)
			}
			if c == 0 || o.field == "key" {
				c = cmp.Compare(a.seq(), b.seq())
			}
			if o.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	return out, true
}

// seq is an issue's number in its key.
func (is *Issue) seq() int {
	_, n, _ := strings.Cut(is.Key, "-")
	i, _ := strconv.Atoi(n)
	return i
}

// checkQuery refuses values Jira would: an unknown project.
func (s *Server) checkQuery(q *jqlQuery) error {
	for _, c := range q.clauses {
		if c.field != "project" {
			continue
		}
		for _, v := range c.values {
			if !strings.EqualFold(v, s.opts.Project) && v != "10000" {
				return fmt.Errorf("The value '%s' does not exist for the field 'project'.", v)
			}
		}
	}
	return nil
}

// page reads a maxResults parameter: default 50, at most 100.
func page(r *http.Request) (int, error) {
	v := r.URL.Query().Get("maxResults")
	if v == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("maxResults %q is not a valid number", v)
	}
	return min(n, 100), nil
}

// search is the legacy search (Data Center; Cloud answers 410 Gone).
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	if s.opts.Cloud {
		writeError(w, http.StatusGone, []string{"The requested API has been removed. Please migrate to the /rest/api/2/search/jql API."}, nil)
		return
	}
	max, err := page(r)
	start, serr := strconv.Atoi(cmp.Or(r.URL.Query().Get("startAt"), "0"))
	if err != nil || serr != nil || start < 0 {
		writeError(w, http.StatusBadRequest, []string{cmp.Or(fmt.Sprint(err), "startAt is not a valid number")}, nil)
		return
	}
	fs := parseFields(r, fieldSet{all: true})
	if fs.all && r.URL.Query().Get("fields") == "" {
		fs = fieldSet{names: navigable}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found, ok := s.query(w, r.URL.Query().Get("jql"))
	if !ok {
		return
	}
	list := []map[string]any{}
	for i := start; i < len(found) && i < start+max; i++ {
		list = append(list, s.issueJSON(found[i], fs))
	}
	writeJSON(w, http.StatusOK, map[string]any{"expand": "schema,names", "startAt": start, "maxResults": max, "total": len(found), "issues": list})
}

// navigable are the fields a search returns by default.
var navigable = []string{"summary", "description", "labels", "status", "issuetype", "project", "created", "updated", "duedate", "priority"}

// searchJQL is Jira Cloud's search: token-paged, ids only by default, no
// total, and no unbounded queries.
func (s *Server) searchJQL(w http.ResponseWriter, r *http.Request) {
	if !s.opts.Cloud {
		writeError(w, http.StatusNotFound, []string{"null for uri: " + r.URL.String()}, nil)
		return
	}
	jql := r.URL.Query().Get("jql")
	if strings.TrimSpace(jql) == "" {
		writeError(w, http.StatusBadRequest, []string{"Unbounded JQL queries are not allowed here. Please add a search restriction to your query."}, nil)
		return
	}
	max, err := page(r)
	start, serr := strconv.Atoi(cmp.Or(r.URL.Query().Get("nextPageToken"), "0"))
	if err != nil || serr != nil || start < 0 {
		writeError(w, http.StatusBadRequest, []string{"Invalid maxResults or nextPageToken."}, nil)
		return
	}
	fs := parseFields(r, fieldSet{idsOnly: true})
	s.mu.Lock()
	defer s.mu.Unlock()
	found, ok := s.query(w, jql)
	if !ok {
		return
	}
	list := []map[string]any{}
	for i := start; i < len(found) && i < start+max; i++ {
		list = append(list, s.issueJSON(found[i], fs))
	}
	res := map[string]any{"issues": list, "isLast": start+max >= len(found)}
	if start+max < len(found) {
		res["nextPageToken"] = strconv.Itoa(start + max)
	}
	writeJSON(w, http.StatusOK, res)
}
