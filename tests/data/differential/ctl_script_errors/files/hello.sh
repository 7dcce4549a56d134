#!/bin/sh
echo "hello [$1] [$2]"
echo "to stderr" >&2
pwd
echo "env: ${GREETING:-none}"
exit ${EXIT:-0}
