"""Every message exchanged with the tax authority (sent and received), kept with its XML as it travelled."""

from odoo import api, fields, models

MESSAGE_TYPES = [
    ('100', '100 Registration 01/ĐKTĐ-HĐĐT'),
    ('102', '102 Registration received or not (01/TB-TNĐT)'),
    ('103', '103 Registration accepted or not (01/TB-ĐKĐT)'),
    ('200', '200 Invoice to be coded'),
    ('202', '202 Coded invoice'),
    ('203', '203 Invoice data without code'),
    ('204', '204 Data check result (01/TB-KTDL)'),
    ('300', '300 Notice of erroneous invoices 04/SS-HĐĐT'),
    ('301', '301 Notice result (01/TB-SSĐT)'),
    ('400', '400 Summary table 01/TH-HĐĐT'),
    ('999', '999 Technical receipt'),
]


class L10nVnEinvoiceTaxMessage(models.Model):
    _name = 'l10n_vn_einvoice.tax.message'
    _description = 'Message exchanged with the tax authority'
    _order = 'create_date desc, id desc'
    _check_company_auto = True
    _rec_name = 'message_id'

    company_id = fields.Many2one('res.company', required=True, readonly=True)
    connection_id = fields.Many2one('l10n_vn_einvoice.tax.connection', readonly=True, ondelete='cascade',
                                    check_company=True)
    move_id = fields.Many2one('account.move', string='Invoice', readonly=True, index='btree_not_null',
                              ondelete='set null', check_company=True,
                              help='The invoice of a message about one invoice (empty for a message 203 of several).')
    move_ids = fields.Many2many('account.move', 'l10n_vn_einvoice_tax_message_move_rel', 'message_id', 'move_id',
                                string='Invoices', readonly=True, check_company=True,
                                help='Every invoice the message carries or answers (a message 203 carries several).')
    move_count = fields.Integer(string='Number of invoices', compute='_compute_move_count')
    direction = fields.Selection([('out', 'Sent'), ('in', 'Received')], required=True, readonly=True)
    message_type = fields.Selection(MESSAGE_TYPES, string='Type', required=True, readonly=True)
    message_id = fields.Char(string='Message code (MTDiep)', required=True, readonly=True, index=True)
    reply_to = fields.Char(string='Answers (MTDTChieu)', readonly=True, index=True)
    result = fields.Selection([('ok', 'Accepted'), ('refused', 'Refused'), ('info', 'Information')],
                              readonly=True, default='info')
    summary = fields.Char(readonly=True)
    reasons = fields.Text(readonly=True, help='What the tax authority said, in its words.')
    xml = fields.Binary(string='XML', attachment=True, readonly=True)
    xml_filename = fields.Char(compute='_compute_xml_filename')

    _sql_constraints = [
        ('message_id_direction_uniq', 'unique(message_id, direction)',
         'A message is recorded once: its code (MTDiep) is already in the log.'),
    ]

    def init(self):
        res = super().init()
        # messages recorded before a message could carry several invoices name theirs in move_id only: linked
        # at install and update, so that every invoice still lists its messages
        self.env.cr.execute("""
            INSERT INTO l10n_vn_einvoice_tax_message_move_rel (message_id, move_id)
            SELECT m.id, m.move_id FROM l10n_vn_einvoice_tax_message m
             WHERE m.move_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM l10n_vn_einvoice_tax_message_move_rel r WHERE r.message_id = m.id AND r.move_id = m.move_id)
        """)
        return res

    @api.depends('move_ids')
    def _compute_move_count(self):
        for message in self:
            message.move_count = len(message.move_ids)

    @api.depends('message_id', 'message_type')
    def _compute_xml_filename(self):
        for message in self:
            message.xml_filename = f'{message.message_type}_{message.message_id}.xml'
