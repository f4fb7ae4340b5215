package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/templates"
)

// runPlan prints the diff a step would make on a local checkout, with no
// GitHub at all.
func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("plan", flag.ContinueOnError)
	flags.SetOutput(stderr)
	cfgPath := flags.String("config", "", "config file (YAML)")
	service := flags.String("service", "", "the service")
	step := flags.String("step", "", "dns-source, point-traffic, ttl, decommission, bump:N or rollback:N")
	repo := flags.String("repo", ".", "a local checkout of the repo the step writes (the env-config repo, or the proxy repo for point-traffic in proxy mode)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *cfgPath == "" || *service == "" || *step == "" || flags.NArg() > 0 {
		return errors.New("plan needs --config, --service and --step\n" + usage)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	tmpl, err := templates.Parse()
	if err != nil {
		return err
	}
	root, err := filepath.Abs(*repo)
	if err != nil {
		return err
	}
	read := func(_ context.Context, _ string, path string) ([]byte, bool, error) {
		clean := filepath.Clean(filepath.FromSlash(path))
		if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
			return nil, false, fmt.Errorf("%q is outside the checkout", path)
		}
		b, err := os.ReadFile(filepath.Join(root, clean))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return b, err == nil, err
	}
	plan, err := bot.PlanStep(ctx, cfg, tmpl, *service, *step, read)
	if err != nil {
		return fmt.Errorf("plan %s for %s: %w", *step, *service, err)
	}
	diff := plan.Diff()
	if diff == "" {
		fmt.Fprintln(stderr, "the step changes nothing")
		return nil
	}
	_, err = io.WriteString(stdout, diff)
	return err
}
