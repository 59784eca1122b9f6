#!/bin/sh
# event-pin-refuse.sh - refuse TLS to servers that show a known-bad
# certificate (tls:cert): a non-empty output aborts the handshake, and the
# host is deferred with no fallback to clear text.
#
#   [transport remote_smtp]
#   event_action = /usr/libexec/tern/event-pin-refuse.sh /etc/tern/bad-certs.sha256
#
# The list holds one SHA2-256 of a DER certificate per line (lower-case
# hex, as `openssl x509 -outform DER | sha256sum` prints it).
[ "$EVENT_NAME" = "tls:cert" ] || exit 0
list=${1:?usage: event-pin-refuse.sh LIST}
sum=$(printf '%s\n' "$TLS_OUT_PEERCERT" | openssl x509 -outform DER 2>/dev/null |
    sha256sum | cut -d' ' -f1)
if [ -n "$sum" ] && grep -qix "$sum" "$list" 2>/dev/null; then
	echo "certificate $sum at depth $EVENT_DATA is on the refused list"
fi
exit 0
