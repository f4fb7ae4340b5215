package servicenowemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// defaultLimit is how many records a list answers when sysparm_limit is not
// given, as ServiceNow's default.
const defaultLimit = 10000

// Change request state values.
const (
	stateNew       = "-5"
	stateClosed    = "3"
	stateCancelled = "4"
)

// knownStates are change_request's state choices.
var knownStates = map[string]bool{
	"-5": true, "-4": true, "-3": true, "-2": true, "-1": true, "0": true, stateClosed: true, stateCancelled: true,
}

// maxLengths are the max lengths of the string fields a client is likely to
// overflow; a longer value is cut, as ServiceNow cuts it.
var maxLengths = map[string]int{"correlation_id": 100, "correlation_display": 100, "short_description": 160}

// journalFields are written as journal entries, never stored as values.
var journalFields = map[string]bool{"work_notes": true, "comments": true}

// dateTimeFields must hold a glide_date_time's internal value.
var dateTimeFields = []string{"start_date", "end_date", "work_start", "work_end"}

// createDefaults are the values a new change gets for fields the request
// leaves out, as a base instance's dictionary defaults give them.
var createDefaults = map[string]string{
	"type":                "normal",
	"active":              "true",
	"approval":            "not requested",
	"phase":               "requested",
	"priority":            "4",
	"risk":                "3",
	"impact":              "3",
	"urgency":             "3",
	"sys_class_name":      "change_request",
	"short_description":   "",
	"description":         "",
	"correlation_id":      "",
	"correlation_display": "",
	"assignment_group":    "",
	"start_date":          "",
	"end_date":            "",
	"close_code":          "",
	"close_notes":         "",
	"work_notes":          "",
	"comments":            "",
}

// apiError is a refusal in ServiceNow's error shape.
type apiError struct {
	status          int
	message, detail string
}

func writeError(w http.ResponseWriter, status int, message, detail string) {
	writeJSON(w, status, map[string]any{
		"error":  map[string]string{"message": message, "detail": detail},
		"status": "failure",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// route serves an authenticated call.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, tablePrefix)
	if !ok {
		writeError(w, http.StatusNotFound, "Requested URI does not represent any resource", r.URL.Path)
		return
	}
	table, id, _ := strings.Cut(rest, "/")
	if table != changeTable {
		writeError(w, http.StatusNotFound, "Invalid table "+table, "")
		return
	}
	if strings.Contains(id, "/") {
		writeError(w, http.StatusNotFound, "Requested URI does not represent any resource", r.URL.Path)
		return
	}
	if !acceptsJSON(r.Header.Get("Accept")) {
		writeError(w, http.StatusNotAcceptable, "Not Acceptable", "This service only answers application/json")
		return
	}
	q := r.URL.Query()
	fields := parseFields(q.Get("sysparm_fields"))
	var err *apiError
	switch {
	case id == "" && r.Method == http.MethodGet:
		err = s.list(w, q.Get("sysparm_query"), q.Get("sysparm_limit"), q.Get("sysparm_offset"), fields)
	case id == "" && r.Method == http.MethodPost:
		var body map[string]string
		if body, err = readBody(r); err == nil {
			err = s.create(w, body, fields)
		}
	case id != "" && r.Method == http.MethodGet:
		err = s.get(w, id, fields)
	case id != "" && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		var body map[string]string
		if body, err = readBody(r); err == nil {
			err = s.update(w, id, body, fields)
		}
	default:
		err = &apiError{http.StatusMethodNotAllowed, "Method not Supported", r.Method + " is not supported here"}
	}
	if err != nil {
		writeError(w, err.status, err.message, err.detail)
	}
}

// acceptsJSON says whether an Accept header allows a JSON answer.
func acceptsJSON(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/json", "application/*", "*/*":
			return true
		}
	}
	return false
}

// readBody reads a JSON object of field values, each turned into the string
// ServiceNow would store.
func readBody(r *http.Request) (map[string]string, *apiError) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, &apiError{http.StatusUnsupportedMediaType, "Unsupported Media Type", "Content-Type must be application/json"}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(b) > maxBody {
		return nil, &apiError{http.StatusBadRequest, "Exception while reading request", "The request body could not be read or is too large"}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || raw == nil || dec.More() {
		return nil, &apiError{http.StatusBadRequest, "Exception while reading request", "The payload is not valid JSON."}
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		case bool:
			out[k] = strconv.FormatBool(v)
		case nil:
			out[k] = ""
		default:
			return nil, &apiError{http.StatusBadRequest, "Exception while reading request", fmt.Sprintf("Field %q must be a string, number or boolean", k)}
		}
	}
	return out, nil
}

// parseFields reads sysparm_fields; nil means every field.
func parseFields(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// view is a record's fields as an answer shows them.
func view(rec *record, fields []string) map[string]string {
	if fields == nil {
		out := make(map[string]string, len(rec.fields))
		for k, v := range rec.fields {
			out[k] = v
		}
		return out
	}
	out := make(map[string]string, len(fields))
	for _, f := range fields {
		out[f] = rec.fields[f]
	}
	return out
}

// list answers GET on the table.
func (s *Server) list(w http.ResponseWriter, query, limitParam, offsetParam string, fields []string) *apiError {
	terms, orders, err := parseQuery(query)
	if err != nil {
		return &apiError{http.StatusBadRequest, "Invalid query", err.Error()}
	}
	limit, offset := defaultLimit, 0
	if limitParam != "" {
		n, err := strconv.Atoi(limitParam)
		if err != nil || n <= 0 {
			return &apiError{http.StatusBadRequest, "Invalid sysparm_limit", fmt.Sprintf("%q is not a positive number", limitParam)}
		}
		limit = n
	}
	if offsetParam != "" {
		n, err := strconv.Atoi(offsetParam)
		if err != nil || n < 0 {
			return &apiError{http.StatusBadRequest, "Invalid sysparm_offset", fmt.Sprintf("%q is not a number", offsetParam)}
		}
		offset = n
	}

	s.mu.Lock()
	var matched []*record
	for _, rec := range s.changes {
		if matches(rec, terms) {
			matched = append(matched, rec)
		}
	}
	for i := len(orders) - 1; i >= 0; i-- {
		o := orders[i]
		slices.SortStableFunc(matched, func(a, b *record) int {
			c := strings.Compare(strings.ToLower(a.fields[o.field]), strings.ToLower(b.fields[o.field]))
			if o.desc {
				c = -c
			}
			return c
		})
	}
	total := len(matched)
	matched = matched[min(offset, total):]
	matched = matched[:min(limit, len(matched))]
	result := make([]map[string]string, 0, len(matched))
	for _, rec := range matched {
		result = append(result, view(rec, fields))
	}
	s.mu.Unlock()

	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, map[string]any{"result": result})
	return nil
}

// term is one condition of an encoded query.
type term struct {
	field string
	not   bool // != rather than =
	value string
}

// order is an ORDERBY term.
type order struct {
	field string
	desc  bool
}

// parseQuery reads an encoded query: terms joined by ^ (AND).
func parseQuery(q string) ([]term, []order, error) {
	if q == "" {
		return nil, nil, nil
	}
	parts := strings.Split(q, "^")
	if len(parts) > 1 && parts[len(parts)-1] == "EQ" {
		parts = parts[:len(parts)-1]
	}
	var terms []term
	var orders []order
	for _, p := range parts {
		switch {
		case p == "":
			return nil, nil, fmt.Errorf("empty condition in %q", q)
		case strings.HasPrefix(p, "ORDERBYDESC"):
			f := strings.TrimPrefix(p, "ORDERBYDESC")
			if !isFieldName(f) {
				return nil, nil, fmt.Errorf("cannot order by %q", f)
			}
			orders = append(orders, order{field: f, desc: true})
			continue
		case strings.HasPrefix(p, "ORDERBY"):
			f := strings.TrimPrefix(p, "ORDERBY")
			if !isFieldName(f) {
				return nil, nil, fmt.Errorf("cannot order by %q", f)
			}
			orders = append(orders, order{field: f})
			continue
		case strings.HasPrefix(p, "OR"), strings.HasPrefix(p, "NQ"):
			return nil, nil, fmt.Errorf("the emulator does not support ^OR or ^NQ: %q", p)
		}
		i := 0
		for i < len(p) && isFieldByte(p[i]) {
			i++
		}
		field, rest := p[:i], p[i:]
		var t term
		switch {
		case field == "":
			return nil, nil, fmt.Errorf("condition %q names no field", p)
		case strings.HasPrefix(rest, "!="):
			t = term{field: field, not: true, value: rest[2:]}
		case strings.HasPrefix(rest, "="):
			t = term{field: field, value: rest[1:]}
		default:
			return nil, nil, fmt.Errorf("condition %q: the emulator supports only = and !=", p)
		}
		terms = append(terms, t)
	}
	return terms, orders, nil
}

func isFieldByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}

func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isFieldByte(s[i]) {
			return false
		}
	}
	return true
}

// matches says whether a record meets every term; values compare ignoring
// case, as ServiceNow's string comparisons do.
func matches(rec *record, terms []term) bool {
	for _, t := range terms {
		if strings.EqualFold(rec.fields[t.field], t.value) == t.not {
			return false
		}
	}
	return true
}

// get answers GET on one record.
func (s *Server) get(w http.ResponseWriter, id string, fields []string) *apiError {
	s.mu.Lock()
	rec, ok := s.bySysID[id]
	var result map[string]string
	if ok {
		result = view(rec, fields)
	}
	s.mu.Unlock()
	if !ok {
		return errNoRecord
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": result})
	return nil
}

var errNoRecord = &apiError{http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"}

// settable drops the fields a client cannot write (the system fields and
// the number) and cuts values longer than their field.
func settable(body map[string]string) map[string]string {
	out := make(map[string]string, len(body))
	for k, v := range body {
		if strings.HasPrefix(k, "sys_") || k == "number" {
			continue
		}
		if n, ok := maxLengths[k]; ok && utf8.RuneCountInString(v) > n {
			v = string([]rune(v)[:n])
		}
		out[k] = v
	}
	return out
}

// create answers POST on the table.
func (s *Server) create(w http.ResponseWriter, body map[string]string, fields []string) *apiError {
	body = settable(body)
	rec := &record{fields: map[string]string{}}
	for k, v := range createDefaults {
		rec.fields[k] = v
	}
	rec.fields["state"] = stateNew
	if err := s.apply(rec, body, true); err != nil {
		return err
	}

	s.mu.Lock()
	ts := now()
	id := newSysID()
	rec.fields["sys_id"] = id
	rec.fields["number"] = numberOf(s.next)
	s.next++
	rec.fields["sys_created_on"], rec.fields["sys_updated_on"] = ts, ts
	rec.fields["sys_created_by"], rec.fields["sys_updated_by"] = s.opts.Username, s.opts.Username
	rec.fields["opened_at"], rec.fields["opened_by"] = ts, s.opts.Username
	rec.fields["sys_mod_count"] = "0"
	if rec.fields["state"] == stateClosed {
		rec.fields["closed_at"], rec.fields["closed_by"] = ts, s.opts.Username
	}
	s.changes = append(s.changes, rec)
	s.bySysID[id] = rec
	result := view(rec, fields)
	s.mu.Unlock()

	w.Header().Set("Location", s.URL()+tablePrefix+changeTable+"/"+id)
	writeJSON(w, http.StatusCreated, map[string]any{"result": result})
	return nil
}

// update answers PATCH and PUT on one record.
func (s *Server) update(w http.ResponseWriter, id string, body map[string]string, fields []string) *apiError {
	body = settable(body)
	s.mu.Lock()
	rec, ok := s.bySysID[id]
	if !ok {
		s.mu.Unlock()
		return errNoRecord
	}
	// apply validates before it changes anything.
	if err := s.apply(rec, body, false); err != nil {
		s.mu.Unlock()
		return err
	}
	result := view(rec, fields)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"result": result})
	return nil
}

// apply validates body against rec's current values and, if it passes,
// writes it: values into fields, journal fields as entries. On update it
// bumps sys_mod_count and sys_updated_on when anything changed. A new
// record's fields are not yet shared, so apply needs mu held only on update.
func (s *Server) apply(rec *record, body map[string]string, creating bool) *apiError {
	oldState := rec.fields["state"]
	newState := oldState
	if v, ok := body["state"]; ok {
		newState = v
	}
	changed := false
	for k, v := range body {
		if !journalFields[k] && rec.fields[k] != v {
			changed = true
		}
	}
	final := oldState == stateClosed || oldState == stateCancelled
	switch {
	case !creating && final && changed:
		return &apiError{http.StatusForbidden, "Operation Failed",
			fmt.Sprintf("Operation against file '%s' was aborted by Business Rule 'State model - Can change state?^%s'. Business Rule Stack:State model - Can change state?. A %s change cannot be changed.",
				changeTable, rec.fields["sys_id"], map[string]string{stateClosed: "closed", stateCancelled: "canceled"}[oldState])}
	case !knownStates[newState]:
		return &apiError{http.StatusForbidden, "Operation Failed",
			fmt.Sprintf("Operation against file '%s' was aborted by Business Rule 'State model - Can change state?'. Business Rule Stack:State model - Can change state?. %q is not a change_request state.", changeTable, newState)}
	}
	if newState == stateClosed && newState != oldState {
		var missing []string
		for _, f := range []string{"close_code", "close_notes"} {
			v, ok := body[f]
			if !ok {
				v = rec.fields[f]
			}
			if strings.TrimSpace(v) == "" {
				missing = append(missing, map[string]string{"close_code": "Close code", "close_notes": "Close notes"}[f])
			}
		}
		if len(missing) > 0 {
			return &apiError{http.StatusForbidden, "Operation Failed",
				"Data Policy Exception: \n\tThe following fields are mandatory: " + strings.Join(missing, ", ")}
		}
	}
	for _, f := range dateTimeFields {
		if v, ok := body[f]; ok && v != "" {
			if _, err := time.Parse(dateTimeLayout, v); err != nil {
				return &apiError{http.StatusBadRequest, "Invalid date-time value",
					fmt.Sprintf("%s %q is not YYYY-MM-DD HH:MM:SS", f, v)}
			}
		}
	}

	journaled := false
	for k, v := range body {
		switch {
		case k == "work_notes" && strings.TrimSpace(v) != "":
			rec.workNotes = append(rec.workNotes, v)
			journaled = true
		case k == "comments" && strings.TrimSpace(v) != "":
			rec.comments = append(rec.comments, v)
			journaled = true
		case journalFields[k]:
		default:
			rec.fields[k] = v
		}
	}
	if creating || newState != oldState {
		rec.states = append(rec.states, newState)
	}
	if newState == stateClosed || newState == stateCancelled {
		rec.fields["active"] = "false"
	} else {
		rec.fields["active"] = "true"
	}
	if !creating && (changed || journaled) {
		ts := now()
		rec.fields["sys_updated_on"], rec.fields["sys_updated_by"] = ts, s.opts.Username
		n, _ := strconv.Atoi(rec.fields["sys_mod_count"])
		rec.fields["sys_mod_count"] = strconv.Itoa(n + 1)
		if newState == stateClosed && oldState != stateClosed {
			rec.fields["closed_at"], rec.fields["closed_by"] = ts, s.opts.Username
		}
	}
	return nil
}
