#!/bin/sh
# System test (guest side, run by vm-run): t-chips.sh (the kernel's driver, then ours, on the
# mock's chip models, row for row) on the PL2303 HX and HXN.
CHIPS="5-6:1:PL2303HX 5-7:1:PL2303HXN"
export CHIPS
exec sh "$(dirname "$0")/t-chips.sh" "$@"
