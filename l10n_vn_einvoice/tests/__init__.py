from . import test_issue
from . import test_demo
from . import test_report
from . import test_portal
from . import test_corrections
from . import test_notice_odoo
from . import test_provider
