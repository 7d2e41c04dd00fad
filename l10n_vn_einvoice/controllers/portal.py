"""Public pages, no login: look an e-invoice up (seller MST + secret code) and verify an e-invoice XML.

* ``/einvoice/lookup``: the buyer's secret code shows the invoice summary and two download links
  (PDF, signed XML) carrying a signed, expiring token, nothing else. A wrong code says nothing
  about the MST; failures are throttled per IP address and per MST.
* ``/einvoice/verify``: upload an XML (at most 2 MB, parsed without DTD/entities/network): every
  signature checked, who signed and when, and whether it matches an invoice issued here, field by
  field (values from the file only; what this database holds is never shown).

``website=True`` only marks the routes as frontend pages (portal layout, language); it needs no
``website`` module. POST forms carry Odoo's CSRF token (public sessions have one too).
"""

import logging
from decimal import Decimal

from werkzeug.exceptions import NotFound

from odoo import http
from odoo.http import content_disposition, request

from odoo.addons.account.controllers.portal import PortalAccount

from vn_einvoice.xml import parse_xml
from vn_einvoice.xmlutil import MAX_XML_BYTES

from ..tools.einvoice_display import Summary, date_text, format_number, number_text, summary

_logger = logging.getLogger(__name__)

STATES = {
    'USING': ('Đang sử dụng', 'Issued'),
    'ADJUSTED': ('Đã bị điều chỉnh', 'Adjusted'),
    'CHANGE': ('Đã bị thay thế', 'Replaced'),
    'CANCEL': ('Đã hủy', 'Cancelled'),
}

# The whole request (multipart overhead included) may not exceed this: Odoo/werkzeug stop reading
# and answer 413 before the form is parsed.
MAX_REQUEST_BYTES = MAX_XML_BYTES + 64 * 1024


def _client_ip():
    return request.httprequest.remote_addr or '?'


class EinvoicePublic(http.Controller):

    # ------------------------------------------------------------------
    # Lookup
    # ------------------------------------------------------------------

    @http.route('/einvoice/lookup', type='http', auth='public', methods=['GET'], website=True, sitemap=False)
    def einvoice_lookup_form(self, **kw):
        return request.render('l10n_vn_einvoice.portal_lookup_page', {
            'tax_code': (kw.get('mst') or '')[:20],
            'status': None,
        })

    @http.route('/einvoice/lookup', type='http', auth='public', methods=['POST'], website=True, sitemap=False,
                max_content_length=16 * 1024)
    def einvoice_lookup(self, mst='', code='', **kw):
        Attempt = request.env['l10n_vn_einvoice.lookup.attempt'].sudo()
        values = {'tax_code': (mst or '')[:20], 'status': None}
        if not (mst or '').strip() or not (code or '').strip():
            values['status'] = 'missing'
            return request.render('l10n_vn_einvoice.portal_lookup_page', values)
        try:
            status, move = Attempt._lookup(mst, code, _client_ip())
            if move:
                values.update(
                    summary=self._summary(move),
                    einvoice_state=STATES.get(move.l10n_vn_einvoice_state, (move.l10n_vn_einvoice_state, '')),
                    pdf_url=self._download_url(move, 'pdf'),
                    xml_url=move.l10n_vn_einvoice_xml_id and self._download_url(move, 'xml'),
                )
                move._l10n_vn_einvoice_record_seen('lookup')
        except Exception:  # noqa: BLE001 - never a stack trace to the public
            _logger.exception('E-invoice lookup failed')
            status = 'error'
        values['status'] = status
        response = request.render('l10n_vn_einvoice.portal_lookup_page', values)
        if status == 'throttled':
            response.status_code = 429
        return response

    def _download_url(self, move, kind):
        token = request.env['l10n_vn_einvoice.lookup.attempt'].sudo()._download_token(move, kind)
        return f'/einvoice/lookup/download/{move.id}/{kind}?token={token}'

    def _summary(self, move):
        """What a successful lookup shows: the invoice as signed, in a few lines."""
        digits = move.currency_id.decimal_places
        if move.l10n_vn_einvoice_xml_id:
            return summary(parse_xml(move._l10n_vn_einvoice_signed_xml()), digits)
        # issued by a provider that gave no XML: the record
        template = move.l10n_vn_einvoice_template_id.code
        return Summary(
            template=template, symbol=move.l10n_vn_einvoice_series_id.symbol,
            number=number_text(move.l10n_vn_einvoice_number, template), date=date_text(move.invoice_date),
            seller_name=move.company_id.name, seller_tax_code=move.company_id.vat or '',
            buyer_name=move.commercial_partner_id.name,
            total=f'{format_number(Decimal(str(move.amount_total)), digits)} {move.currency_id.name}',
        )

    @http.route('/einvoice/lookup/download/<int:move_id>/<string:kind>', type='http', auth='public',
                methods=['GET'], sitemap=False)
    def einvoice_download(self, move_id, kind, token='', **kw):
        Attempt = request.env['l10n_vn_einvoice.lookup.attempt'].sudo()
        if kind not in ('pdf', 'xml') or not Attempt._check_download_token(move_id, kind, token):
            raise NotFound()
        move = request.env['account.move'].sudo().browse(move_id).exists()
        if not move or (kind == 'xml' and not move.l10n_vn_einvoice_xml_id):
            raise NotFound()
        if kind == 'xml':
            attachment = move.l10n_vn_einvoice_xml_id
            content, mimetype, filename = attachment.raw, 'application/xml', attachment.name
        else:
            content, mimetype, filename = self._pdf(move)
        move._l10n_vn_einvoice_record_seen('lookup', downloaded=kind)
        return request.make_response(content, [
            ('Content-Type', mimetype),
            ('Content-Length', len(content)),
            ('Content-Disposition', content_disposition(filename)),
            ('X-Content-Type-Options', 'nosniff'),
            ('Cache-Control', 'no-store'),
        ])

    def _pdf(self, move):
        pdf = move.invoice_pdf_report_id
        if pdf:
            return pdf.raw, 'application/pdf', pdf.name
        content, report_type = request.env['ir.actions.report'].sudo()._render_qweb_pdf(
            'account.account_invoices', move.ids)
        if report_type != 'pdf':  # test mode renders HTML
            return content, 'text/html; charset=utf-8', move._get_invoice_report_filename(extension='html')
        return content, 'application/pdf', move._get_invoice_report_filename()

    # ------------------------------------------------------------------
    # Verification
    # ------------------------------------------------------------------

    @http.route('/einvoice/verify', type='http', auth='public', methods=['GET'], website=True, sitemap=False)
    def einvoice_verify_form(self, **kw):
        return request.render('l10n_vn_einvoice.portal_verify_page', {'result': None})

    @http.route('/einvoice/verify', type='http', auth='public', methods=['POST'], website=True, sitemap=False,
                max_content_length=MAX_REQUEST_BYTES)
    def einvoice_verify(self, xml_file=None, **kw):
        Attempt = request.env['l10n_vn_einvoice.lookup.attempt'].sudo()
        ip = _client_ip()
        if Attempt._is_throttled(ip, kind='verify'):
            response = request.render('l10n_vn_einvoice.portal_verify_page', {'result': {'error': 'throttled'}})
            response.status_code = 429
            return response
        Attempt._record(ip, kind='verify')
        data = b''
        if xml_file is not None and hasattr(xml_file, 'read'):
            data = xml_file.read(MAX_XML_BYTES + 1)
        if not data:
            result = {'error': 'missing'}
        elif len(data) > MAX_XML_BYTES:
            result = {'error': 'too_large'}
        else:
            try:
                result = Attempt._verify_xml(data)
            except Exception:  # noqa: BLE001 - never a stack trace to the public
                _logger.exception('E-invoice verification failed')
                result = {'error': 'unreadable', 'detail': ''}
        return request.render('l10n_vn_einvoice.portal_verify_page', {'result': result})


class EinvoicePortalAccount(PortalAccount):
    """The customer portal's invoice page: a buyer (not an employee) opening an issued e-invoice is recorded."""

    @http.route()
    def portal_my_invoice_detail(self, invoice_id, access_token=None, report_type=None, download=False, **kw):
        response = super().portal_my_invoice_detail(invoice_id, access_token=access_token, report_type=report_type,
                                                    download=download, **kw)
        if getattr(response, 'status_code', 200) == 200 and not request.env.user._is_internal():
            move = request.env['account.move'].sudo().browse(invoice_id).exists()
            if move.l10n_vn_einvoice_number:
                move._l10n_vn_einvoice_record_seen('portal', downloaded=report_type in ('pdf', 'html') and download
                                                   and report_type)
        return response
