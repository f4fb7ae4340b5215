package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/migratebot/migratebot/config"
)

// Open builds the bot as `migratebot serve` runs it: the config file at
// path, the secrets and REDIS_URL from getenv, Redis opened. o gives the
// rest (log, replica name, key prefix); its Config, Secrets and Redis are
// filled in. closeRedis closes the Redis client.
func Open(ctx context.Context, path string, getenv func(string) string, o Options) (a *App, closeRedis func() error, err error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	secrets, err := config.LoadSecrets(getenv, cfg.Slack.Mode)
	if err != nil {
		return nil, nil, fmt.Errorf("secrets: %w", err)
	}
	rdb, err := OpenRedis(cfg.Redis, getenv("REDIS_URL"), secrets.RedisPassword)
	if err != nil {
		return nil, nil, err
	}
	o.Config, o.Secrets, o.Redis = cfg, secrets, rdb
	a, err = New(ctx, o)
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return a, rdb.Close, nil
}

// Server is the HTTP server `migratebot serve` listens with: bounded
// header, read and write times, so a slow client cannot hold a connection.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr: addr, Handler: h,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
	}
}
