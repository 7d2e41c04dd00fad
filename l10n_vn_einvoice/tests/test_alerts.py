"""Daily alerts to e-invoice administrators; every date is given, none is today's."""
import socket
from datetime import date, timedelta

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import EinvoiceCommon


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestAlerts(EinvoiceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.email = 'quantri@seller.example.vn'
        cls.end = (cls.signer.date_end or cls.signer.certificate_id.date_end).date()

    def alerts(self, today):
        return [message for _record, _title, message in self.company._l10n_vn_einvoice_alerts(today)]

    def test_cron_is_daily(self):
        cron = self.env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_alerts')
        self.assertTrue(cron.active)
        self.assertEqual((cron.interval_number, cron.interval_type), (1, 'days'))

    def test_pkcs12_certificate_expiring(self):
        self.assertTrue(self.end)
        self.assertFalse([m for m in self.alerts(self.end - timedelta(days=31)) if 'certificate' in m])
        soon = [m for m in self.alerts(self.end - timedelta(days=10)) if 'certificate' in m]
        self.assertEqual(len(soon), 1)
        self.assertIn('in 10 days', soon[0])
        self.assertIn(self.signer.name, soon[0])
        expired = [m for m in self.alerts(self.end + timedelta(days=1)) if 'certificate' in m]
        self.assertIn('expired', expired[0])

    def test_token_certificate_expiring(self):
        token = self.env['l10n_vn_einvoice.signer'].create({
            'name': 'USB token', 'company_id': self.company.id, 'kind': 'pkcs11',
            'pkcs11_module': '/usr/lib/softhsm/libsofthsm2.so', 'pkcs11_token_label': 'token',
            'pkcs11_key_label': 'seller'})
        self.assertFalse([m for m in self.alerts(date(2030, 1, 1)) if 'USB token' in m], 'expiry not known yet')
        token.sudo().write({'date_end': '2030-03-01 00:00:00'})  # as read from the token when tested
        messages = [m for m in self.alerts(date(2030, 2, 20)) if 'USB token' in m]
        self.assertEqual(len(messages), 1)
        self.assertIn('in 9 days', messages[0])

    def test_series_running_out_and_the_new_year(self):
        self.series.sudo().range_to = 100
        self.series.sudo().with_context(l10n_vn_einvoice_allocating=True).write({'next_number': 80})
        november = date(self.year, 11, 5)
        self.assertEqual([m for m in self.alerts(november) if 'series' in m.lower()], [])
        self.series.sudo().with_context(l10n_vn_einvoice_allocating=True).write({'next_number': 95})
        self.assertEqual([m for m in self.alerts(november) if 'left' in m],
                         [f'Series {self.series.name} has 6 numbers left of its registered range (up to 100).'])
        self.series.sudo().range_to = 0
        december = date(self.year, 12, 5)
        new_year = [m for m in self.alerts(december) if 'no e-invoice series' in m]
        self.assertEqual(len(new_year), 1)
        self.assertIn(str(self.year + 1), new_year[0])
        january = date(self.year + 1, 1, 5)
        self.assertEqual(len([m for m in self.alerts(january) if 'no e-invoice series' in m]), 1)
        self.env['l10n_vn_einvoice.series'].create({
            'template_id': self.series.template_id.id, 'symbol': f'C{(self.year + 1) % 100:02d}TAA',
            'company_id': self.company.id, 'date_start': date(self.year + 1, 1, 1)})
        self.assertFalse([m for m in self.alerts(december) if 'no e-invoice series' in m])

    def test_provider_health_check_failure(self):
        with socket.socket() as s:  # a port nobody listens on
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        account = self.env['l10n_vn_einvoice.provider'].create({
            'name': 'Unreachable provider', 'provider': 'viettel', 'company_id': self.company.id,
            'service_url': f'http://127.0.0.1:{port}/services/einvoiceapplication/api/', 'auth_style': 'token',
            'account': 'demo', 'acpassword': 'demo', 'username': 'demo', 'password': 'demo',
            'connect_timeout': 1, 'read_timeout': 1, 'retry_attempts': 1, 'retry_backoff': 0.01,
        })
        with mute_logger('vn_einvoice.providers.http', 'vn_einvoice.providers'):
            messages = [m for m in self.alerts(date(2030, 1, 1)) if account.name in m]
        self.assertEqual(len(messages), 1)
        self.assertIn('fails its connection test', messages[0])
        self.assertFalse(account.last_check_ok)
        self.assertNotIn('demo', messages[0].replace('demo@', ''))

    def test_activities_and_one_mail_to_administrators(self):
        today = self.end - timedelta(days=10)
        mails_before = self.env['mail.mail'].search([])
        self.env['res.company']._cron_l10n_vn_einvoice_alerts(today=today)
        activity_type = self.env.ref('l10n_vn_einvoice.mail_activity_type_einvoice_alert')
        activities = self.env['mail.activity'].search([('res_model', '=', 'l10n_vn_einvoice.signer'),
                                                       ('res_id', '=', self.signer.id),
                                                       ('activity_type_id', '=', activity_type.id)])
        self.assertIn(self.env.user, activities.user_id)
        self.assertEqual(activities[0].summary, 'Certificate expiring')
        self.assertIn('in 10 days', activities[0].note)
        mail = self.env['mail.mail'].search([]) - mails_before
        self.assertEqual(len(mail), 1)
        self.assertIn('quantri@seller.example.vn', mail.email_to)
        self.assertIn(self.signer.name, mail.body_html)
        log = self.env['l10n_vn_einvoice.event'].search([('event', '=', 'alert'), ('message', 'ilike', 'in 10 days')])
        self.assertTrue(log)
        # the next day's run does not ask again while the activity is open
        self.env['res.company']._cron_l10n_vn_einvoice_alerts(today=today + timedelta(days=1))
        self.assertEqual(len(self.env['mail.activity'].search([('res_model', '=', 'l10n_vn_einvoice.signer'),
                                                               ('res_id', '=', self.signer.id),
                                                               ('activity_type_id', '=', activity_type.id)])),
                         len(activities))
        self.assertEqual(self.env['mail.mail'].search([]) - mails_before, mail)
