#!/bin/sh
# System test (guest side, run by vm-run): t-chips-kernel.sh (the kernel's drivers as the
# reference for the mock's chip models) on the CH340.
CHIPS="5-5:1:CH340"
export CHIPS
exec sh "$(dirname "$0")/t-chips-kernel.sh" "$@"
