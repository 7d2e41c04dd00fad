from . import account_move_reversal
from . import einvoice_correction_mixin
from . import einvoice_adjustment_wizard
from . import einvoice_adjustment_wizard_line
from . import einvoice_replacement_wizard
from . import einvoice_correction_wizard
from . import einvoice_notice_reject
from . import einvoice_received_override_wizard
