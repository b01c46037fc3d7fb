#!/bin/sh
# The hostile suite (tests/hostile.sh) with every case under gVisor's
# runsc, on podman and docker: see HOSTILE_GVISOR there.
HOSTILE_GVISOR=1 exec sh "$(dirname "$0")/hostile.sh" "$@"
