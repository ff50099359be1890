#!/bin/sh
# System test (guest side, run by vm-run): t-chips-kernel.sh (the kernel's drivers as the
# reference for the mock's chip models) on the PL2303 HX and HXN.
CHIPS="5-6:1:PL2303HX 5-7:1:PL2303HXN"
export CHIPS
exec sh "$(dirname "$0")/t-chips-kernel.sh" "$@"
