#!/bin/sh
# System test (guest side, run by vm-run): t-chips-kernel.sh (the kernel's drivers as the
# reference for the mock's chip models) on the CP2102 and CP2104.
CHIPS="5-3:1:CP2102 5-4:1:CP2104"
export CHIPS
exec sh "$(dirname "$0")/t-chips-kernel.sh" "$@"
