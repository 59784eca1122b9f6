#!/bin/sh
# event-sqlite.sh - record deliveries, deferrals and failures in SQLite
# (the seed's database example, appliance-sized).
#
#   [main]
#   event_action = /usr/libexec/tern/event-sqlite.sh /var/lib/tern-events/events.db
#   [transport remote_smtp]
#   event_action = /usr/libexec/tern/event-sqlite.sh /var/lib/tern-events/events.db
#
# tern runs it directly (no shell of tern's), as event_user (nobody), with
# the event's variables in the environment: the database directory must be
# writable by that user. Needs the sqlite3 command. Prints nothing: no
# event is forced.
db=${1:?usage: event-sqlite.sh DATABASE}
case "$EVENT_NAME" in
msg:delivery|msg:fail:delivery|msg:fail:internal|msg:rcpt:defer|msg:host:defer) ;;
*) exit 0 ;;
esac
# SQL string literals: double every single quote
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }
sqlite3 "$db" <<SQL
.timeout 5000
CREATE TABLE IF NOT EXISTS events (
  time INTEGER, event TEXT, message_id TEXT, rcpt TEXT,
  host TEXT, address TEXT, data TEXT, errno TEXT);
INSERT INTO events VALUES (strftime('%s','now'), $(q "$EVENT_NAME"),
  $(q "$MESSAGE_ID"), $(q "${LOCAL_PART:+$LOCAL_PART@$DOMAIN}"),
  $(q "$HOST"), $(q "$HOST_ADDRESS"), $(q "$EVENT_DATA"), $(q "$EVENT_DEFER_ERRNO"));
SQL
