from . import test_issue
from . import test_demo
from . import test_report
from . import test_portal
