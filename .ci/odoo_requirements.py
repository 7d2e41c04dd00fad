"""Print Odoo's requirements.txt with the pins it gives for Python >= 3.12.

Several of its Python 3.11 pins are source-only packages that no longer build here (cbor2 5.4.2,
gevent 22.10.2, …); the 3.12 pins have wheels and work on 3.11 too.
Usage: python .ci/odoo_requirements.py $ODOO_SRC/requirements.txt > reqs.txt
"""

import platform
import sys

from packaging.requirements import Requirement

env = {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": sys.platform,
       "platform_system": platform.system(), "os_name": "posix"}
with open(sys.argv[1], encoding="utf-8") as f:
    lines = f.read().splitlines()
for raw in lines:
    line = raw.split("#", 1)[0].strip()
    if not line:
        continue
    req = Requirement(line)
    if req.marker is None or req.marker.evaluate(env):
        req.marker = None
        print(req)
