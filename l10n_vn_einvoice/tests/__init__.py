from . import test_issue
from . import test_demo
