from odoo import _, api, models


class AccountMoveSend(models.AbstractModel):
    _inherit = 'account.move.send'

    @api.model
    def _is_l10n_vn_einvoice_applicable(self, move):
        return (move.l10n_vn_einvoice_state == 'CREATED' and move.l10n_vn_einvoice_cqt_state != 'waiting'
                and move.l10n_vn_einvoice_series_id.issuing_mode in ('local', 'provider'))

    def _get_all_extra_edis(self) -> dict:
        res = super()._get_all_extra_edis()
        res['vn_einvoice_issue'] = {
            'label': _('Issue the e-invoice (sign and number it)'),
            'is_applicable': self._is_l10n_vn_einvoice_applicable,
            'help': _('Numbers the invoice in its series, signs the legal XML and attaches it.'),
        }
        return res

    @api.model
    def _get_invoice_extra_attachments(self, move):
        # the signed XML, and the provider's PDF beside Odoo's own
        return (super()._get_invoice_extra_attachments(move) | move.l10n_vn_einvoice_xml_id
                | move._l10n_vn_einvoice_provider_pdf_attachments())

    def _call_web_service_before_invoice_pdf_render(self, invoices_data):
        # Issue before the PDF is rendered: the PDF shows the e-invoice number and QR code.
        super()._call_web_service_before_invoice_pdf_render(invoices_data)
        to_issue = self.env['account.move'].union(*(
            invoice for invoice, invoice_data in invoices_data.items() if 'vn_einvoice_issue' in invoice_data['extra_edis']))
        if not to_issue:
            return
        to_issue._l10n_vn_einvoice_check_access()
        # One batch, issued in (invoice date, id) order: numbers follow the invoices and, within a series, the
        # issue dates never go backwards (invoices_data comes in the sending order, newest first).
        _issued, failed = to_issue._l10n_vn_einvoice_issue_batch(commit=self._can_commit())
        for invoice in failed:
            invoices_data[invoice]['error'] = {
                'error_title': _('The e-invoice was not issued'),
                'errors': (invoice.l10n_vn_einvoice_error or '').splitlines(),
            }
        for invoice in to_issue.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'waiting'):
            # not an e-invoice until the tax authority codes it: no mail to the buyer before
            invoices_data[invoice]['error'] = {
                'error_title': _('Waiting for the tax authority'),
                'errors': [_('E-invoice %s was sent to the tax authority for its code; it is mailed once coded.',
                             invoice.l10n_vn_einvoice_name)],
            }

    @api.model
    def _send_mail(self, move, mail_template, **kwargs):
        res = super()._send_mail(move, mail_template, **kwargs)
        if move.l10n_vn_einvoice_number:
            move._l10n_vn_einvoice_record_sent('email', ', '.join(move.partner_id.mapped('email') or []))
        return res

    @api.model
    def _get_mail_params(self, move, move_data):
        params = super()._get_mail_params(move, move_data)
        if params and move.l10n_vn_einvoice_applicable:
            for key in ('body', 'subject'):
                params[key] = move._l10n_vn_einvoice_fill_mail_markers(params.get(key))
        return params
