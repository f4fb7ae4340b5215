package app

import (
	"crypto/tls"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/config"
)

// OpenRedis connects to Redis as the config says: one server by url (the
// REDIS_URL environment variable, passed as url, wins), Sentinel, or
// Cluster, all through go-redis's UniversalClient. Every key of one
// migration shares a hash tag, and the queue's keys another, so Cluster
// works.
func OpenRedis(cfg config.RedisConfig, url, password string) (goredis.UniversalClient, error) {
	if url == "" {
		url = cfg.URL
	}
	var tlsConfig *tls.Config
	if cfg.TLS {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch {
	case cfg.Cluster:
		return goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cfg.Addrs, Password: password, TLSConfig: tlsConfig}), nil
	case cfg.MasterName != "":
		return goredis.NewFailoverClient(&goredis.FailoverOptions{
			MasterName: cfg.MasterName, SentinelAddrs: cfg.Addrs, Password: password, TLSConfig: tlsConfig,
		}), nil
	case url == "":
		return nil, errors.New("no Redis: set redis.url (or REDIS_URL), or redis.master_name and addrs for Sentinel, or redis.cluster and addrs")
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	if password != "" && opt.Password == "" {
		opt.Password = password
	}
	if cfg.TLS && opt.TLSConfig == nil {
		opt.TLSConfig = tlsConfig
	}
	return goredis.NewClient(opt), nil
}
