#!/bin/sh
# event-dane-alert.sh - tell the operator when a DANE check fails.
#
#   [transport remote_smtp]
#   event_action = /usr/libexec/tern/event-dane-alert.sh
#
# dane:fail carries an RFC 8460 result type in EVENT_DATA
# (validation-failure, starttls-not-supported, dnssec-invalid,
# dane-required). The mail itself is deferred by tern, never sent in
# clear text; this only makes it visible. logger(1) writes to syslog.
[ "$EVENT_NAME" = "dane:fail" ] || exit 0
logger -p mail.warning -t tern-dane \
    "DANE failure for $HOST [$HOST_ADDRESS]:$HOST_PORT: $EVENT_DATA (message $MESSAGE_ID)"
