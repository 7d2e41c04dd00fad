"""The e-invoice web service of Odoo (``/einvoice/api/v1/``): answer codes, body checks, OpenAPI document.

Codes are those our own seed-002 client explains (``vn_einvoice.providers.portal.ERROR_EXPLANATIONS``):
0 success, 1 a field missing or not valid, 2 form/serial not registered, 3 no such invoice, 4 its state
forbids it, 5 busy (HTTP 503: send the same request again, same Idempotency-Key), 7 not a company of the
user; 401 refused key, 429 too many requests.
"""

from decimal import Decimal, InvalidOperation

from vn_einvoice.providers.portal import INVOICE_FIELDS, PRODUCT_FIELDS

PREFIX = '/einvoice/api/v1'
OK, INVALID, NO_SERIES, NOT_FOUND, BAD_STATE, BUSY, NOT_YOURS = 0, 1, 2, 3, 4, 5, 7
AUTH, RATE = 401, 429
RETRY_AFTER = 2  # seconds, with a busy answer (503)
KINDS = {str: 'a text', Decimal: 'a number', list: 'a list'}


class ApiRefusal(Exception):
    """A request refused with a seed-002 ``responsecode`` and a plain message (HTTP ``status``)."""

    def __init__(self, code, message, status=200, headers=None):
        super().__init__(message)
        self.code, self.message, self.status, self.headers = code, message, status, headers or {}


def check_fields(data, spec, where=''):
    """Problems of a JSON object against a field spec ``{name: (type, required)}`` (empty: fine)."""
    if not isinstance(data, dict):
        return [f'{where.rstrip(".") or "body"}: must be a JSON object']
    problems = []
    for key, (kind, required) in spec.items():
        value = data.get(key)
        if value is None or value == '' or value == []:
            if required:
                problems.append(f'{where}{key}: required')
            continue
        wrong = (kind is Decimal and (isinstance(value, bool) or not isinstance(value, (int, float)))) or \
            (kind is str and not isinstance(value, str)) or (kind is list and not isinstance(value, list))
        if wrong:
            problems.append(f'{where}{key}: must be {KINDS[kind]}')
        elif kind is Decimal and not Decimal(str(value)).is_finite():
            problems.append(f'{where}{key}: must be a finite number')
    return problems


def check_invoice_body(body):
    """Problems of a seed-002 invoice body (``/invoice/create``, ``newInvoice``…), products included."""
    problems = check_fields(body, INVOICE_FIELDS)
    if isinstance(body, dict) and isinstance(body.get('InvoiceProducts'), list):
        for i, product in enumerate(body['InvoiceProducts']):
            problems += check_fields(product, PRODUCT_FIELDS, f'InvoiceProducts[{i}].')
    return problems


def decimal(value):
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


# ----------------------------------------------------------------------------------------------------
# OpenAPI 3 document
# ----------------------------------------------------------------------------------------------------

_TYPES = {str: {'type': 'string'}, Decimal: {'type': 'number'}}
_DAY = {'type': 'string', 'pattern': '^[0-9]{8}$', 'description': 'yyyyMMdd'}
_STATES = ['CREATED', 'USING', 'CANCEL', 'ADJUSTED', 'CHANGE', 'DELETE']
_SIGN = ['NOSIGN', 'SIGNED', 'CUSSIGNED']


def _object(spec, extra=None):
    props, required = {}, []
    for key, (kind, req) in spec.items():
        if kind is list:
            props[key] = {'type': 'array', 'minItems': 1, 'items': {'$ref': '#/components/schemas/Product'}}
        else:
            props[key] = dict(_TYPES[kind])
        if key in ('InvoiceDate', 'PaymentDate'):
            props[key] = dict(_DAY)
        if req:
            required.append(key)
    props.update(extra or {})
    return {'type': 'object', 'properties': props, 'required': required}


def _answer(extra=None, required=()):
    return {'allOf': [{'$ref': '#/components/schemas/Answer'},
                      {'type': 'object', 'properties': extra or {}, 'required': list(required)}]}


def _op(summary, body=None, answer=None, *, auth=True, params=None, idempotent=False, description=''):
    responses = {
        '200': {'description': 'Answer: responsecode 0 is success, any other a refusal in plain words',
                'content': {'application/json': {'schema': answer or {'$ref': '#/components/schemas/Answer'}}}},
        '400': {'description': 'Malformed JSON', 'content': {'application/json': {
            'schema': {'$ref': '#/components/schemas/Answer'}}}},
        '415': {'description': 'Not JSON', 'content': {'application/json': {
            'schema': {'$ref': '#/components/schemas/Answer'}}}},
        '413': {'description': 'Body too large', 'content': {'application/json': {
            'schema': {'$ref': '#/components/schemas/Answer'}}}},
    }
    responses['401'] = {'description': 'Missing or refused apikey/sessionkey', 'content': {
        'application/json': {'schema': {'$ref': '#/components/schemas/Answer'}}}}
    responses['429'] = {'description': 'Too many requests with this key, or too many failed authentications from '
                                       'this address (Retry-After)', 'content': {
        'application/json': {'schema': {'$ref': '#/components/schemas/Answer'}}}}
    if auth:
        responses['403'] = {'description': 'The user may not do this', 'content': {
            'application/json': {'schema': {'$ref': '#/components/schemas/Answer'}}}}
        responses['422'] = {'description': 'Idempotency key used for another request', 'content': {
            'application/json': {'schema': {'$ref': '#/components/schemas/Answer'}}}}
        responses['503'] = {
            'description': 'Busy (responsecode 5): too many concurrent requests on the same series; send the same '
                           'request again after Retry-After seconds, with the same Idempotency-Key',
            'headers': {'Retry-After': {'schema': {'type': 'integer'}}},
            'content': {'application/json': {'schema': {'$ref': '#/components/schemas/Answer'}}}}
    op = {'summary': summary, 'responses': responses}
    if description:
        op['description'] = description
    parameters = list(params or [])
    if idempotent:
        parameters.append({'name': 'Idempotency-Key', 'in': 'header', 'required': False,
                           'schema': {'type': 'string', 'maxLength': 128},
                           'description': 'The same key sent again returns the same invoice, never a second one.'})
    if parameters:
        op['parameters'] = parameters
    if body is not None:
        op['requestBody'] = {'required': True, 'content': {'application/json': {'schema': body}}}
    op['security'] = [{'apikey': [], 'sessionkey': []}] if auth else [{'apikey': []}]
    return op


def openapi(server_url=''):
    """The OpenAPI 3.0 document of every endpoint."""
    ref = {'$ref': '#/components/schemas/Invoice'}
    number = {'name': 'invoiceNumber', 'in': 'path', 'required': True, 'schema': {'type': 'string'}}
    issued = _answer({'InvoiceNo': {'type': 'string'}, 'InvoiceStatus': {'type': 'string', 'enum': _STATES},
                      'SignStatus': {'type': 'string', 'enum': _SIGN}, 'InvoiceId': {'type': 'integer'}})
    find = {'type': 'object', 'required': ['CompanyTaxCode', 'InvoiceForm', 'SerialNo', 'InvoiceDate'],
            'properties': {'CompanyTaxCode': {'type': 'string'}, 'InvoiceForm': {'type': 'string'},
                           'SerialNo': {'type': 'string'}, 'InvoiceDate': _DAY}}
    status_body = {'type': 'object', 'required': [*find['required'], 'InvoiceNo'],
                   'properties': {**find['properties'], 'InvoiceNo': {'type': 'string'}}}
    xml_body = {'type': 'object', 'required': ['Xml'], 'properties': {
        'Xml': {'type': 'string', 'description': 'The XML document (HDon, or TBao for a 04/SS notice)'}}}
    by_id = {'type': 'object', 'properties': {
        'InvoiceId': {'type': 'integer'}, 'CompanyTaxCode': {'type': 'string'}, 'InvoiceForm': {'type': 'string'},
        'SerialNo': {'type': 'string'}, 'InvoiceNo': {'type': 'string'}}}
    sign_answer = _answer({'Xml': {'type': 'string'}, 'Signer': {'type': 'string'}})
    paths = {
        '/login': {'post': _op('A sessionkey for this apikey (expiring)', None, _answer(
            {'sessionkey': {'type': 'string'}, 'expires': {'type': 'string', 'format': 'date-time'}}), auth=False)},
        '/invoice/create': {'post': _op('Create an invoice and issue it (numbered, signed)', ref, issued,
                                        idempotent=True)},
        '/invoice/update/{invoiceNumber}': {'put': _op('Update an invoice not yet signed', ref, params=[number])},
        '/invoice/deleteLastInvoiceNoSign/{invoiceNumber}': {'delete': _op(
            'Delete the last unsigned invoice of its series', find, params=[number])},
        '/invoice/getStatus': {'post': _op('The state and signing status of an invoice', status_body, _answer({
            'InvoiceStatus': {'type': 'string', 'enum': _STATES}, 'SignStatus': {'type': 'string', 'enum': _SIGN}}))},
        '/invoice/getIssuerFormInvoice': {'get': _op('The issuer and its invoice forms and serials', None, _answer({
            'IssuerTaxCode': {'type': 'string'}, 'IsssuerName': {'type': 'string'},
            'FormInvoices': {'type': 'array', 'items': {'type': 'object', 'properties': {
                'InvoiceFormCode': {'type': 'string'}, 'SignsInvoice': {'type': 'string'}}}}}))},
        '/invoice/getBillsByDate': {'post': _op('The invoices issued between two days', {
            'type': 'object', 'required': ['FromDate', 'ToDate'], 'properties': {
                'FromDate': _DAY, 'ToDate': _DAY, 'Status': {'type': 'string', 'enum': _STATES}}},
            _answer({'bills': {'type': 'array', 'items': {'type': 'object'}}}))},
        '/newInvoice': {'post': _op('Create an invoice and keep it as a draft (not numbered)', ref, issued,
                                    idempotent=True)},
        '/newInvoiceSign': {'post': _op('Create an invoice and sign it (numbered, issued)', ref, issued,
                                        idempotent=True)},
        '/checkInvoice': {'post': _op('Verify a signed e-invoice XML', xml_body, _answer({
            'Valid': {'type': 'boolean'}, 'Problems': {'type': 'array', 'items': {'type': 'string'}},
            'Signer': {'type': 'string'}, 'InvoiceStatus': {'type': 'string'}}))},
        '/getInvoice': {'post': _op('The data and signed XML of an invoice', by_id, _answer({
            'Invoice': {'type': 'object'}, 'Xml': {'type': 'string'}}))},
        '/signxml': {'post': _op('Sign an HDon or a 04/SS notice with the company\'s PKCS#12 file', xml_body,
                                 sign_answer)},
        '/signxmlhsm': {'post': _op('Sign an HDon or a 04/SS notice with the company\'s HSM (PKCS#11)', xml_body,
                                    sign_answer)},
        '/signxmltoken': {'post': _op('Sign an HDon or a 04/SS notice with the company\'s USB token (PKCS#11)',
                                      xml_body, sign_answer)},
        '/xmldelete': {'post': _op('Delete an invoice saved as a draft (never an issued one)', {
            'type': 'object', 'required': ['InvoiceId'], 'properties': {'InvoiceId': {'type': 'integer'}}})},
    }
    return {
        'openapi': '3.0.3',
        'info': {'title': 'Vietnamese e-invoice web service (Odoo)', 'version': '1.0.0', 'description': (
            'Seed-002 portal API and seed-000 web service answered by Odoo. Every answer carries responsecode '
            '(0 = success) and responsemessage.')},
        'servers': [{'url': (server_url or '') + PREFIX}],
        'paths': paths,
        'components': {
            'securitySchemes': {'apikey': {'type': 'apiKey', 'in': 'header', 'name': 'apikey'},
                                'sessionkey': {'type': 'apiKey', 'in': 'header', 'name': 'sessionkey'}},
            'schemas': {
                'Answer': {'type': 'object', 'required': ['responsecode', 'responsemessage'], 'properties': {
                    'responsecode': {'type': 'integer'}, 'responsemessage': {'type': 'string'}}},
                'Product': _object(PRODUCT_FIELDS),
                'Invoice': _object(INVOICE_FIELDS),
            },
        },
    }
