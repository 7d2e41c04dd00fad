"""Vietnamese translation of the addon: every term Odoo exports for l10n_vn_einvoice is translated
in i18n/vi.po, with the same placeholders, and the translations load into a vi_VN database.

Refresh vi.po with scripts/update-i18n, then translate the new terms (empty msgstr)."""
import re
from pathlib import Path

import polib

from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

MODULE = 'l10n_vn_einvoice'
# %s, %d, %(name)s: what Python substitutes into the translated text (a missing or renamed one
# breaks the message at run time, in Vietnamese only)
PLACEHOLDER = re.compile(r'%\([^)]+\)[sdfr]|%[sdfr]')
# tags of view and report terms: Odoo drops an arch translation whose markup differs from the source
TAG = re.compile(r'<[^>]+>')


def _short(text, size=100):
    text = ' '.join(text.split())
    return text if len(text) <= size else text[:size - 1] + '…'


@tagged('post_install', '-at_install')
class TestI18n(TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.po_path = Path(get_module_path(MODULE)) / 'i18n' / 'vi.po'
        cls.po = polib.pofile(str(cls.po_path)) if cls.po_path.exists() else None
        cls.translations = {entry.msgid: entry.msgstr for entry in cls.po or []
                            if not entry.obsolete and not entry.fuzzy}

    def _exported_terms(self):
        """The terms Odoo's own exporter (Settings > Translations > Export) writes for the addon."""
        reader = TranslationModuleReader(self.env.cr, modules=[MODULE])
        return {source for module, _type, _name, _res_id, source, _value, _comments in reader
                if module == MODULE and source}

    def test_every_term_translated(self):
        self.assertTrue(self.po, f'{self.po_path} is missing: run scripts/update-i18n')
        terms = self._exported_terms()
        self.assertGreater(len(terms), 100, 'the exporter found suspiciously few terms')
        missing = sorted(term for term in terms if not self.translations.get(term, '').strip())
        self.assertFalse(missing, '%d of %d terms have no Vietnamese translation in %s '
                         '(run scripts/update-i18n, then translate them):\n%s' % (
                             len(missing), len(terms), self.po_path,
                             '\n'.join(f'  - {_short(term)!r}' for term in missing)))

    def test_placeholders_kept(self):
        self.assertTrue(self.po, f'{self.po_path} is missing: run scripts/update-i18n')
        wrong = []
        for msgid, msgstr in self.translations.items():
            if not msgstr:
                continue
            expected, found = sorted(PLACEHOLDER.findall(msgid)), sorted(PLACEHOLDER.findall(msgstr))
            if expected != found:
                wrong.append(f'  - {_short(msgid)!r}: expects {expected}, translation has {found}')
            tags, translated_tags = sorted(TAG.findall(msgid)), sorted(TAG.findall(msgstr))
            if tags != translated_tags:
                wrong.append(f'  - {_short(msgid)!r}: markup differs in the translation')
        self.assertFalse(wrong, 'translations in %s do not keep the placeholders or markup '
                                'of their source:\n%s' % (self.po_path, '\n'.join(wrong)))

    def test_vietnamese_loads(self):
        self.env['res.lang']._activate_lang('vi_VN')
        self.env['ir.module.module']._load_module_terms([MODULE], ['vi_VN'])
        env_vi = self.env(context=dict(self.env.context, lang='vi_VN'))

        # field label, as the views show it
        field = env_vi['account.move'].fields_get(['l10n_vn_einvoice_state'])['l10n_vn_einvoice_state']
        self.assertEqual(field['string'], 'Trạng thái hóa đơn điện tử')
        self.assertEqual(field['string'], self.translations['E-invoice state'])
        self.assertIn('Bị thay thế', [label for _value, label in field['selection']])
        self.assertEqual(env_vi['ir.model.fields']._get('account.move', 'l10n_vn_einvoice_state')
                         .field_description, 'Trạng thái hóa đơn điện tử')
        # still English for English users
        field_en = self.env['account.move'].with_context(lang='en_US').fields_get(
            ['l10n_vn_einvoice_state'])['l10n_vn_einvoice_state']
        self.assertEqual(field_en['string'], 'E-invoice state')

        # menu, model and action names
        menu = env_vi.ref('l10n_vn_einvoice.menu_l10n_vn_einvoice_series')
        self.assertEqual(menu.name, 'Ký hiệu hóa đơn điện tử')
        self.assertEqual(env_vi['ir.model']._get('l10n_vn_einvoice.template').name,
                         'Mẫu số hóa đơn điện tử')

        # messages raised from Python code (UserError texts, chatter)
        self.assertEqual(env_vi._('Only posted invoices can be issued.'),
                         'Chỉ hóa đơn đã vào sổ mới có thể phát hành.')
        self.assertEqual(env_vi._('E-invoice %s issued.', 'C26TAA-1'), 'Đã phát hành hóa đơn điện tử C26TAA-1.')
