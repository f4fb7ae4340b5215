package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The kinds of playbook step.
const (
	StepPreflight    = "preflight"
	StepDNSSource    = "dns-source"
	StepPointTraffic = "point-traffic"
	StepManual       = "manual"
	StepWeights      = "weights"
	StepDecommission = "decommission"
)

// Playbook is the ordered steps of a migration.
type Playbook struct {
	Steps []StepSpec `yaml:"steps"`
}

// StepSpec is one entry of a playbook. In YAML it is either a bare kind
// ("preflight", "dns-source", "point-traffic") or a mapping:
//
//   - manual: deployed
//     text: Deployed on the new platform, production checklist approved
//   - weights: [10, 25, 50, 75, 100]
//   - decommission: 336h        # soak at 100 before the old side may go
//     irreversible: true
type StepSpec struct {
	Kind string
	// Item and Text: a manual step's name (for /migrate done <item>) and
	// what a person confirms.
	Item, Text string
	// Weights: a weights step's targets for the new side, rising to 100.
	Weights []int64
	// Soak: how long the service soaks at 100 before decommission.
	Soak Duration
	// Irreversible steps need a confirmation button, and a migration past
	// one cannot be aborted.
	Irreversible bool
}

// UnmarshalYAML reads the short and the long forms.
func (s *StepSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		s.Kind = n.Value
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a step is a name or a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		var err error
		switch k {
		case StepPreflight, StepDNSSource, StepPointTraffic:
			s.Kind = k
		case StepManual:
			s.Kind, err = k, v.Decode(&s.Item)
		case StepWeights:
			s.Kind, err = k, v.Decode(&s.Weights)
		case StepDecommission:
			s.Kind, err = k, v.Decode(&s.Soak)
		case "text":
			err = v.Decode(&s.Text)
		case "irreversible":
			err = v.Decode(&s.Irreversible)
		default:
			return fmt.Errorf("line %d: field %s not found in a step", v.Line, k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// MarshalYAML writes the forms UnmarshalYAML reads (a bare kind, or a
// mapping keyed by the kind), so a written config parses back the same.
func (s StepSpec) MarshalYAML() (any, error) {
	simple := s.Kind == StepPreflight || s.Kind == StepDNSSource || s.Kind == StepPointTraffic
	if simple && s.Text == "" && !s.Irreversible {
		return s.Kind, nil
	}
	var value any
	switch s.Kind {
	case StepManual:
		value = s.Item
	case StepWeights:
		value = s.Weights
	case StepDecommission:
		value = s.Soak
	default:
		if !simple {
			return s.Kind, nil // not a step: Validate says so
		}
	}
	n := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, v any) error {
		var val yaml.Node
		if err := val.Encode(v); err != nil {
			return fmt.Errorf("step %s: %s: %w", s.Kind, key, err)
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &val)
		return nil
	}
	if err := add(s.Kind, value); err != nil {
		return nil, err
	}
	if s.Text != "" {
		if err := add("text", s.Text); err != nil {
			return nil, err
		}
	}
	if s.Irreversible {
		if err := add("irreversible", true); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// DefaultPlaybook is the five phases of DESIGN.md.
func DefaultPlaybook() Playbook {
	return Playbook{Steps: []StepSpec{
		{Kind: StepPreflight},
		{Kind: StepDNSSource},
		{Kind: StepPointTraffic},
		{Kind: StepManual, Item: "deployed", Text: "Deployed on the new platform, production checklist approved"},
		{Kind: StepWeights, Weights: slices.Clone(DefaultWeights)},
		{Kind: StepDecommission, Soak: Duration(14 * 24 * time.Hour), Irreversible: true},
	}}
}

func (p Playbook) validate(field string, bad func(string, string, ...any)) {
	if len(p.Steps) == 0 {
		bad(field+".steps", "a playbook needs steps")
		return
	}
	seen := map[string]bool{}
	weightsAt := -1
	for i, s := range p.Steps {
		f := fmt.Sprintf("%s.steps[%d]", field, i)
		switch s.Kind {
		case StepPreflight:
			if i != 0 {
				bad(f, "preflight must be the first step")
			}
		case StepDNSSource, StepPointTraffic:
			if weightsAt >= 0 {
				bad(f, "%s must come before the weights", s.Kind)
			}
		case StepManual:
			if s.Item == "" || strings.ContainsAny(s.Item, " \t") {
				bad(f+".manual", "%q is not an item name (one word, for /migrate done <item>)", s.Item)
			}
			if seen["manual:"+s.Item] {
				bad(f+".manual", "%q twice", s.Item)
			}
			seen["manual:"+s.Item] = true
			continue
		case StepWeights:
			weightsAt = i
			prev := int64(0)
			for j, w := range s.Weights {
				if w < 1 || w > 100 {
					bad(f+".weights", "%d is not a weight from 1 to 100", w)
				}
				if w <= prev {
					bad(f+".weights", "must rise: %d follows %d", w, prev)
				}
				prev = w
				if j == len(s.Weights)-1 && w != 100 {
					bad(f+".weights", "must end at 100, not %d", w)
				}
			}
			if len(s.Weights) == 0 {
				bad(f+".weights", "needs at least one target")
			}
		case StepDecommission:
			if weightsAt < 0 {
				bad(f, "decommission must come after the weights")
			}
			if i != len(p.Steps)-1 {
				bad(f, "decommission must be the last step")
			}
			if s.Soak < 0 {
				bad(f+".decommission", "the soak must not be negative")
			}
		default:
			bad(f, "%q is not a step (preflight, dns-source, point-traffic, manual, weights, decommission)", s.Kind)
			continue
		}
		if seen[s.Kind] {
			bad(f, "%s appears twice", s.Kind)
		}
		seen[s.Kind] = true
	}
	if weightsAt < 0 {
		bad(field+".steps", "a playbook needs a weights step")
	}
}

// Has reports whether the playbook has a step of that kind.
func (p Playbook) Has(kind string) bool {
	return slices.ContainsFunc(p.Steps, func(s StepSpec) bool { return s.Kind == kind })
}

// ChangeWindow is a weekly window in which weight steps may start.
type ChangeWindow struct {
	Days  []string `yaml:"days"`  // mon … sun
	Start string   `yaml:"start"` // "09:00"
	End   string   `yaml:"end"`   // "17:00", after Start
}

// Freeze is a period in which no weight step may start.
type Freeze struct {
	From   time.Time `yaml:"from"`
	To     time.Time `yaml:"to"`
	Reason string    `yaml:"reason"`
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func clockMinutes(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// Contains reports whether t (in loc) falls in the window.
func (w ChangeWindow) Contains(t time.Time, loc *time.Location) bool {
	t = t.In(loc)
	start, _ := clockMinutes(w.Start)
	end, _ := clockMinutes(w.End)
	m := t.Hour()*60 + t.Minute()
	return slices.ContainsFunc(w.Days, func(d string) bool { return weekdays[strings.ToLower(d)] == t.Weekday() }) && m >= start && m < end
}

// NextOpen returns the first time at or after t when some window is open,
// searching a fortnight ahead; false if none opens.
func NextOpen(windows []ChangeWindow, t time.Time, loc *time.Location) (time.Time, bool) {
	t = t.Truncate(time.Minute)
	for i := 0; i < 14*24*60; i++ {
		c := t.Add(time.Duration(i) * time.Minute)
		for _, w := range windows {
			if w.Contains(c, loc) {
				return c, true
			}
		}
	}
	return time.Time{}, false
}

func validateWindows(field string, ws []ChangeWindow, bad func(string, string, ...any)) {
	for i, w := range ws {
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(w.Days) == 0 {
			bad(f+".days", "needs at least one day")
		}
		for _, d := range w.Days {
			if _, ok := weekdays[strings.ToLower(d)]; !ok {
				bad(f+".days", "%q is not a day (mon … sun)", d)
			}
		}
		s, ok1 := clockMinutes(w.Start)
		e, ok2 := clockMinutes(w.End)
		if !ok1 {
			bad(f+".start", "%q is not a time like 09:00", w.Start)
		}
		if !ok2 {
			bad(f+".end", "%q is not a time like 17:00", w.End)
		}
		if ok1 && ok2 && e <= s {
			bad(f+".end", "must be after start")
		}
	}
}
