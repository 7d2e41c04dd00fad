"""Approval before issue (phê duyệt hóa đơn), as fields and helpers of ``account.move`` (mixed in by
models/account_move.py). Whether an invoice needs approval: its series says so, or the company does."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError

APPROVER_GROUP = 'l10n_vn_einvoice.group_l10n_vn_einvoice_approver'


class L10nVnEinvoiceMoveApproval(models.AbstractModel):
    _name = 'l10n_vn_einvoice.move.approval'
    _description = 'E-invoice approval (invoice feature)'

    l10n_vn_einvoice_prepared_by_id = fields.Many2one(
        'res.users', string='E-invoice prepared by', readonly=True, copy=False,
        help='Who posted the invoice, preparing its e-invoice.')
    l10n_vn_einvoice_approved_by_id = fields.Many2one('res.users', string='E-invoice approved by', readonly=True,
                                                      copy=False)
    l10n_vn_einvoice_approved_on = fields.Datetime(string='E-invoice approved on', readonly=True, copy=False)
    l10n_vn_einvoice_needs_approval = fields.Boolean(
        string='E-invoice awaiting approval', compute='_compute_l10n_vn_einvoice_needs_approval',
        search='_search_l10n_vn_einvoice_needs_approval')

    @api.depends('l10n_vn_einvoice_state', 'l10n_vn_einvoice_approved_on', 'l10n_vn_einvoice_series_id.approval',
                 'company_id.l10n_vn_einvoice_approval')
    def _compute_l10n_vn_einvoice_needs_approval(self):
        for move in self:
            move.l10n_vn_einvoice_needs_approval = (
                move.l10n_vn_einvoice_state == 'CREATED' and not move.l10n_vn_einvoice_approved_on
                and move._l10n_vn_einvoice_approval_required())

    @api.model
    def _l10n_vn_einvoice_no_approval_needed_domain(self):
        """Invoices whose issue waits for no approval (approved, or not asked)."""
        return ['|', ('l10n_vn_einvoice_approved_on', '!=', False),
                '|', ('l10n_vn_einvoice_series_id.approval', '=', 'none'),
                '&', ('l10n_vn_einvoice_series_id.approval', '!=', 'required'),
                ('company_id.l10n_vn_einvoice_approval', '=', False)]

    def _search_l10n_vn_einvoice_needs_approval(self, operator, value):
        if operator not in ('=', '!=') or not isinstance(value, bool):
            raise UserError(_('Unsupported search on "E-invoice awaiting approval".'))
        waiting = [('l10n_vn_einvoice_state', '=', 'CREATED'), '!',
                   *self._l10n_vn_einvoice_no_approval_needed_domain()]
        if (operator == '=') == value:
            return waiting
        return ['!', *(['&'] + waiting)]

    def _l10n_vn_einvoice_approval_required(self):
        self.ensure_one()
        approval = self.l10n_vn_einvoice_series_id.approval or 'company'
        return approval == 'required' or (approval == 'company' and self.company_id.l10n_vn_einvoice_approval)

    def _l10n_vn_einvoice_approval_problems(self):
        """Why this prepared e-invoice cannot be issued yet for lack of approval (empty: nothing)."""
        self.ensure_one()
        if self.l10n_vn_einvoice_approved_on or not self._l10n_vn_einvoice_approval_required():
            return []
        return [_('E-invoice of %s is not approved yet: a user with the "Approve e-invoices" right must approve '
                  'it before it is issued.', self.name)]

    def _l10n_vn_einvoice_approvers(self):
        """Users who may approve this invoice (active internal users of the group, in its company)."""
        self.ensure_one()
        users = self.env.ref(APPROVER_GROUP).sudo().users.filtered(
            lambda u: u.active and not u.share and self.company_id in u.company_ids and not u._is_superuser())
        if self.company_id.l10n_vn_einvoice_four_eyes:
            users -= self.l10n_vn_einvoice_prepared_by_id
        return users

    def _l10n_vn_einvoice_on_prepared(self):
        """Posted: prepared by the current user, not approved, and the approvers asked when needed."""
        self.with_context(l10n_vn_einvoice_internal=True).write({
            'l10n_vn_einvoice_prepared_by_id': self.env.uid,
            'l10n_vn_einvoice_approved_by_id': False,
            'l10n_vn_einvoice_approved_on': False,
        })
        self.env['l10n_vn_einvoice.event']._log('prepared', self)
        self.filtered(lambda m: m._l10n_vn_einvoice_approval_required())._l10n_vn_einvoice_request_approval()

    def _l10n_vn_einvoice_request_approval(self):
        activity_type = self.env.ref('l10n_vn_einvoice.mail_activity_type_einvoice_approval')
        for move in self:
            approvers = move._l10n_vn_einvoice_approvers()
            asked = move.activity_ids.filtered(lambda a: a.activity_type_id == activity_type).user_id
            for user in approvers - asked:
                move.sudo().activity_schedule(
                    activity_type_id=activity_type.id, user_id=user.id,
                    summary=_('Approve the e-invoice of %s', move.name))
            self.env['l10n_vn_einvoice.event']._log(
                'approval_requested', move, message=', '.join(approvers.mapped('name')) or _('No approver found.'),
                outcome='done' if approvers else 'failed')

    def action_l10n_vn_einvoice_request_approval(self):
        moves = self.filtered('l10n_vn_einvoice_needs_approval')
        if not moves:
            raise UserError(_('None of the selected invoices is waiting for approval.'))
        moves._l10n_vn_einvoice_request_approval()
        return True

    def action_l10n_vn_einvoice_approve(self):
        """Approve these prepared e-invoices for issue (four eyes: not by the user who prepared them)."""
        if not self.env.user.has_group(APPROVER_GROUP):
            raise UserError(_('You are not allowed to approve e-invoices: ask for the "Approve e-invoices" right.'))
        self.check_access('write')
        for move in self:
            if move.l10n_vn_einvoice_state != 'CREATED':
                raise UserError(_('The e-invoice of %s is not waiting to be issued: there is nothing to approve.',
                                  move.name))
            if move.l10n_vn_einvoice_approved_on:
                raise UserError(_('The e-invoice of %s is already approved.', move.name))
            if move.company_id.l10n_vn_einvoice_four_eyes and move.l10n_vn_einvoice_prepared_by_id == self.env.user:
                raise UserError(_('You prepared the e-invoice of %s: another approver must approve it (four eyes).',
                                  move.name))
        activity_type = self.env.ref('l10n_vn_einvoice.mail_activity_type_einvoice_approval')
        self.with_context(l10n_vn_einvoice_internal=True).write({
            'l10n_vn_einvoice_approved_by_id': self.env.uid,
            'l10n_vn_einvoice_approved_on': fields.Datetime.now(),
        })
        for move in self:
            activities = move.sudo().activity_ids.filtered(lambda a: a.activity_type_id == activity_type)
            mine = activities.filtered(lambda a: a.user_id == self.env.user)
            mine.action_feedback(feedback=_('Approved.'))
            (activities - mine).unlink()  # the others need not approve it any more
            move.message_post(body=_('E-invoice approved for issue by %s.', self.env.user.name))
        self.env['l10n_vn_einvoice.event']._log('approved', self)
        return True
