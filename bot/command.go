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
	VerbStart    Verb = "start"
	VerbBump     Verb = "bump"
	VerbNext     Verb = "next"
	VerbStatus   Verb = "status"
	VerbHelp     Verb = "help"
	VerbRollback Verb = "rollback"
	VerbDone     Verb = "done"
	VerbPause    Verb = "pause"
	VerbResume   Verb = "resume"
	VerbAbort    Verb = "abort"
	VerbList     Verb = "list"
	VerbPlan     Verb = "plan"
	VerbApprove  Verb = "approve"
	VerbHealth   Verb = "health"
	// VerbConfirm and VerbCancel answer a confirmation button; they are
	// what the buttons send, and may be typed too.
	VerbConfirm Verb = "confirm"
	VerbCancel  Verb = "cancel"
)

// Command is one parsed `/migrate` command, from Slack or a PR comment.
type Command struct {
	Verb Verb
	// Weight is the new side's target weight for bump; nil otherwise.
	Weight *int64
	// Service is the service the command names, or "" when it names none and
	// the conversation decides.
	Service string
	// Item is the manual item of done.
	Item string
	// Force asks to go past the step-size gate (admins, with a confirmation).
	Force bool
}

// String renders the command back in the grammar, e.g. "bump 25 web-api".
func (c Command) String() string {
	parts := []string{string(c.Verb)}
	if c.Item != "" {
		parts = append(parts, c.Item)
	}
	if c.Weight != nil {
		if c.Verb == VerbRollback {
			parts = append(parts, "to")
		}
		parts = append(parts, strconv.FormatInt(*c.Weight, 10))
	}
	if c.Force {
		parts = append(parts, "--force")
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
	// item: the verb takes a manual item as its first argument.
	item bool
	// rollbackTo: the verb takes an optional "to N".
	rollbackTo bool
	// force: the verb accepts --force.
	force bool
	// noService: the verb never names a service.
	noService bool
	// hidden verbs are not listed by help.
	hidden bool
}

// grammar lists the verbs in the order help shows them.
var grammar = []verbSpec{
	{verb: VerbStart, usage: "/migrate start <service>", summary: "run the preflight checks and start migrating: posts the plan; its thread is the migration's conversation", serviceRequired: true},
	{verb: VerbNext, usage: "/migrate next [service]", summary: "open the PR for the playbook's next step", force: true},
	{verb: VerbBump, usage: "/migrate bump <0-100> [--force] [service]", summary: "open a PR setting the new side's weight to that percentage", weight: true, force: true},
	{verb: VerbDone, usage: "/migrate done <item> [service]", summary: "confirm a manual checklist item, e.g. `done deployed`", item: true},
	{verb: VerbRollback, usage: "/migrate rollback [to <0-100>] [service]", summary: "at once, an urgent PR sending traffic back to the old side (or down to the weight given)", rollbackTo: true},
	{verb: VerbPause, usage: "/migrate pause [service]", summary: "hold the migration: no step starts until resume"},
	{verb: VerbResume, usage: "/migrate resume [service]", summary: "let a paused migration go on"},
	{verb: VerbAbort, usage: "/migrate abort [service]", summary: "close open PRs, open PRs reverting what merged, and unfreeze the service"},
	{verb: VerbApprove, usage: "/migrate approve [service]", summary: "approve the open PR's change as a change approver (its ticket moves to approved; GitHub still needs a review to merge)"},
	{verb: VerbHealth, usage: "/migrate health [service]", summary: "measure both sides' health now and post the summary in the thread (it moves the health gate)"},
	{verb: VerbStatus, usage: "/migrate status [service]", summary: "the steps, the weights, the open PR and the last health verdict"},
	{verb: VerbPlan, usage: "/migrate plan [service]", summary: "the diffs of the remaining steps, opening nothing"},
	{verb: VerbList, usage: "/migrate list", summary: "the active migrations", noService: true},
	{verb: VerbHelp, usage: "/migrate help [verb]", summary: "show this help"},

	{verb: VerbConfirm, usage: "/migrate confirm [service]", summary: "confirm the action you were asked to confirm", hidden: true},
	{verb: VerbCancel, usage: "/migrate cancel [service]", summary: "cancel the action you were asked to confirm", hidden: true},
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
	return "Usage: /migrate <start|next|bump|done|rollback|pause|resume|abort|approve|health|status|plan|list|help> [args] [service] — try /migrate help"
}

// HelpText is the whole grammar, as /migrate help shows it.
func HelpText() string {
	var b strings.Builder
	b.WriteString("*migratebot* moves a service to its new platform by weighted DNS, one reviewed PR at a time.\n")
	for _, s := range grammar {
		if !s.hidden {
			fmt.Fprintf(&b, "• `%s` — %s\n", s.usage, s.summary)
		}
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
	if spec.verb == VerbHelp {
		// help takes an optional verb and ignores the rest: asking for help is never wrong.
		return cmd, nil
	}
	var args []string
	for _, w := range words[1:] {
		if w == "--force" {
			if !spec.force {
				return Command{}, &UsageError{Problem: fmt.Sprintf("%s does not take --force.", spec.verb), Usage: Usage(spec.verb)}
			}
			cmd.Force = true
			continue
		}
		if strings.HasPrefix(w, "--") {
			return Command{}, &UsageError{Problem: fmt.Sprintf("%q is not an option of %s.", w, spec.verb), Usage: Usage(spec.verb)}
		}
		args = append(args, w)
	}
	usage := func(format string, a ...any) error {
		return &UsageError{Problem: fmt.Sprintf(format, a...), Usage: Usage(spec.verb)}
	}
	switch {
	case spec.weight:
		if len(args) == 0 {
			return Command{}, usage("bump needs the new side's weight, a percentage from 0 to 100.")
		}
		w, err := parseWeight(args[0])
		if err != nil {
			return Command{}, usage("%s", err.Error())
		}
		cmd.Weight = &w
		args = args[1:]
	case spec.item:
		if len(args) == 0 {
			return Command{}, usage("done needs the checklist item, e.g. `/migrate done deployed`.")
		}
		if !ValidServiceName(args[0]) {
			return Command{}, usage("%q is not a checklist item.", args[0])
		}
		cmd.Item = args[0]
		args = args[1:]
	case spec.rollbackTo && len(args) > 0 && args[0] == "to":
		if len(args) < 2 {
			return Command{}, usage("rollback to needs a weight, e.g. `/migrate rollback to 10`.")
		}
		w, err := parseWeight(args[1])
		if err != nil {
			return Command{}, usage("%s", err.Error())
		}
		cmd.Weight = &w
		args = args[2:]
	case spec.rollbackTo && len(args) > 0:
		if _, err := strconv.ParseInt(strings.TrimSuffix(args[0], "%"), 10, 64); err == nil {
			return Command{}, usage("say `rollback to %s`: a bare number could be misread.", args[0])
		}
	}
	switch len(args) {
	case 0:
		if spec.serviceRequired {
			return Command{}, usage("%s needs the name of the service.", spec.verb)
		}
	case 1:
		if spec.noService {
			return Command{}, usage("%s takes no service.", spec.verb)
		}
		if !ValidServiceName(args[0]) {
			return Command{}, usage("%q is not a service name.", args[0])
		}
		cmd.Service = args[0]
	default:
		return Command{}, usage("too many words: %q.", strings.Join(args, " "))
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
