import base64
import contextlib
import hashlib
import logging
import threading
import time

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from vn_einvoice import signing
from vn_einvoice.errors import EInvoiceError
from vn_einvoice.signing import certs

_logger = logging.getLogger(__name__)

ALGORITHMS = [
    ('rsa-sha256', 'RSA with SHA-256 (recommended)'),
    ('rsa-sha1', 'RSA with SHA-1 (older certificates)'),
    ('ecdsa-sha256', 'ECDSA P-256 with SHA-256'),
]


# PKCS#11 login state belongs to the process, not to the session: while one thread of this Odoo process has a
# session open on a token, another thread opening its own fails (ObjectHandleInvalid, UserAlreadyLoggedIn).
# Token sessions of one process are therefore taken one at a time (other processes are not affected).
_PKCS11_LOCK = threading.RLock()
PKCS11_WAIT = 60  # seconds
# Signers kept open by _reuse_signers() during a batch, per thread: {(db, signer id, write_date): opened signer}
_REUSED = threading.local()
# PKCS#12 keys opened by batches, kept by this process for PKCS12_KEEP seconds (opening one costs a decryption
# and a key check, ~40 ms: as much as signing 40 invoices; a client issuing ten at a time paid it each time):
# {sha256 of the file and its password: (opened at, signer)}. A changed file or password is another key; an
# expired one is dropped (never closed: another thread may be signing with it). System parameter
# l10n_vn_einvoice.pkcs12_keep_seconds (administrators): 0 keeps a key only for the batch that opened it.
_PKCS12_OPENED = {}
_PKCS12_LOCK = threading.Lock()
PKCS12_KEEP = 300  # seconds, by default


class _TokenSession:
    """A PKCS#11 signer that holds the process's token lock until it is closed (use it with ``with``)."""

    def __init__(self, signer):
        self._signer = signer
        self._open = True

    def __getattr__(self, name):
        return getattr(self._signer, name)

    def __enter__(self):
        return self._signer

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._open:
            self._open = False
            try:
                self._signer.close()
            finally:
                _PKCS11_LOCK.release()


class L10nVnEinvoiceSigner(models.Model):
    _name = 'l10n_vn_einvoice.signer'
    _inherit = ['mail.thread', 'mail.activity.mixin']  # alerts are activities on it
    _description = 'E-invoice signer (certificate or token)'
    _order = 'company_id, name'
    _check_company_auto = True

    name = fields.Char(required=True)
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    active = fields.Boolean(default=True)
    kind = fields.Selection(
        selection=[('pkcs12', 'Certificate file (PKCS#12)'), ('pkcs11', 'Token or HSM (PKCS#11)')],
        string='Key held in', required=True, default='pkcs12')
    algorithm = fields.Selection(ALGORITHMS, required=True, default='rsa-sha256')
    allow_mst_mismatch = fields.Boolean(
        string='Allow another tax code', groups='base.group_system',
        help='Sign even when the tax code (MST) in the certificate differs from the company\'s.')
    # PKCS#12: stored by Odoo's certificate module (readable by administrators only).
    certificate_id = fields.Many2one(
        'certificate.certificate', check_company=True, groups='base.group_system',
        domain="[('scope', 'in', ('l10n_vn_einvoice', 'general'))]")
    # PKCS#11
    pkcs11_module = fields.Char(string='PKCS#11 library', groups='base.group_system',
                                help='Path of the PKCS#11 library of the token or HSM, e.g. '
                                     '/usr/lib/softhsm/libsofthsm2.so')
    pkcs11_token_label = fields.Char(string='Token label', groups='base.group_system')
    pkcs11_key_label = fields.Char(string='Key label', groups='base.group_system')
    pkcs11_key_id = fields.Char(string='Key id (hex)', groups='base.group_system')
    pkcs11_pin = fields.Char(string='PIN', groups='base.group_system', copy=False)
    pkcs11_certificate = fields.Binary(string='Certificate (PEM)', groups='base.group_system', attachment=True,
                                       help='Only if the certificate is not stored on the token.')
    # What the last test read from the certificate (public information).
    subject = fields.Char(readonly=True, copy=False)
    subject_tax_code = fields.Char(string='Tax code in certificate', readonly=True, copy=False)
    serial_number = fields.Char(readonly=True, copy=False)
    date_start = fields.Datetime(string='Valid from', readonly=True, copy=False)
    date_end = fields.Datetime(string='Valid until', readonly=True, copy=False)
    last_test = fields.Datetime(readonly=True, copy=False)

    @api.constrains('kind', 'pkcs11_key_label', 'pkcs11_key_id')
    def _check_pkcs11_key(self):
        for signer in self.sudo().filtered(lambda s: s.kind == 'pkcs11'):
            if not signer.pkcs11_key_label and not signer.pkcs11_key_id:
                raise UserError(_('Signer %s: give the label or the id of the key on the token.', signer.name))
            if signer.pkcs11_key_id:
                try:
                    bytes.fromhex(signer.pkcs11_key_id)
                except ValueError:
                    raise UserError(_('Signer %s: the key id must be hexadecimal, e.g. 01A2.', signer.name)) from None

    # ------------------------------------------------------------------
    # Signing (runs as superuser: secrets never leave this model)
    # ------------------------------------------------------------------

    def _make_signer(self, keep=False):
        """A ``vn_einvoice.signing`` signer for this record; use it as a context manager (``keep``: a PKCS#12
        key this process opened in the last PKCS12_KEEP seconds, not to be closed)."""
        self.ensure_one()

        rec = self.sudo()
        try:
            if rec.kind == 'pkcs12':
                cert = rec.certificate_id
                if not cert:
                    raise UserError(_('Signer %s has no certificate file.', rec.name))
                content, password = base64.b64decode(cert.content), cert.pkcs12_password or ''
                if not keep:
                    return signing.Pkcs12Signer(content, password)
                keep_for, now = self._pkcs12_keep_seconds(), time.monotonic()
                with _PKCS12_LOCK:
                    for old in [k for k, (opened, _s) in _PKCS12_OPENED.items() if now - opened > keep_for]:
                        del _PKCS12_OPENED[old]
                if not keep_for:
                    return signing.Pkcs12Signer(content, password)
                digest = hashlib.sha256(b'%d:%s:%s' % (len(content), content, password.encode())).digest()
                with _PKCS12_LOCK:
                    if digest not in _PKCS12_OPENED:
                        _PKCS12_OPENED[digest] = (now, signing.Pkcs12Signer(content, password))
                    return _PKCS12_OPENED[digest][1]
            if not rec.pkcs11_module or not rec.pkcs11_token_label:
                raise UserError(_('Signer %s: the PKCS#11 library and the token label are required.', rec.name))
            cert_pem = base64.b64decode(rec.pkcs11_certificate) if rec.pkcs11_certificate else None
            if not _PKCS11_LOCK.acquire(timeout=PKCS11_WAIT):
                raise UserError(_('The token of signer %s is busy: try again in a moment.', rec.name))
            try:
                return _TokenSession(signing.Pkcs11Signer(
                    rec.pkcs11_module, rec.pkcs11_token_label, rec.pkcs11_pin or '',
                    key_label=rec.pkcs11_key_label or None,
                    key_id=bytes.fromhex(rec.pkcs11_key_id) if rec.pkcs11_key_id else None,
                    cert_pem=cert_pem,
                ))
            except BaseException:
                _PKCS11_LOCK.release()
                raise
        except EInvoiceError as e:
            raise UserError(_('Signer %(name)s cannot be used: %(reason)s', name=rec.name, reason=str(e))) from None

    def _pkcs12_keep_seconds(self):
        try:
            return max(0, int(self.env['ir.config_parameter'].sudo().get_param(
                'l10n_vn_einvoice.pkcs12_keep_seconds', PKCS12_KEEP)))
        except ValueError:
            return PKCS12_KEEP

    @contextlib.contextmanager
    def _reuse_signers(self):
        """Within the block, each signer opens its key once (PKCS#12: decryption and key check, about 20 ms;
        PKCS#11: token login) and signs every invoice of the batch with it; all are closed when it ends."""
        if getattr(_REUSED, 'signers', None) is not None:
            yield  # already in a batch
            return
        _REUSED.signers = {}
        try:
            yield
        finally:
            opened, _REUSED.signers = _REUSED.signers, None
            kept = {id(signer) for _opened, signer in list(_PKCS12_OPENED.values())}
            for signer in opened.values():
                if id(signer) not in kept:
                    with contextlib.suppress(Exception):
                        signer.close()

    @contextlib.contextmanager
    def _open_signer(self):
        """The library signer of this record: opened now and closed after, or the batch's (_reuse_signers)."""
        cache = getattr(_REUSED, 'signers', None)
        if cache is None:
            with self._make_signer() as signer:
                yield signer
            return
        key = (self.env.cr.dbname, self.id, self.write_date)  # opened again if the record changed
        if key not in cache:
            cache[key] = self._make_signer(keep=True)
        opened = cache[key]
        yield opened._signer if isinstance(opened, _TokenSession) else opened

    def _sign_xml(self, xml, signing_time=None):
        """Sign an unsigned HDon (seller signature) and return the signed bytes."""
        self.ensure_one()

        rec = self.sudo()
        try:
            with rec._open_signer() as signer:
                return signing.sign_invoice(
                    xml, signer, algorithm=rec.algorithm, signing_time=signing_time,
                    allow_mst_mismatch=rec.allow_mst_mismatch,
                )
        except EInvoiceError as e:
            raise UserError(_('Signing with %(name)s failed: %(reason)s', name=rec.name, reason=str(e))) from None

    def _record_certificate(self, signer):
        cert = signer.certificate
        not_before, not_after = certs.validity(cert)
        self.sudo().write({
            'subject': certs.subject_string(cert),
            'subject_tax_code': certs.subject_tax_code(cert) or False,
            'serial_number': certs.serial_hex(cert),
            'date_start': not_before.replace(tzinfo=None),
            'date_end': not_after.replace(tzinfo=None),
            'last_test': fields.Datetime.now(),
        })

    def action_test_signer(self):
        """Sign and verify a sample invoice of the company; report what the certificate says."""
        self.ensure_one()

        sample = self.env['account.move']._l10n_vn_einvoice_sample_xml(self.company_id)
        with self._make_signer() as signer:
            self._record_certificate(signer)
        signed = self._sign_xml(sample)
        report = signing.verify_invoice(signed)
        if not report.valid:
            raise UserError(_('The test signature does not verify: %s', '; '.join(report.all_problems())))
        seller = report.seller
        _logger.info('E-invoice signer %s tested: serial %s', self.name, self.serial_number)
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {
                'type': 'success',
                'title': _('The signer works'),
                'message': _('Signed and verified a test invoice. Certificate %(subject)s, serial %(serial)s, '
                             'valid until %(end)s.', subject=seller.subject, serial=self.serial_number,
                             end=self.date_end and self.date_end.strftime('%d/%m/%Y')),
                'next': {'type': 'ir.actions.act_window_close'},
            },
        }
