"""What the e-invoice web service does (controllers/api.py speaks HTTP, this does the work), in the
environment of the API key's user: his access rights, his companies, and the same code as the screens
(posting, the checks before issue, approval, numbering, signing, tax-authority sending, life cycle).
Refusals are :class:`~..tools.api.ApiRefusal` (the caller rolls everything back)."""

from datetime import datetime

from lxml import etree

from odoo import Command, _, api, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import float_compare

from vn_einvoice import notice as lib_notice, signing
from vn_einvoice.codes import check_tax_code, normalize_tax_code
from vn_einvoice.errors import EInvoiceError, errors_only
from vn_einvoice.xml import parse_xml
from vn_einvoice.xml.validate import validate_xml
from vn_einvoice.xmlutil import parse_untrusted

from ..tools.api import (
    BAD_STATE, BUSY, INVALID, NO_SERIES, NOT_FOUND, NOT_YOURS, RETRY_AFTER, ApiRefusal, check_invoice_body,
    decimal,
)

NO_VAT = {-1: 'KCT', -2: 'KKKNT'}
SIGNER_KINDS = {'signxml': ('pkcs12',), 'signxmlhsm': ('pkcs11',), 'signxmltoken': ('pkcs11',)}


def _day(body, key):
    value = body.get(key)
    try:
        if not isinstance(value, str) or len(value) != 8 or not value.isdigit():
            raise ValueError
        return datetime.strptime(value, '%Y%m%d').date()
    except ValueError:
        raise ApiRefusal(INVALID, _('%s: a date written yyyyMMdd', key)) from None


def _text(body, key):
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiRefusal(INVALID, _('%s: required', key))
    return value.strip()


class EinvoiceApi(models.AbstractModel):
    _name = 'l10n_vn_einvoice.api'
    _description = 'E-invoice web service'

    # ------------------------------------------------------------------
    # Company, series, partner, taxes
    # ------------------------------------------------------------------

    @api.model
    def _company(self, tax_code):
        """The user's company with this tax code (MST): the request then works in it alone."""
        wanted = normalize_tax_code(tax_code or '')
        companies = self.env.user.company_ids.filtered(lambda c: normalize_tax_code(c.vat or '') == wanted)
        if not wanted or not companies:
            raise ApiRefusal(NOT_YOURS, _('The seller tax code %s is not the one of a company you work for.',
                                          tax_code or '-'))
        return companies[:1]

    def _in(self, company):
        return self.with_context(allowed_company_ids=[company.id]).with_company(company)

    def _series(self, company, form, serial):
        series = self.env['l10n_vn_einvoice.series'].search([
            ('company_id', '=', company.id), ('symbol', '=', serial), '|',
            ('template_id.code', '=', form), ('provider_template_code', '=', form)], limit=1)
        if not series:
            raise ApiRefusal(NO_SERIES, _('Form %(form)s serial %(serial)s is not a series of company %(company)s.',
                                          form=form, serial=serial, company=company.name))
        return series

    def _partner(self, company, body):
        Partner = self.env['res.partner']
        vat = (body.get('CustomerTaxCode') or '').strip()
        name = (body.get('CustomerCompanyName') or body.get('CustomerName') or '').strip()
        if vat:
            problems = check_tax_code(vat, 'CustomerTaxCode')
            if problems:
                raise ApiRefusal(INVALID, '; '.join(str(p) for p in problems))
        scope = [('company_id', 'in', [False, company.id]), ('parent_id', '=', False)]
        partner = Partner.search(scope + [('vat', '=', vat)], limit=1) if vat else Partner.search(
            scope + [('name', '=', name), ('email', '=ilike', body.get('CustomerEmail') or '')], limit=1)
        if partner:
            return partner
        return Partner.create({
            'name': name, 'vat': vat or False, 'is_company': bool(vat), 'street': body.get('CustomerAddress') or False,
            'email': body.get('CustomerEmail') or False, 'phone': body.get('CustomerPhone') or False,
            'mobile': body.get('CustomerMobile') or False, 'website': body.get('CustomerWebsite') or False,
            'country_id': self.env.ref('base.vn').id,
        })

    def _tax(self, company, rate):
        rate = decimal(rate)
        code = NO_VAT.get(int(rate)) if rate in (-1, -2) else f'{rate.normalize():f}%'
        domain = [('company_id', '=', company.id), ('type_tax_use', '=', 'sale'), ('price_include', '=', False)]
        tax = self.env['account.tax'].search(domain + [('l10n_vn_einvoice_rate', '=', code)], limit=1)
        if not tax and code == 'KKKNT':
            tax = self.env['account.tax'].search(domain + [('l10n_vn_einvoice_rate', '=', 'KCT')], limit=1)
        if not tax:
            raise ApiRefusal(INVALID, _('Tax: company %(company)s has no sales tax of rate %(rate)s.',
                                        company=company.name, rate=code))
        return tax

    # ------------------------------------------------------------------
    # Invoices
    # ------------------------------------------------------------------

    @api.model
    def _create_invoice(self, body, *, post=True, issue=True):
        """An invoice of a seed-002 body, through the same code as the invoice form: created, posted (its
        e-invoice prepared), checked and issued. Its totals must be those of the body."""
        problems = check_invoice_body(body)
        if problems:
            raise ApiRefusal(INVALID, '; '.join(problems))
        company = self._company(body['CompanyTaxCode'])
        this = self._in(company)
        series = this._series(company, body['InvoiceForm'], body['SerialNo'])
        if issue and series.issuing_mode == 'local':
            # the series' counter locked first, before the invoice takes its journal name: concurrent creates
            # then wait in one order (else name and counter locked in either order deadlock)
            self.env.cr.execute('SELECT id FROM l10n_vn_einvoice_series WHERE id = %s FOR UPDATE', [series.id],
                                log_exceptions=False)  # a conflict is tried again (controllers/api.py)
        invoice_date = _day(body, 'InvoiceDate')
        _day(body, 'PaymentDate')
        currency = self.env['res.currency'].search([('name', '=', body['CurrencyCode'].upper())], limit=1)
        if not currency:
            raise ApiRefusal(INVALID, _('CurrencyCode: unknown currency %s.', body['CurrencyCode']))
        tax = this._tax(company, body['Tax'])
        lines = []
        for i, product in enumerate(body['InvoiceProducts']):
            qty, cost, amount = decimal(product['Quantity']), decimal(product['Cost']), decimal(product['Amount'])
            if abs(qty * cost - amount) > 1:
                raise ApiRefusal(INVALID, _('InvoiceProducts[%s].Amount: not Quantity × Cost.', i))
            item = self.env['product.product'].search(
                [('default_code', '=', product['Id']), ('company_id', 'in', [False, company.id])],
                limit=1) if product.get('Id') else self.env['product.product']
            lines.append(Command.create({
                'product_id': item.id or False, 'name': product['Name'], 'quantity': float(qty),
                'price_unit': float(cost), 'tax_ids': [Command.set(tax.ids)],
                'product_uom_id': item.uom_id.id or False,
            }))
        journal = series.journal_ids[:1] or self.env['account.journal'].search(
            [('company_id', '=', company.id), ('type', '=', 'sale')], limit=1)
        Move = self.env['account.move'].with_context(allowed_company_ids=[company.id]).with_company(company)
        move = Move.create({
            'move_type': 'out_invoice', 'company_id': company.id, 'journal_id': journal.id,
            'partner_id': this._partner(company, body).id, 'invoice_date': invoice_date,
            'invoice_date_due': _day(body, 'PaymentDate'), 'currency_id': currency.id,
            'narration': body.get('Remark') or False, 'invoice_line_ids': lines,
            'l10n_vn_einvoice_payment_method': body['CustomerPaymentMethodID'],
        })
        move.l10n_vn_einvoice_series_id = series
        rounding = currency.rounding
        for key, value in (('TotalBeforTax', move.amount_untaxed), ('TotalTax', move.amount_tax),
                           ('TotalAfterTax', move.amount_total)):
            if float_compare(float(decimal(body[key])), value, precision_rounding=rounding):
                raise ApiRefusal(INVALID, _('%(field)s is %(sent)s but the invoice comes to %(odoo)s.',
                                            field=key, sent=body[key], odoo=value))
        if post:
            move.action_post()
        if issue:
            self._issue(move, sends=self._sends(move))
        return move

    @api.model
    def _sends(self, move):
        """Whether issuing ``move`` sends it out of Odoo (to its provider, or to the tax authority for its
        code): then it is issued after the request's savepoint (:meth:`issue_sending`)."""
        series = move.l10n_vn_einvoice_series_id
        return series.issuing_mode == 'provider' or move._l10n_vn_einvoice_cqt_connection(series) is not None

    @api.model
    def _issue(self, move, sends=False):
        """Issue a prepared e-invoice as the Issue button does; a refusal names why. ``sends``: only its
        checks (in the request's savepoint: a refusal rolls everything back); :meth:`issue_sending` issues it."""
        problems = move._l10n_vn_einvoice_check()
        if problems:
            raise ApiRefusal(BAD_STATE, '\n'.join(problems))
        if sends:
            return
        # in the request's savepoint: nothing commits half-way (a refusal rolls everything back); the answer is
        # the issued invoice, so never handed to the scheduled action (a conflict is tried again, then 503)
        move.with_context(l10n_vn_einvoice_no_commit=True, l10n_vn_einvoice_no_handoff=True
                          ).action_l10n_vn_einvoice_issue()
        self._check_issued(move)

    @staticmethod
    def _check_issued(move):
        if move.l10n_vn_einvoice_state == 'CREATED' and move.l10n_vn_einvoice_cqt_state != 'waiting':
            raise ApiRefusal(BAD_STATE, move.l10n_vn_einvoice_error or _('The e-invoice was not issued.'))

    @api.model
    def issue_sending(self, move_id):
        """Issue an invoice that leaves Odoo (:meth:`_sends`), outside the request's savepoint, exactly as the
        Issue button: its key and "may have been sent" mark are committed before any request, its outcome
        after; a failure stays recorded on it. The same Idempotency-Key again issues this very invoice (found
        at the provider, never sent twice). Its answer; a refusal when it was not issued."""
        move = self.env['account.move'].browse(move_id)
        move = move.with_context(allowed_company_ids=[move.company_id.id]).with_company(move.company_id)
        try:
            if move.state == 'posted' and move.l10n_vn_einvoice_state == 'CREATED' \
                    and move.l10n_vn_einvoice_cqt_state != 'waiting':
                if not move._l10n_vn_einvoice_lock():  # a request with the same key is sending it now
                    raise ApiRefusal(BUSY, _('Invoice %(name)s is being issued by another request with the same '
                                             'Idempotency-Key: send it again in %(seconds)s seconds.',
                                             name=move.name, seconds=RETRY_AFTER), 503,
                                     {'Retry-After': str(RETRY_AFTER)})
                self._issue(move)  # no l10n_vn_einvoice_no_commit: it commits as the screens do
            self._check_issued(move)
        except AccessError as e:
            raise ApiRefusal(BAD_STATE, _('You are not allowed to do this: %s', e.args[0]), status=403) from None
        except UserError as e:
            raise ApiRefusal(BAD_STATE, e.args[0]) from None
        return self._status(move)

    @staticmethod
    def _status(move):
        return {'InvoiceId': move.id,
                'InvoiceNo': f'{move.l10n_vn_einvoice_number:08d}' if move.l10n_vn_einvoice_number else '',
                'InvoiceStatus': move.l10n_vn_einvoice_state or 'CREATED',
                'SignStatus': move.l10n_vn_einvoice_sign_status or 'NOSIGN'}

    @api.model
    def _find(self, body, number=None, *, with_date=True):
        """The user's invoice named by tax code, form, serial, number (and date)."""
        company = self._company(_text(body, 'CompanyTaxCode'))
        series = self._in(company)._series(company, _text(body, 'InvoiceForm'), _text(body, 'SerialNo'))
        text = str(number if number is not None else body.get('InvoiceNo') or '').strip()
        if not text.isdigit() or len(text) > 9:
            raise ApiRefusal(INVALID, _('InvoiceNo: an invoice number (digits).'))
        domain = [('company_id', '=', company.id), ('l10n_vn_einvoice_series_id', '=', series.id),
                  ('l10n_vn_einvoice_number', '=', int(text))]
        if with_date:
            domain.append(('invoice_date', '=', _day(body, 'InvoiceDate')))
        move = self.env['account.move'].with_context(allowed_company_ids=[company.id]).search(domain, limit=1)
        if not move:
            raise ApiRefusal(NOT_FOUND, _('There is no invoice number %(no)s in series %(series)s on that day.',
                                          no=text, series=series.name))
        return move

    @api.model
    def get_status(self, body):
        move = self._find(body)
        return {'InvoiceStatus': move.l10n_vn_einvoice_state, 'SignStatus': move.l10n_vn_einvoice_sign_status}

    @api.model
    def update(self, number, body):
        """Only an unsigned invoice may change: here an invoice has its number when it is signed, so a numbered
        invoice is refused (corrected by adjustment or replacement); an unknown one is not found."""
        problems = check_invoice_body(body)
        if problems:
            raise ApiRefusal(INVALID, '; '.join(problems))
        move = self._find(body, number)
        raise ApiRefusal(BAD_STATE, _('Invoice %(no)s is %(state)s/%(sign)s: an issued e-invoice is corrected by an '
                                      'adjustment or a replacement invoice, not changed.',
                                      no=move.l10n_vn_einvoice_name, state=move.l10n_vn_einvoice_state,
                                      sign=move.l10n_vn_einvoice_sign_status))

    @api.model
    def delete_last_unsigned(self, number, body):
        move = self._find(body, number)
        raise ApiRefusal(BAD_STATE, _('Invoice %(no)s is %(state)s/%(sign)s: a signed e-invoice is never deleted.',
                                      no=move.l10n_vn_einvoice_name, state=move.l10n_vn_einvoice_state,
                                      sign=move.l10n_vn_einvoice_sign_status))

    @api.model
    def issuer(self):
        company = self.env.user.company_id
        series = self.env['l10n_vn_einvoice.series'].search([('company_id', '=', company.id)])
        forms = [{'InvoiceFormCode': s.provider_template_code or s.template_id.code, 'SignsInvoice': s.symbol}
                 for s in series]
        return {'IssuerTaxCode': company.vat or '', 'IsssuerName': company.name, 'FormInvoices': forms}

    @api.model
    def bills_by_date(self, body):
        start, end = _day(body, 'FromDate'), _day(body, 'ToDate')
        status = body.get('Status')
        if status not in (None, '') and status not in ('CREATED', 'USING', 'CANCEL', 'ADJUSTED', 'CHANGE', 'DELETE'):
            raise ApiRefusal(INVALID, _('Status: unknown state %s.', status))
        company = self.env.user.company_id
        domain = [('company_id', '=', company.id), ('l10n_vn_einvoice_number', '!=', False),
                  ('invoice_date', '>=', start), ('invoice_date', '<=', end)]
        if status:
            domain.append(('l10n_vn_einvoice_state', '=', status))
        bills = []
        for move in self.env['account.move'].search(domain, order='invoice_date, l10n_vn_einvoice_number'):
            series, partner, sign = move.l10n_vn_einvoice_series_id, move.commercial_partner_id, \
                -1 if move.move_type == 'out_refund' else 1
            bills.append({
                'EinvoiceNumber': f'{move.l10n_vn_einvoice_number:08d}',
                'InvoiceFormCode': series.provider_template_code or series.template_id.code,
                'SignsInvoice': series.symbol, 'CreateDate': move.invoice_date.strftime('%Y%m%d'),
                'CustomerEmail': partner.email or '', 'CustomerTaxCode': partner.vat or '',
                'CompanyName': partner.name or '', 'AmountNotVAT': sign * move.amount_untaxed,
                'AmountVAT': sign * move.amount_tax, 'SumAmount': sign * move.amount_total,
                'UserCreate': move.create_uid.login or '', 'EinvoiceStatus': move.l10n_vn_einvoice_state,
                'SignStatus': move.l10n_vn_einvoice_sign_status,
            })
        return {'bills': bills}

    @api.model
    def _move_of(self, body):
        """The user's invoice by ``InvoiceId``, or by tax code, form, serial and number."""
        if body.get('InvoiceId') is not None:
            if isinstance(body['InvoiceId'], bool) or not isinstance(body['InvoiceId'], int) \
                    or not 0 < body['InvoiceId'] < 2 ** 31:
                raise ApiRefusal(INVALID, _('InvoiceId: an integer.'))
            move = self.env['account.move'].search([
                ('id', '=', body['InvoiceId']), ('company_id', 'in', self.env.user.company_ids.ids),
                ('move_type', 'in', ('out_invoice', 'out_refund'))])
            if not move:
                raise ApiRefusal(NOT_FOUND, _('There is no invoice %s of yours.', body['InvoiceId']))
            return move
        return self._find(body, with_date=False)

    @api.model
    def get_invoice(self, body):
        move = self._move_of(body)
        xml = move._l10n_vn_einvoice_has_signed_xml() and move.sudo().l10n_vn_einvoice_xml_id.raw
        series = move.l10n_vn_einvoice_series_id
        return {'Invoice': {
            **self._status(move), 'InvoiceForm': series.provider_template_code or series.template_id.code or '',
            'SerialNo': series.symbol or '', 'InvoiceDate': move.invoice_date and move.invoice_date.strftime('%Y%m%d') or '',
            'CompanyTaxCode': move.company_id.vat or '', 'CustomerName': move.commercial_partner_id.name or '',
            'CustomerTaxCode': move.commercial_partner_id.vat or '', 'CurrencyCode': move.currency_id.name,
            'TotalBeforTax': move.amount_untaxed, 'TotalTax': move.amount_tax, 'TotalAfterTax': move.amount_total,
            'State': move.state,
        }, 'Xml': xml.decode() if xml else ''}

    @api.model
    def delete_draft(self, body):
        """xmldelete: an invoice saved as a draft (``newInvoice``), never numbered, is deleted."""
        if body.get('InvoiceId') is None:
            raise ApiRefusal(INVALID, _('InvoiceId: required'))
        move = self._move_of(body)
        if move.state != 'draft' or move.l10n_vn_einvoice_number or move._l10n_vn_einvoice_is_issued():
            raise ApiRefusal(BAD_STATE, _('Invoice %s is not a draft: only an invoice never issued and still a draft '
                                          'is deleted; an issued one is corrected or cancelled by a replacement.',
                                          move.name))
        move.with_context(allowed_company_ids=[move.company_id.id]).unlink()
        return {}

    # ------------------------------------------------------------------
    # XML: verify and sign
    # ------------------------------------------------------------------

    @staticmethod
    def _xml(body):
        xml = body.get('Xml')
        if not isinstance(xml, str) or not xml.strip():
            raise ApiRefusal(INVALID, _('Xml: the XML document, as text.'))
        try:
            root = parse_untrusted(xml.encode()).getroot()
        except (EInvoiceError, ValueError, etree.XMLSyntaxError):
            raise ApiRefusal(INVALID, _('Xml: not a well-formed XML document.')) from None
        return xml.encode(), root

    @api.model
    def check(self, body):
        data, root = self._xml(body)
        if etree.QName(root).localname != 'HDon':
            raise ApiRefusal(INVALID, _('Xml: not an e-invoice (HDon).'))
        try:
            report = signing.verify_invoice(data)
            problems = [str(p) for p in errors_only(validate_xml(data))]
        except EInvoiceError as e:
            raise ApiRefusal(INVALID, _('Xml: %s', e)) from None
        answer = {'Valid': bool(report.valid and not problems), 'Problems': [*report.all_problems(), *problems],
                  'Signer': report.seller.subject if report.seller else '', 'InvoiceStatus': ''}
        try:
            invoice = parse_xml(data)
            company = self._company(invoice.seller.tax_code)
            move = self._in(company)._find({
                'CompanyTaxCode': company.vat, 'InvoiceForm': invoice.template, 'SerialNo': invoice.symbol,
                'InvoiceNo': str(invoice.number or ''), 'InvoiceDate': invoice.issue_date.strftime('%Y%m%d')})
        except (ApiRefusal, EInvoiceError):
            return answer
        answer['InvoiceStatus'] = move.l10n_vn_einvoice_state
        stored = move.sudo().l10n_vn_einvoice_xml_id.raw
        if stored and stored != data:
            answer['Valid'] = False
            answer['Problems'].append(_('It differs from the e-invoice %s issued here.', move.l10n_vn_einvoice_name))
        return answer

    @api.model
    def sign(self, operation, body):
        """Sign an unsigned HDon or 04/SS notice of one of the user's companies, after checking it, with that
        company's signer of the kind the operation names (PKCS#12 file, or PKCS#11 HSM/token)."""
        data, root = self._xml(body)
        kind = etree.QName(root).localname
        if kind == 'HDon':
            problems = [p for p in errors_only(validate_xml(data)) if 'DSCKS' not in p.path]
            tax_code = root.findtext('DLHDon/NDHDon/NBan/MST')
        elif kind == 'TBao':
            problems = [p for p in errors_only(lib_notice.validate_notice_xml(data)) if 'DSCKS' not in p.path]
            tax_code = root.findtext('DLTBao/MST')
        else:
            raise ApiRefusal(INVALID, _('Xml: only an e-invoice (HDon) or a 04/SS notice (TBao) is signed here.'))
        if problems:
            raise ApiRefusal(INVALID, _('Xml is not valid: %s', '; '.join(str(p) for p in problems[:20])))
        company = self._company(tax_code)
        if not self.env.user.has_group('l10n_vn_einvoice.group_l10n_vn_einvoice_user'):
            raise ApiRefusal(BAD_STATE, _('You are not allowed to issue e-invoices: ask for the "Issue e-invoices" '
                                          'right.'), status=403)
        kinds = SIGNER_KINDS[operation]
        Signer = self.env['l10n_vn_einvoice.signer'].sudo()
        signer = company.l10n_vn_einvoice_signer_id
        if signer.kind not in kinds:
            signer = Signer.search([('company_id', '=', company.id), ('kind', 'in', kinds)], limit=1)
        if not signer:
            raise ApiRefusal(BAD_STATE, _('Company %(company)s has no %(kind)s signer.', company=company.name,
                                          kind='PKCS#12' if kinds == ('pkcs12',) else 'PKCS#11'))
        try:
            if kind == 'HDon':
                signed = signer._sign_xml(data)
                report = signing.verify_invoice(signed)
            else:
                with signer._make_signer() as lib_signer:
                    signed = lib_notice.sign_notice(data, lib_signer, algorithm=signer.algorithm,
                                                    allow_mst_mismatch=signer.allow_mst_mismatch)
                report = lib_notice.verify_notice(signed)
        except EInvoiceError as e:
            raise ApiRefusal(INVALID, _('Signing failed: %s', e)) from None
        if not report.valid:
            raise ApiRefusal(INVALID, _('The signed document does not verify: %s', '; '.join(report.all_problems())))
        return {'Xml': signed.decode(), 'Signer': report.signatures[0].subject if report.signatures else ''}

    # ------------------------------------------------------------------
    # Dispatch
    # ------------------------------------------------------------------

    @api.model
    def _run(self, operation, body, number=None):
        """One operation: its answer (without responsecode). AccessError and UserError become refusals."""
        try:
            if operation in ('create', 'newInvoiceSign'):
                return self._status(self._create_invoice(body))
            if operation == 'newInvoice':
                return self._status(self._create_invoice(body, post=False, issue=False))
            if operation == 'update':
                return self.update(number, body)
            if operation == 'deleteLastInvoiceNoSign':
                return self.delete_last_unsigned(number, body)
            if operation == 'getStatus':
                return self.get_status(body)
            if operation == 'getIssuerFormInvoice':
                return self.issuer()
            if operation == 'getBillsByDate':
                return self.bills_by_date(body)
            if operation == 'checkInvoice':
                return self.check(body)
            if operation == 'getInvoice':
                return self.get_invoice(body)
            if operation in SIGNER_KINDS:
                return self.sign(operation, body)
            if operation == 'xmldelete':
                return self.delete_draft(body)
        except AccessError as e:
            raise ApiRefusal(BAD_STATE, _('You are not allowed to do this: %s', e.args[0]), status=403) from None
        except UserError as e:
            raise ApiRefusal(BAD_STATE, e.args[0]) from None
        raise ApiRefusal(NOT_FOUND, _('Unknown operation %s.', operation), status=404)
