#!/usr/bin/python3
# randconfig.py - write a random but valid configuration to
# $KCONFIG_CONFIG (kconfiglib has no randconfig tool), so that CI builds
# combinations nobody chose. Usage: randconfig.py [SEED]
import os
import random
import sys

import kconfiglib

seed = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else random.randrange(1 << 30)
rng = random.Random(seed)
kconf = kconfiglib.Kconfig("Kconfig", warn_to_stderr=False)
kconf.load_config(os.devnull)
# Assign in definition order; dependencies are re-evaluated after each
# assignment, so a symbol whose dependency was switched off stays off.
for sym in kconf.unique_defined_syms:
    if sym.orig_type == kconfiglib.BOOL and sym.visibility:
        sym.set_value(rng.choice((0, 2)))
for choice in kconf.unique_choices:
    if choice.visibility and choice.syms:
        rng.choice(choice.syms).set_value(2)
out = os.environ.get("KCONFIG_CONFIG", ".config")
kconf.write_config(out, header="# randconfig seed %d\n" % seed)
print("randconfig: seed %d -> %s" % (seed, out))
