#!/bin/sh
# The cpppo image's entry point.
#
# A command runs as given when its first word is a program on PATH, as the original cpppo's image
# documents (docker run ... cpppo python -m cpppo.server.enip 'SCADA=INT[1000]'); anything else
# (options, tags, --help) goes to the EtherNet/IP simulator under twistd, which is PID 1 either way
# (exec), so docker stop's SIGTERM closes every client and ends it cleanly.
set -e
if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ] && command -v "$1" >/dev/null 2>&1; then
    exec "$@"
fi
exec twistd -n --pidfile= cpppo-enip "$@"
