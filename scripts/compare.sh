#!/usr/bin/env bash
# Compares two indexer databases fed by the same relay (e.g. the Python worker's and skyindex's):
# row counts per table and counter totals, side by side, with the differences.
#   scripts/compare.sh postgres://…/old_db postgres://…/new_db
# Exit 0 when everything is equal, 1 when something differs, 2 on usage or connection errors.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 OLD_DATABASE_URL NEW_DATABASE_URL" >&2
  exit 2
fi
old="$1"
new="$2"

# One number from a database, or "-" when the table or column does not exist there.
value() {
  psql "$1" -XAtq -v ON_ERROR_STOP=1 -c "$2" 2>/dev/null || echo "-"
}

checks=(
  "users|SELECT count(*) FROM users"
  "posts|SELECT count(*) FROM posts"
  "likes|SELECT count(*) FROM likes"
  "reposts|SELECT count(*) FROM reposts"
  "follows|SELECT count(*) FROM follows"
  "blocks|SELECT count(*) FROM blocks"
  "feed_items|SELECT count(*) FROM feed_items"
  "generic_records|SELECT count(*) FROM generic_records"
  "sum(like_count)|SELECT COALESCE(sum(like_count),0) FROM post_aggregations"
  "sum(repost_count)|SELECT COALESCE(sum(repost_count),0) FROM post_aggregations"
  "sum(reply_count)|SELECT COALESCE(sum(reply_count),0) FROM post_aggregations"
  "sum(quote_count)|SELECT COALESCE(sum(quote_count),0) FROM post_aggregations"
  "sum(followers_count)|SELECT COALESCE(sum(followers_count),0) FROM user_aggregations"
  "sum(follows_count)|SELECT COALESCE(sum(follows_count),0) FROM user_aggregations"
  "sum(posts_count)|SELECT COALESCE(sum(posts_count),0) FROM user_aggregations"
  "negative counters|SELECT count(*) FROM post_aggregations WHERE like_count < 0 OR repost_count < 0 OR reply_count < 0 OR quote_count < 0"
)

for url in "$old" "$new"; do
  if ! psql "$url" -XAtq -c 'SELECT 1' >/dev/null 2>&1; then
    echo "cannot connect to ${url%%@*}@…" >&2
    exit 2
  fi
done

status=0
printf '%-22s %14s %14s %12s\n' "what" "old" "new" "new - old"
for check in "${checks[@]}"; do
  name="${check%%|*}"
  sql="${check#*|}"
  a=$(value "$old" "$sql")
  b=$(value "$new" "$sql")
  if [[ "$a" =~ ^-?[0-9]+$ && "$b" =~ ^-?[0-9]+$ ]]; then
    diff=$((b - a))
  else
    diff="?"
  fi
  mark=""
  if [ "$a" != "$b" ]; then
    mark="  <-- differs"
    status=1
  fi
  printf '%-22s %14s %14s %12s%s\n' "$name" "$a" "$b" "$diff" "$mark"
done
exit $status
