package bot

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Verb is the first word of a command: what the user wants done.
type Verb string

// The verbs migratebot understands.
const (
	VerbStart  Verb = "start"
	VerbBump   Verb = "bump"
	VerbNext   Verb = "next"
	VerbStatus Verb = "status"
	VerbHelp   Verb = "help"
)

// Command is one parsed `/migrate` command, from Slack or a PR comment.
type Command struct {
	Verb Verb
	// Weight is the new side's target weight for bump; nil otherwise.
	Weight *int64
	// Service is the service the command names, or "" when it names none and
	// the conversation decides.
	Service string
}

// String renders the command back in the grammar, e.g. "bump 25 web-api".
func (c Command) String() string {
	parts := []string{string(c.Verb)}
	if c.Weight != nil {
		parts = append(parts, strconv.FormatInt(*c.Weight, 10))
	}
	if c.Service != "" {
		parts = append(parts, c.Service)
	}
	return strings.Join(parts, " ")
}

// verbSpec is one line of the grammar.
type verbSpec struct {
	verb    Verb
	usage   string
	summary string
	// weight: the verb takes a weight as its first argument.
	weight bool
	// serviceRequired: the verb needs a service even with a conversation.
	serviceRequired bool
}

// grammar lists the verbs in the order help shows them.
var grammar = []verbSpec{
	{verb: VerbStart, usage: "/migrate start <service>", summary: "start migrating a service: posts the plan; its thread is the migration's conversation", serviceRequired: true},
	{verb: VerbNext, usage: "/migrate next [service]", summary: "open the PR for the next step of the playbook"},
	{verb: VerbBump, usage: "/migrate bump <0-100> [service]", summary: "open a PR setting the new side's weight to that percentage", weight: true},
	{verb: VerbStatus, usage: "/migrate status [service]", summary: "show the step, the weights and the open PR"},
	{verb: VerbHelp, usage: "/migrate help [verb]", summary: "show this help"},
}

func lookupVerb(word string) (verbSpec, bool) {
	for _, s := range grammar {
		if string(s.verb) == word {
			return s, true
		}
	}
	return verbSpec{}, false
}

// Usage returns the usage line of a verb, or the general one.
func Usage(v Verb) string {
	if s, ok := lookupVerb(string(v)); ok {
		return "Usage: " + s.usage
	}
	return "Usage: /migrate <start|next|bump|status|help> [args] [service] — try /migrate help"
}

// HelpText is the whole grammar, as /migrate help shows it.
func HelpText() string {
	var b strings.Builder
	b.WriteString("*migratebot* moves a service to its new platform by weighted DNS, one reviewed PR at a time.\n")
	for _, s := range grammar {
		fmt.Fprintf(&b, "• `%s` — %s\n", s.usage, s.summary)
	}
	b.WriteString("Any command may name the service as its last word; without it, the command applies to the migration you last worked on in this channel.")
	return b.String()
}

// UsageError is bad input: what was wrong and the usage line. Nothing was
// changed when one is returned.
type UsageError struct {
	Problem string
	Usage   string
}

func (e *UsageError) Error() string { return e.Problem + "\n" + e.Usage }

var serviceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

// ValidServiceName reports whether s has the shape of a service name.
func ValidServiceName(s string) bool { return serviceName.MatchString(s) }

// ParseCommand parses the text after `/migrate` (a leading "/migrate" is
// accepted too, as PR comments carry it). An empty text is help.
func ParseCommand(text string) (Command, error) {
	words := strings.Fields(text)
	if len(words) > 0 && words[0] == "/migrate" {
		words = words[1:]
	}
	if len(words) == 0 {
		return Command{Verb: VerbHelp}, nil
	}
	word := strings.ToLower(words[0])
	spec, ok := lookupVerb(word)
	if !ok {
		return Command{}, &UsageError{Problem: fmt.Sprintf("%q is not a migratebot command.", words[0]), Usage: Usage("")}
	}
	cmd := Command{Verb: spec.verb}
	args := words[1:]
	if spec.verb == VerbHelp {
		// help takes an optional verb and ignores the rest: asking for help is never wrong.
		return cmd, nil
	}
	if spec.weight {
		if len(args) == 0 {
			return Command{}, &UsageError{Problem: "bump needs the new side's weight, a percentage from 0 to 100.", Usage: Usage(spec.verb)}
		}
		w, err := parseWeight(args[0])
		if err != nil {
			return Command{}, &UsageError{Problem: err.Error(), Usage: Usage(spec.verb)}
		}
		cmd.Weight = &w
		args = args[1:]
	}
	switch len(args) {
	case 0:
		if spec.serviceRequired {
			return Command{}, &UsageError{Problem: fmt.Sprintf("%s needs the name of the service.", spec.verb), Usage: Usage(spec.verb)}
		}
	case 1:
		if !ValidServiceName(args[0]) {
			return Command{}, &UsageError{Problem: fmt.Sprintf("%q is not a service name.", args[0]), Usage: Usage(spec.verb)}
		}
		cmd.Service = args[0]
	default:
		return Command{}, &UsageError{Problem: fmt.Sprintf("too many words: %q.", strings.Join(args, " ")), Usage: Usage(spec.verb)}
	}
	return cmd, nil
}

// parseWeight reads a percentage: "25" or "25%".
func parseWeight(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSuffix(s, "%"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a weight: give a whole percentage from 0 to 100.", s)
	}
	if n < 0 || n > 100 {
		return 0, fmt.Errorf("%d is out of range: a weight is a percentage from 0 to 100.", n)
	}
	return n, nil
}
