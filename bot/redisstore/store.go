// Package redisstore keeps migratebot's state in Redis: migrations with
// versioned saves, per-migration locks, the indexes that find a migration
// from a PR, a Slack thread or a user's conversation, webhook delivery ids,
// and the job queue (queue.go). It works with a single server, Sentinel or
// Cluster through go-redis's UniversalClient: the keys of one migration share
// a hash tag, and no script touches keys of two migrations.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
	segjson "github.com/segmentio/encoding/json"

	"github.com/migratebot/migratebot/bot"
)

// How long the indexes live. A PR or thread older than this is long done.
const (
	indexTTL    = 90 * 24 * time.Hour
	lastUsedTTL = 30 * 24 * time.Hour
	deliveryTTL = 72 * time.Hour
)

// Store is the Redis implementation of bot.Store.
type Store struct {
	rdb    goredis.UniversalClient
	prefix string
}

// New returns a store whose keys start with prefix ("mb" when empty).
func New(rdb goredis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = "mb"
	}
	return &Store{rdb: rdb, prefix: prefix}
}

var _ bot.Store = (*Store)(nil)

// Keys. {env/service} is the hash tag: one migration's keys share a slot.
func (s *Store) migrationKey(k bot.ServiceKey) string {
	return s.prefix + ":{" + k.String() + "}:migration"
}
func (s *Store) historyKey(k bot.ServiceKey) string {
	return s.prefix + ":{" + k.String() + "}:history"
}
func (s *Store) lockKey(k bot.ServiceKey) string { return s.prefix + ":{" + k.String() + "}:lock" }
func (s *Store) activeKey() string               { return s.prefix + ":active" }
func (s *Store) prKey(repo string, n int) string {
	return s.prefix + ":pr:" + repo + "#" + strconv.Itoa(n)
}
func (s *Store) threadKey(t bot.Thread) string { return s.prefix + ":thread:" + t.Channel + ":" + t.TS }
func (s *Store) lastUsedKey(team, channel, user string) string {
	return s.prefix + ":conv:" + team + ":" + channel + ":" + user
}

// createScript stores a new migration unless one is active.
var createScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'data', ARGV[2])
return 1`)

// saveScript writes a migration if its version is the stored one; a
// finished migration moves to the service's history list instead.
var saveScript = goredis.NewScript(`
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[1])
  redis.call('LPUSH', KEYS[2], ARGV[3])
  redis.call('LTRIM', KEYS[2], 0, 99)
else
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'data', ARGV[3])
end
return 1`)

// Create implements bot.Store.
func (s *Store) Create(ctx context.Context, m *bot.Migration) error {
	m.Version = 1
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode migration: %w", err)
	}
	ok, err := createScript.Run(ctx, s.rdb, []string{s.migrationKey(m.Key)}, m.Version, data).Int()
	if err != nil {
		return fmt.Errorf("create migration %s: %w", m.Key, err)
	}
	if ok == 0 {
		return bot.ErrExists
	}
	if err := s.rdb.SAdd(ctx, s.activeKey(), m.Key.String()).Err(); err != nil {
		return fmt.Errorf("list %s as active: %w", m.Key, err)
	}
	return nil
}

// Load implements bot.Store.
func (s *Store) Load(ctx context.Context, key bot.ServiceKey) (*bot.Migration, error) {
	vals, err := s.rdb.HMGet(ctx, s.migrationKey(key), "v", "data").Result()
	if err != nil {
		return nil, fmt.Errorf("load migration %s: %w", key, err)
	}
	return decodeMigration(key, vals)
}

// decodeMigration reads the answer of HMGET v data on a migration's hash:
// ErrNotFound when the hash is gone.
func decodeMigration(key bot.ServiceKey, vals []any) (*bot.Migration, error) {
	data, ok := vals[1].(string)
	if !ok {
		return nil, bot.ErrNotFound
	}
	var m bot.Migration
	if err := unmarshal([]byte(data), &m); err != nil {
		return nil, fmt.Errorf("decode migration %s: %w", key, err)
	}
	return &m, nil
}

// unmarshal decodes a stored migration with segmentio's encoding/json, a
// drop-in for the standard library's that reads a migration in a fraction
// of the time: every job loads one, and the full scans (the migrations
// gauge, /migrate list) load them all. FuzzMigrationDecode holds it to the
// standard library's answers. Migrations are still written with the
// standard library.
func unmarshal(data []byte, m *bot.Migration) error {
	return segjson.Unmarshal(data, m)
}

// loadManyChunk is how many migrations LoadMany asks for in one pipeline:
// enough that 10,000 take ten round trips, few enough that one reply
// (about 7 KB a migration) stays a few megabytes.
const loadManyChunk = 1000

// LoadMany implements bot.Store with one pipeline of HMGETs per
// loadManyChunk keys. It is a pipeline, not a transaction: on Redis Cluster
// go-redis sends each node the commands for its slots, where a MULTI over
// keys of several slots would fail with CROSSSLOT.
func (s *Store) LoadMany(ctx context.Context, keys []bot.ServiceKey) ([]*bot.Migration, error) {
	out := make([]*bot.Migration, 0, len(keys))
	for start := 0; start < len(keys); start += loadManyChunk {
		chunk := keys[start:min(start+loadManyChunk, len(keys))]
		pipe := s.rdb.Pipeline()
		cmds := make([]*goredis.SliceCmd, len(chunk))
		for i, k := range chunk {
			cmds[i] = pipe.HMGet(ctx, s.migrationKey(k), "v", "data")
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("load %d migrations (%s…): %w", len(chunk), chunk[0], err)
		}
		for i, cmd := range cmds {
			m, err := decodeMigration(chunk[i], cmd.Val())
			if errors.Is(err, bot.ErrNotFound) {
				continue // finished since it was listed
			}
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// Save implements bot.Store.
func (s *Store) Save(ctx context.Context, m *bot.Migration) error {
	expected := m.Version
	m.Version++
	data, err := json.Marshal(m)
	if err != nil {
		m.Version = expected
		return fmt.Errorf("encode migration: %w", err)
	}
	archive := "0"
	if m.Status.Finished() {
		archive = "1"
	}
	ok, err := saveScript.Run(ctx, s.rdb, []string{s.migrationKey(m.Key), s.historyKey(m.Key)},
		expected, m.Version, data, archive).Int()
	if err != nil || ok == 0 {
		m.Version = expected
		if err != nil {
			return fmt.Errorf("save migration %s: %w", m.Key, err)
		}
		return fmt.Errorf("save migration %s at version %d: %w", m.Key, expected, bot.ErrConflict)
	}
	if archive == "1" {
		if err := s.rdb.SRem(ctx, s.activeKey(), m.Key.String()).Err(); err != nil {
			return fmt.Errorf("unlist %s: %w", m.Key, err)
		}
	}
	return nil
}

// History returns a service's finished migrations, newest first.
func (s *Store) History(ctx context.Context, key bot.ServiceKey) ([]bot.Migration, error) {
	items, err := s.rdb.LRange(ctx, s.historyKey(key), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", key, err)
	}
	out := make([]bot.Migration, 0, len(items))
	for _, it := range items {
		var m bot.Migration
		if err := unmarshal([]byte(it), &m); err != nil {
			return nil, fmt.Errorf("decode history of %s: %w", key, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Active implements bot.Store.
func (s *Store) Active(ctx context.Context) ([]bot.ServiceKey, error) {
	members, err := s.rdb.SMembers(ctx, s.activeKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list active migrations: %w", err)
	}
	sort.Strings(members)
	keys := make([]bot.ServiceKey, 0, len(members))
	for _, m := range members {
		k, err := bot.ParseServiceKey(m)
		if err != nil {
			return nil, fmt.Errorf("active migrations: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

var unlockScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Lock implements bot.Store with SET NX PX and a random token, released only
// by its holder.
func (s *Store) Lock(ctx context.Context, key bot.ServiceKey, ttl time.Duration) (func(), error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("lock token: %w", err)
	}
	token := hex.EncodeToString(b[:])
	ok, err := s.rdb.SetNX(ctx, s.lockKey(key), token, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	if !ok {
		return nil, bot.ErrLocked
	}
	return func() {
		// Released with a fresh context: the caller's may be cancelled, and
		// a lock left behind would block the migration until its TTL.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		// An error here leaves the lock to expire by its TTL; nothing more to do.
		_ = unlockScript.Run(ctx, s.rdb, []string{s.lockKey(key)}, token).Err()
	}, nil
}

func (s *Store) setIndex(ctx context.Context, k string, key bot.ServiceKey, ttl time.Duration) error {
	return s.rdb.Set(ctx, k, key.String(), ttl).Err()
}

func (s *Store) getIndex(ctx context.Context, k string) (bot.ServiceKey, error) {
	v, err := s.rdb.Get(ctx, k).Result()
	if errors.Is(err, goredis.Nil) {
		return bot.ServiceKey{}, bot.ErrNotFound
	}
	if err != nil {
		return bot.ServiceKey{}, fmt.Errorf("read %s: %w", k, err)
	}
	return bot.ParseServiceKey(v)
}

// IndexPR implements bot.Store.
func (s *Store) IndexPR(ctx context.Context, repo string, n int, key bot.ServiceKey) error {
	return s.setIndex(ctx, s.prKey(repo, n), key, indexTTL)
}

// FindPR implements bot.Store.
func (s *Store) FindPR(ctx context.Context, repo string, n int) (bot.ServiceKey, error) {
	return s.getIndex(ctx, s.prKey(repo, n))
}

// IndexThread implements bot.Store.
func (s *Store) IndexThread(ctx context.Context, t bot.Thread, key bot.ServiceKey) error {
	return s.setIndex(ctx, s.threadKey(t), key, indexTTL)
}

// FindThread implements bot.Store.
func (s *Store) FindThread(ctx context.Context, t bot.Thread) (bot.ServiceKey, error) {
	return s.getIndex(ctx, s.threadKey(t))
}

// SetLastUsed implements bot.Store.
func (s *Store) SetLastUsed(ctx context.Context, team, channel, user string, key bot.ServiceKey) error {
	return s.setIndex(ctx, s.lastUsedKey(team, channel, user), key, lastUsedTTL)
}

// LastUsed implements bot.Store.
func (s *Store) LastUsed(ctx context.Context, team, channel, user string) (bot.ServiceKey, error) {
	return s.getIndex(ctx, s.lastUsedKey(team, channel, user))
}

// Ping reports whether Redis answers: what /readyz asks.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

func (s *Store) prCommentKey(repo string, n int, kind string) string {
	return s.prefix + ":prcomment:" + kind + ":" + repo + "#" + strconv.Itoa(n)
}

// SetPRComment implements bot.Store.
func (s *Store) SetPRComment(ctx context.Context, repo string, n int, kind string, id int64) error {
	return s.rdb.Set(ctx, s.prCommentKey(repo, n, kind), id, indexTTL).Err()
}

// PRComment implements bot.Store; 0 when the bot has not answered there.
func (s *Store) PRComment(ctx context.Context, repo string, n int, kind string) (int64, error) {
	id, err := s.rdb.Get(ctx, s.prCommentKey(repo, n, kind)).Int64()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the bot's comment on %s#%d: %w", repo, n, err)
	}
	return id, nil
}

// UpdateHistory implements bot.Store: it rewrites the archived migration
// with m's id. The caller holds the service's lock.
func (s *Store) UpdateHistory(ctx context.Context, m *bot.Migration) error {
	items, err := s.rdb.LRange(ctx, s.historyKey(m.Key), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("history of %s: %w", m.Key, err)
	}
	for i, it := range items {
		var old struct {
			ID string `json:"id"`
		}
		if json.Unmarshal([]byte(it), &old) == nil && old.ID == m.ID {
			data, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("encode migration: %w", err)
			}
			return s.rdb.LSet(ctx, s.historyKey(m.Key), int64(i), data).Err()
		}
	}
	return fmt.Errorf("migration %s is not in the history of %s: %w", m.ID, m.Key, bot.ErrNotFound)
}
