#!/bin/sh
# System test (guest side, run by vm-run): t-chips.sh (the kernel's driver, then ours, on the
# mock's chip models, row for row) on the CP2102 and CP2104.
CHIPS="5-3:1:CP2102 5-4:1:CP2104"
export CHIPS
exec sh "$(dirname "$0")/t-chips.sh" "$@"
