"""The e-invoice web service under ``/einvoice/api/v1/``: seed 002's portal API (``apikey``/``sessionkey``
headers, ``/invoice/create`` …) and seed 000's operations (``newInvoice`` … ``xmldelete``), in JSON.

* ``apikey``: an Odoo API key of a user (Preferences > Account Security > New API key);
  ``POST /login`` with it gives a ``sessionkey`` (stored hashed, expiring); every other call carries both.
* Every request runs as that user (his access rights, his companies) through models/einvoice_api.py, in a
  savepoint: a refusal leaves nothing written. Answers: ``{responsecode, responsemessage, …}``.
* ``Idempotency-Key`` header on creates; rate limits per key and of failed authentications per address
  (models/einvoice_api_rate.py), 429; concurrent creates on one series tried again, at worst 503 (busy).
* ``GET /openapi.json``: the OpenAPI 3 document.
"""

import json
import logging
import random
import time

from odoo import _, http
from odoo.exceptions import AccessDenied
from odoo.http import request
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

from ..models.einvoice_api_session import key_hash
from ..tools.api import AUTH, BUSY, INVALID, OK, PREFIX, RATE, RETRY_AFTER, ApiRefusal, openapi

_logger = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024
# auth='none' routes are read-only by default in Odoo 18: these write (sessions, counters, invoices)
ROUTE = {'type': 'http', 'auth': 'none', 'csrf': False, 'save_session': False, 'readonly': False}
SCOPE = 'l10n_vn_einvoice_api'
IDEMPOTENT = {'create', 'newInvoice', 'newInvoiceSign'}
SENDING = {'create', 'newInvoiceSign'}  # these issue the invoice
# concurrent issues on one series conflict on its counter (REPEATABLE READ): the operation is tried again in a
# new transaction, with a random wait growing up to MAX_WAIT seconds; then 503 (retry with the same key)
TRIES, MAX_WAIT = 12, 2.0


def _answer(code=OK, message='', status=200, headers=None, **extra):
    response = request.make_json_response(
        {'responsecode': code, 'responsemessage': message or ('Success' if code == OK else ''), **extra},
        headers=list((headers or {}).items()), status=status)
    response.headers['Cache-Control'] = 'no-store'
    return response


class EinvoiceApi(http.Controller):

    # ------------------------------------------------------------------
    # Authentication
    # ------------------------------------------------------------------

    @staticmethod
    def _user_of(apikey):
        """The user of an Odoo API key (any scope, or this API's), or a 401 refusal."""
        if not apikey:
            raise ApiRefusal(AUTH, _('The apikey header is missing: give an Odoo API key.'), 401)
        try:
            uid = request.env['res.users.apikeys'].sudo()._check_credentials(scope=SCOPE, key=apikey)
        except AccessDenied:
            uid = None
        if not uid:
            raise ApiRefusal(AUTH, _('The apikey is not valid.'), 401)
        return uid

    def _authenticate(self, session=True):
        headers = request.httprequest.headers
        apikey = headers.get('apikey', '')
        Rate = request.env['l10n_vn_einvoice.api.rate'].sudo()
        # failed authentications per remote address (a key given but refused): guessing is slowed down for
        # every worker; blocked, even the right key waits
        address, limit = f'address:{request.httprequest.remote_addr}', Rate._failure_limit()
        wait = Rate._blocked(address, limit)
        if wait is not None:
            raise ApiRefusal(RATE, _('Too many failed authentications from your address: wait %s seconds.', wait),
                             429, {'Retry-After': str(wait)})
        try:
            uid = self._user_of(apikey)
            if session and not request.env['l10n_vn_einvoice.api.session'].sudo()._check(
                    uid, apikey, headers.get('sessionkey', '')):
                raise ApiRefusal(AUTH, _('The sessionkey is missing, not valid or expired: get one from %s/login.',
                                         PREFIX), 401)
        except ApiRefusal:
            if apikey or headers.get('sessionkey'):
                Rate._hit(address, limit)
            raise
        wait = Rate._hit(key_hash(apikey))
        if wait is not None:
            raise ApiRefusal(RATE, _('Too many requests with this apikey: wait %s seconds.', wait), 429,
                             {'Retry-After': str(wait)})
        user = request.env['res.users'].sudo().browse(uid)
        request.update_env(user=uid, context=dict(request.env.context, allowed_company_ids=user.company_ids.ids,
                                                  lang=user.lang or 'en_US'))
        return uid

    @staticmethod
    def _body():
        httpreq = request.httprequest
        if (httpreq.content_length or 0) > MAX_BODY:
            raise ApiRefusal(INVALID, _('The request is too large.'), 413)
        raw = httpreq.get_data(cache=True)
        if not raw.strip():
            return {}
        if httpreq.mimetype != 'application/json':
            raise ApiRefusal(INVALID, _('Content-Type must be application/json.'), 415)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ApiRefusal(INVALID, _('The body is not valid JSON.'), 400) from None
        if not isinstance(body, dict):
            raise ApiRefusal(INVALID, _('The body must be a JSON object.'), 400)
        return body

    # ------------------------------------------------------------------
    # Routes
    # ------------------------------------------------------------------

    @http.route(PREFIX + '/openapi.json', methods=['GET'], **ROUTE)
    def openapi_document(self):
        return request.make_json_response(openapi(request.httprequest.host_url.rstrip('/')))

    @http.route(PREFIX + '/login', methods=['POST'], **ROUTE)
    def login(self):
        try:
            uid = self._authenticate(session=False)
            key, expires = request.env['l10n_vn_einvoice.api.session'].sudo()._login(
                uid, request.httprequest.headers.get('apikey'))
        except ApiRefusal as e:
            return _answer(e.code, e.message, e.status, e.headers)
        return _answer(sessionkey=key, expires=expires.isoformat() + 'Z')

    def _serve(self, operation, no=None):
        try:
            uid = self._authenticate()
            body = self._body()
            key = request.httprequest.headers.get('Idempotency-Key', '').strip()
            cr = request.env.cr
            for tryno in range(1, TRIES + 1):
                try:
                    return self._serve_once(uid, key, operation, body, no)
                except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as e:
                    # as odoo.service.model.retrying, with more tries: the whole transaction again
                    cr.rollback()
                    request.env.reset()
                    request.env.registry.reset_changes()
                    _logger.info('E-invoice API %s: %s, try %s of %s', operation, type(e).__name__, tryno, TRIES)
                    if tryno < TRIES:
                        time.sleep(random.uniform(0.0, min(MAX_WAIT, 0.05 * 2 ** tryno)))
            raise self._busy()
        except ApiRefusal as e:
            return _answer(e.code, e.message, e.status, e.headers)

    def _serve_once(self, uid, key, operation, body, no):
        """One try of an operation in a savepoint (a refusal leaves nothing written): its HTTP answer. An
        invoice that leaves Odoo (provider, tax authority) is then issued outside the savepoint, committing as
        the Issue button does (models/einvoice_api.py ``issue_sending``)."""
        Api = request.env['l10n_vn_einvoice.api']
        Requests = request.env['l10n_vn_einvoice.api.request'].sudo()
        idempotent = key and operation in IDEMPOTENT
        with request.env.cr.savepoint():
            earlier = None
            if idempotent:
                if len(key) > 128:
                    raise ApiRefusal(INVALID, _('Idempotency-Key: at most 128 characters.'))
                earlier = Requests._claim(uid, key, operation, body)
                if earlier:
                    if earlier.body_hash != Requests._body_hash(operation, body):
                        raise ApiRefusal(INVALID, _('Idempotency-Key %s was used for another request.', key), 422)
                    if earlier.answer:
                        return _answer(**json.loads(earlier.answer))
                    if not earlier.move_id:
                        raise self._busy()
                    answer = {'InvoiceId': earlier.move_id.id}  # its issuing failed or was cut off: again
            if not earlier:
                answer = Api._run(operation, body, no)
            sending = operation in SENDING and Api._sends(request.env['account.move'].browse(answer['InvoiceId']))
            if idempotent:
                Requests._done(uid, key, request.env['account.move'].browse(answer.get('InvoiceId')),
                               None if sending else answer)
        if sending:
            answer = Api.issue_sending(answer['InvoiceId'])
            if idempotent:
                Requests._done(uid, key, request.env['account.move'].browse(answer['InvoiceId']), answer)
        request.env.cr.flush()
        return _answer(**answer)

    @staticmethod
    def _busy():
        return ApiRefusal(BUSY, _('The server is busy with other invoices of the same series: send the same '
                                  'request again, with the same Idempotency-Key, in %s seconds.', RETRY_AFTER),
                          503, {'Retry-After': str(RETRY_AFTER)})

    # seed 002

    @http.route(PREFIX + '/invoice/create', methods=['POST'], **ROUTE)
    def api_create(self, **_kw):
        return self._serve('create')

    @http.route(PREFIX + '/invoice/update/<string:no>', methods=['PUT'], **ROUTE)
    def api_update(self, no, **_kw):
        return self._serve('update', no)

    @http.route(PREFIX + '/invoice/deleteLastInvoiceNoSign/<string:no>', methods=['DELETE'], **ROUTE)
    def api_delete_last_invoice_no_sign(self, no, **_kw):
        return self._serve('deleteLastInvoiceNoSign', no)

    @http.route(PREFIX + '/invoice/getStatus', methods=['POST'], **ROUTE)
    def api_get_status(self, **_kw):
        return self._serve('getStatus')

    @http.route(PREFIX + '/invoice/getIssuerFormInvoice', methods=['GET'], **ROUTE)
    def api_get_issuer_form_invoice(self, **_kw):
        return self._serve('getIssuerFormInvoice')

    @http.route(PREFIX + '/invoice/getBillsByDate', methods=['POST'], **ROUTE)
    def api_get_bills_by_date(self, **_kw):
        return self._serve('getBillsByDate')

    # seed 000

    @http.route(PREFIX + '/newInvoice', methods=['POST'], **ROUTE)
    def api_new_invoice(self, **_kw):
        return self._serve('newInvoice')

    @http.route(PREFIX + '/newInvoiceSign', methods=['POST'], **ROUTE)
    def api_new_invoice_sign(self, **_kw):
        return self._serve('newInvoiceSign')

    @http.route(PREFIX + '/checkInvoice', methods=['POST'], **ROUTE)
    def api_check_invoice(self, **_kw):
        return self._serve('checkInvoice')

    @http.route(PREFIX + '/getInvoice', methods=['POST'], **ROUTE)
    def api_get_invoice(self, **_kw):
        return self._serve('getInvoice')

    @http.route(PREFIX + '/signxml', methods=['POST'], **ROUTE)
    def api_signxml(self, **_kw):
        return self._serve('signxml')

    @http.route(PREFIX + '/signxmlhsm', methods=['POST'], **ROUTE)
    def api_signxmlhsm(self, **_kw):
        return self._serve('signxmlhsm')

    @http.route(PREFIX + '/signxmltoken', methods=['POST'], **ROUTE)
    def api_signxmltoken(self, **_kw):
        return self._serve('signxmltoken')

    @http.route(PREFIX + '/xmldelete', methods=['POST'], **ROUTE)
    def api_xmldelete(self, **_kw):
        return self._serve('xmldelete')
