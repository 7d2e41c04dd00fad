/** @odoo-module **/
// The accountant's two corrections of an issued e-invoice, driven in the backend web client
// (HttpCase.start_tour in tests/test_tour_corrections.py, which opens the issued invoice and checks the result).
// The web client sends readonly fields only when force_save: these tours prove the wizards work as the browser
// drives them, not only through odoo.tests.Form.
//  - l10n_vn_einvoice_adjust: "Adjust" > unit price decreased by 100 000 on the prefilled line > "Create and issue";
//  - l10n_vn_einvoice_replace: "Replace" > "Prepare replacement" > new unit price > Confirm > "Issue e-invoice".
// Each tour ends on a trigger that exists only on success: the new invoice (it links to the invoice it corrects)
// shows the e-invoice state "Issued", and no dialog (error or wizard) is left open.

import { registry } from "@web/core/registry";

const REASON = "Hai bên thống nhất giảm đơn giá";
const NO_DIALOG = "body:not(:has(.modal))";
// The form of the new invoice, not of the corrected one (e-invoice number 1 of the series):
// a draft, or the second e-invoice number of the series once issued.
const DRAFT = `${NO_DIALOG} .o_form_view:has(.o_statusbar_status button.o_arrow_button_current:contains(Draft))`;
const NUMBER_2 = `${NO_DIALOG} .o_form_view:has(.o_field_widget[name=l10n_vn_einvoice_name]:contains(-00000002))`;
const ISSUED_BADGE = ".o_field_widget[name=l10n_vn_einvoice_state] .badge:contains(Issued)";

function issuedOriginSteps() {
    return [
        {
            content: "The issued e-invoice is open",
            trigger: `.o_form_view ${ISSUED_BADGE}`,
        },
    ];
}

registry.category("web_tour.tours").add("l10n_vn_einvoice_adjust", {
    steps: () => [
        ...issuedOriginSteps(),
        {
            content: "Adjust the issued e-invoice",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_l10n_vn_einvoice_adjust]",
            run: "click",
        },
        {
            content: "The adjustment dialog is prefilled with the issued line",
            trigger: ".modal .o_field_widget[name=line_ids] .o_data_row td[name=name]:contains(product_a)",
        },
        {
            content: "Agreement tab",
            trigger: ".modal .o_notebook a.nav-link[name=agreement]",
            run: "click",
        },
        {
            content: "Reason",
            trigger: ".modal .o_field_widget[name=reason] textarea",
            run: `edit ${REASON}`,
        },
        {
            content: "Lines tab",
            trigger: ".modal .o_notebook a.nav-link[name=lines]",
            run: "click",
        },
        {
            content: "Edit the prefilled line",
            trigger: ".modal .o_field_widget[name=line_ids] .o_data_row td[name=what]",
            run: "click",
        },
        {
            content: "Adjust: unit price",
            trigger: ".modal .o_field_widget[name=line_ids] .o_selected_row .o_field_widget[name=what] select",
            run: "selectByLabel Unit price",
        },
        {
            content: "Direction: decrease",
            trigger: ".modal .o_field_widget[name=line_ids] .o_selected_row .o_field_widget[name=direction] select",
            run: "selectByLabel Decrease",
        },
        {
            content: "Unit price change: 100 000",
            trigger: ".modal .o_field_widget[name=line_ids] .o_selected_row .o_field_widget[name=delta_price] input",
            run: "edit 100000 && press Tab",
        },
        {
            content: "The total of the adjustment is computed: -220 000",
            trigger: ".modal .o_field_widget[name=amount_total]:contains('220,000')",
        },
        {
            content: "Create and issue",
            trigger: ".modal-footer button[name=action_create_and_issue]",
            run: "click",
        },
        {
            content: "The adjustment invoice is open and issued with the next number",
            trigger: `${NUMBER_2} ${ISSUED_BADGE}`,
        },
        {
            content: "It is posted, and no issuing error is shown",
            trigger: `${NUMBER_2}:not(:has(.o_field_widget[name=l10n_vn_einvoice_error])) .o_statusbar_status button.o_arrow_button_current:contains(Posted)`,
        },
    ],
});

registry.category("web_tour.tours").add("l10n_vn_einvoice_replace", {
    steps: () => [
        ...issuedOriginSteps(),
        {
            content: "Replace the issued e-invoice",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_l10n_vn_einvoice_replace]",
            run: "click",
        },
        {
            content: "Reason",
            trigger: ".modal .o_field_widget[name=reason] textarea",
            run: "edit Sai đơn giá",
        },
        {
            content: "Prepare replacement",
            trigger: ".modal-footer button[name=action_create]",
            run: "click",
        },
        {
            content: "The replacement draft is open, prefilled: edit the unit price of the line",
            trigger: `${DRAFT} div[name=invoice_line_ids] .o_data_row td[name=price_unit]:contains('1,500,000')`,
            run: "click",
        },
        {
            content: "New unit price: 1 400 000",
            trigger: "div[name=invoice_line_ids] .o_selected_row .o_field_widget[name=price_unit] input",
            run: "edit 1400000 && press Tab",
        },
        {
            content: "The total follows: 3 080 000",
            trigger: ".o_form_view span[name=amount_total]:contains('3,080,000')",
        },
        {
            content: "Confirm",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_post]",
            run: "click",
        },
        {
            content: "Posted, the e-invoice waits to be issued: issue it",
            trigger: `${NO_DIALOG} .o_form_view .o_statusbar_buttons button[name=action_l10n_vn_einvoice_issue]`,
            run: "click",
        },
        {
            content: "The replacement invoice is issued with the next number",
            trigger: `${NUMBER_2} ${ISSUED_BADGE}`,
        },
        {
            content: "It is posted, and no issuing error is shown",
            trigger: `${NUMBER_2}:not(:has(.o_field_widget[name=l10n_vn_einvoice_error])) .o_statusbar_status button.o_arrow_button_current:contains(Posted)`,
        },
    ],
});
