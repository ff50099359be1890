#!/bin/sh
# System test (guest side, run by vm-run): t-chips.sh (the kernel's driver, then ours, on the
# mock's chip models, row for row) on the CH340.
CHIPS="5-5:1:CH340"
export CHIPS
exec sh "$(dirname "$0")/t-chips.sh" "$@"
