"""Issuing with a key on a PKCS#11 token, for real: SoftHSM2.

A token is created once per process in a temporary directory (``SOFTHSM2_CONF`` points there). The PKCS#11
library is loaded once per process by python-pkcs11 (``pkcs11.lib`` caches it per path, and SoftHSM reads
its configuration when initialised), so the configuration never changes during the process and the
library is re-initialised once after the token is created. Missing SoftHSM2: the tests are skipped,
except under CI (``CI=true``), where they fail (same rule as the library's ``tests/tools.py``).
"""
import atexit
import base64
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path
from unittest.mock import patch

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from odoo.tests import tagged

from vn_einvoice import signing
from vn_einvoice.sandbox import testca
from vn_einvoice.signing import verify_invoice

from ..models.einvoice_signer import _PKCS11_LOCK
from .common import SELLER_MST, EinvoiceCommon

TOKEN = 'l10n-vn-einvoice-odoo'
PIN = '246810'
SO_PIN = '13579135'
WRONG_PIN = '987654'
MODULE_CANDIDATES = [
    '/usr/lib/softhsm/libsofthsm2.so',
    '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
    '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
    '/usr/local/lib/softhsm/libsofthsm2.so',
    '/opt/homebrew/lib/softhsm/libsofthsm2.so',
]
XMLSEC_IDS = ['--id-attr:Id', 'DLHDon', '--id-attr:Id', 'Object', '--id-attr:Id', 'MCCQT']

_HSM = {}  # the process's token: created once


def _missing(what):
    hint = 'install the Debian packages listed in .ci/apt-packages.txt (.ci/run does it)'
    if os.environ.get('CI', '').lower() == 'true':
        raise AssertionError(f'CI=true but {what} is missing ({hint})')
    raise unittest.SkipTest(f'!!! {what} is missing: {hint} !!!')


def softhsm_token():
    """The process's SoftHSM2 token with the seller's RSA key + certificate (id 01, label ``seller``) and
    a second RSA key without certificate on the token (id 02, label ``seller-nocert``; its certificate is
    given as PEM). Returns a dict: module, ca, ca_pem (path), certificates, dir."""
    if _HSM:
        return _HSM
    try:
        import pkcs11  # noqa: PLC0415 - optional: the test says loudly when python-pkcs11 is missing
    except ImportError:
        _missing("the Python package python-pkcs11 (pip install 'vn-einvoice[pkcs11]')")
    util = shutil.which('softhsm2-util')
    if not util:
        _missing("the command 'softhsm2-util' (Debian package softhsm2)")
    paths = ([os.environ['SOFTHSM2_MODULE']] if os.environ.get('SOFTHSM2_MODULE') else []) + MODULE_CANDIDATES
    module = next((p for p in paths if Path(p).is_file()), None)
    if not module:
        _missing(f"the SoftHSM2 PKCS#11 module (Debian package softhsm2; looked at {', '.join(paths)})")

    root = Path(tempfile.mkdtemp(prefix='l10n_vn_einvoice_softhsm_'))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    (root / 'tokens').mkdir()
    conf = root / 'softhsm2.conf'
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ['SOFTHSM2_CONF'] = str(conf)  # read by SoftHSM when the library is initialised (below)
    subprocess.run([util, '--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', SO_PIN],
                   check=True, capture_output=True, timeout=60)
    lib = pkcs11.lib(module)  # loaded once per process and cached by python-pkcs11
    lib.reinitialize()  # in case it was loaded before: read the configuration and the new token

    ca = testca.make_test_ca()
    (root / 'ca.pem').write_bytes(ca.pem)
    certificates = {}
    A = pkcs11.Attribute
    with lib.get_token(token_label=TOKEN).open(rw=True, user_pin=PIN) as session:
        for key_id, label, on_token in ((b'\x01', 'seller', True), (b'\x02', 'seller-nocert', False)):
            key, cert = testca.make_seller_certificate(ca, SELLER_MST, 'Công ty Người bán (token)')
            der = key.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption())
            attrs = pkcs11.util.rsa.decode_rsa_private_key(der)
            attrs.update({A.TOKEN: True, A.PRIVATE: True, A.SENSITIVE: True, A.EXTRACTABLE: False,
                          A.SIGN: True, A.LABEL: label, A.ID: key_id})
            session.create_object(attrs)
            if on_token:
                cert_attrs = pkcs11.util.x509.decode_x509_certificate(cert.public_bytes(Encoding.DER))
                cert_attrs.update({A.TOKEN: True, A.LABEL: label, A.ID: key_id})
                session.create_object(cert_attrs)
            certificates[label] = cert
    _HSM.update(module=module, ca=ca, ca_pem=root / 'ca.pem', certificates=certificates, dir=root)
    return _HSM


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestPkcs11(EinvoiceCommon):
    """A series signed by a key that never leaves a (SoftHSM2) token."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hsm = softhsm_token()
        cls.token_signer = cls.env['l10n_vn_einvoice.signer'].create({
            'name': 'SoftHSM token', 'company_id': cls.company.id, 'kind': 'pkcs11',
            'pkcs11_module': cls.hsm['module'], 'pkcs11_token_label': TOKEN, 'pkcs11_key_label': 'seller',
            'pkcs11_pin': PIN,
        })
        cls.series.signer_id = cls.token_signer

    def _xmlsec1_verify(self, xml):
        xmlsec1 = shutil.which('xmlsec1')
        if not xmlsec1:
            if os.environ.get('CI', '').lower() == 'true':
                self.fail('CI=true but xmlsec1 is missing')
            return None
        path = self.hsm['dir'] / f'signed-{time.time_ns()}.xml'
        path.write_bytes(xml)
        try:
            result = subprocess.run([xmlsec1, '--verify', *XMLSEC_IDS, '--trusted-pem', str(self.hsm['ca_pem']),
                                     str(path)], capture_output=True, text=True, timeout=60)
        finally:
            path.unlink()
        self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def test_issue_with_the_token(self):
        move = self.make_invoice([(2, 1_500_000, self.tax_10), (1, 700_000, self.tax_8)])
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.assertEqual(move.l10n_vn_einvoice_sign_status, 'SIGNED')
        self.assertEqual(move.l10n_vn_einvoice_number, 1)
        xml = self.xml_of(move)
        report = verify_invoice(xml, trusted_certificates=[self.hsm['ca'].certificate])
        self.assertTrue(report.valid, report.all_problems())
        self.assertTrue(report.seller.trusted)
        self.assertEqual(report.seller.subject_tax_code, SELLER_MST)
        # signed by the token's key: the certificate in the XML is the one stored on the token
        der = self.hsm['certificates']['seller'].public_bytes(Encoding.DER)
        self.assertIn(base64.b64encode(der), xml.replace(b'\n', b'').replace(b'\r', b''))
        result = self._xmlsec1_verify(xml)
        if result is not None:
            self.assertIn('OK', result.stdout + result.stderr)
        self.assertEqual(self.series.next_number, 2)

    def test_certificate_given_as_pem(self):
        pem = testca.cert_pem(self.hsm['certificates']['seller-nocert'])
        signer = self.env['l10n_vn_einvoice.signer'].create({
            'name': 'Token, certificate outside', 'company_id': self.company.id, 'kind': 'pkcs11',
            'pkcs11_module': self.hsm['module'], 'pkcs11_token_label': TOKEN, 'pkcs11_key_id': '02',
            'pkcs11_pin': PIN, 'pkcs11_certificate': base64.b64encode(pem),
        })
        self.series.signer_id = signer
        move = self.make_invoice()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        report = verify_invoice(self.xml_of(move), trusted_certificates=[self.hsm['ca'].certificate])
        self.assertTrue(report.valid, report.all_problems())
        self._xmlsec1_verify(self.xml_of(move))

    def test_test_signer_button(self):
        action = self.token_signer.action_test_signer()
        self.assertEqual(action['params']['type'], 'success')
        self.assertEqual(self.token_signer.subject_tax_code, SELLER_MST)
        self.assertTrue(self.token_signer.serial_number)

    def test_wrong_pin_keeps_created_and_hides_the_pin(self):
        self.token_signer.pkcs11_pin = WRONG_PIN
        move = self.make_invoice()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertEqual(move.l10n_vn_einvoice_sign_status, 'NOSIGN')
        self.assertFalse(move.l10n_vn_einvoice_number)
        self.assertFalse(move.l10n_vn_einvoice_xml_id)
        self.assertEqual(self.series.next_number, 1, 'no number consumed')
        error = move.l10n_vn_einvoice_error
        self.assertIn('PIN', error)
        self.assertNotIn(WRONG_PIN, error)
        self.assertNotIn(PIN, error)
        for message in move.message_ids:
            self.assertNotIn(WRONG_PIN, message.body or '')
            self.assertNotIn(PIN, message.body or '')
        # the right PIN again: the same invoice gets number 1
        self.token_signer.pkcs11_pin = PIN
        self.issue(move)
        self.assertEqual((move.l10n_vn_einvoice_state, move.l10n_vn_einvoice_number), ('USING', 1))

    def test_unknown_key_and_token(self):
        self.token_signer.pkcs11_key_label = 'nobody'
        move = self.make_invoice()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertIn('nobody', move.l10n_vn_einvoice_error)
        self.token_signer.write({'pkcs11_key_label': 'seller', 'pkcs11_token_label': 'no-such-token'})
        self.issue(move)
        self.assertIn('no-such-token', move.l10n_vn_einvoice_error)
        self.assertEqual(self.series.next_number, 1)

    def test_a_batch_logs_in_once_and_frees_the_token(self):

        Signer = type(self.env['l10n_vn_einvoice.signer'])
        moves = self.make_invoice() | self.make_invoice() | self.make_invoice()
        with patch.object(Signer, '_make_signer', autospec=True, side_effect=Signer._make_signer) as opened:
            self.issue(moves)
        self.assertEqual(moves.mapped('l10n_vn_einvoice_number'), [1, 2, 3], moves.mapped('l10n_vn_einvoice_error'))
        self.assertEqual(opened.call_count, 1, 'one token login for the batch')
        free = []
        thread = threading.Thread(target=lambda: free.append(_PKCS11_LOCK.acquire(timeout=5) and
                                                               _PKCS11_LOCK.release() is None))
        thread.start()
        thread.join(10)
        self.assertEqual(free, [True], 'the token lock is released after the batch')

    def test_two_threads_sign_with_the_same_token(self):
        """Threads of one Odoo process (HTTP workers, cron) share the token's login state: the second
        signer opening a session while the first is open must wait, not fail ("UserAlreadyLoggedIn")."""
        signer = self.token_signer.sudo()
        sample = self.env['account.move']._l10n_vn_einvoice_sample_xml(self.company)
        signer._sign_xml(sample)  # warms the record cache: the threads below run no SQL
        real_sign = signing.sign_invoice
        inside, overlap = [0], [0]
        lock = threading.Lock()

        def slow_sign(*args, **kwargs):
            with lock:
                inside[0] += 1
                overlap[0] = max(overlap[0], inside[0])
            try:
                time.sleep(0.3)  # the session of this signer stays open meanwhile
                return real_sign(*args, **kwargs)
            finally:
                with lock:
                    inside[0] -= 1

        results, errors = [], []

        def run():
            try:
                results.append(signer._sign_xml(sample))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        with patch.object(signing, 'sign_invoice', slow_sign):
            threads = [threading.Thread(target=run, daemon=True) for _i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        self.assertFalse(errors, [str(e) for e in errors])
        self.assertEqual(len(results), 2)
        for signed in results:
            self.assertTrue(verify_invoice(signed).valid)
        self.assertEqual(overlap[0], 1, 'two sessions were open on the token at once')
