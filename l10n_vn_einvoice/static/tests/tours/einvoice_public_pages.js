/** @odoo-module **/
// The buyer's journey on the public pages, in a real browser (HttpCase.start_tour):
// wrong code -> refused without details; right code -> summary and downloads; the downloaded XML
// verified on /einvoice/verify (valid, identical); the same XML with a changed total -> not valid, mismatch.
// The test (tests/test_portal.py) issues the invoice and gives it the lookup code below.

import { registry } from "@web/core/registry";

const SELLER_MST = "0312345673";
const LOOKUP_CODE = "K7M2P9X4Q8R3";
const STORE_KEY = "l10n_vn_einvoice_tour_xml";

function uploadXml(input, text) {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], "einvoice.xml", { type: "application/xml" }));
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
}

registry.category("web_tour.tours").add("l10n_vn_einvoice_public_pages", {
    url: "/einvoice/lookup",
    steps: () => [
        { content: "Seller tax code", trigger: "#einv_mst", run: `edit ${SELLER_MST}` },
        { content: "A wrong lookup code", trigger: "#einv_code", run: "edit WRONGCODE234" },
        { content: "Look up", trigger: ".o_vn_einv_lookup_submit", run: "click" },
        {
            content: "Refused, and no invoice shown",
            trigger: ".o_vn_einv_not_found",
            run() {
                if (document.querySelector(".o_vn_einv_result")) {
                    throw new Error("an invoice is shown for a wrong code");
                }
            },
        },
        { content: "Seller tax code again", trigger: "#einv_mst", run: `edit ${SELLER_MST}` },
        { content: "The right lookup code", trigger: "#einv_code", run: `edit ${LOOKUP_CODE.toLowerCase()}` },
        { content: "Look up", trigger: ".o_vn_einv_lookup_submit", run: "click" },
        { content: "The invoice is found", trigger: ".o_vn_einv_result .o_vn_einv_total:contains(VND)" },
        {
            content: "Download the PDF and the signed XML",
            trigger: ".o_vn_einv_result a.o_vn_einv_download_xml",
            async run() {
                const pdf = await fetch(document.querySelector("a.o_vn_einv_download_pdf").href);
                if (pdf.status !== 200) {
                    throw new Error(`PDF download failed: ${pdf.status}`);
                }
                const xml = await fetch(this.anchor.href);
                const text = await xml.text();
                if (xml.status !== 200 || !text.includes("<HDon")) {
                    throw new Error(`XML download failed: ${xml.status}`);
                }
                sessionStorage.setItem(STORE_KEY, text);
            },
        },
        { content: "Go to the verification page", trigger: "a.nav-link[href='/einvoice/verify']", run: "click" },
        {
            content: "Upload the downloaded XML",
            trigger: "#einv_xml",
            run() {
                uploadXml(this.anchor, sessionStorage.getItem(STORE_KEY));
            },
        },
        { content: "Verify", trigger: ".o_vn_einv_verify_submit", run: "click" },
        { content: "Every signature is valid", trigger: ".o_vn_einv_verdict .o_vn_einv_valid" },
        { content: "Signed by the seller", trigger: ".o_vn_einv_signatures .o_vn_einv_sig_ok" },
        { content: "It is the file issued here", trigger: ".o_vn_einv_match .o_vn_einv_identical" },
        {
            content: "Upload the same XML with another total",
            trigger: "#einv_xml",
            run() {
                const text = sessionStorage.getItem(STORE_KEY).replace(
                    /<TgTTTBSo>[^<]*<\/TgTTTBSo>/, "<TgTTTBSo>1</TgTTTBSo>");
                uploadXml(this.anchor, text);
            },
        },
        { content: "Verify", trigger: ".o_vn_einv_verify_submit", run: "click" },
        { content: "Not valid", trigger: ".o_vn_einv_verdict .o_vn_einv_invalid" },
        { content: "Does not match what was issued", trigger: ".o_vn_einv_match .o_vn_einv_mismatch" },
        {
            content: "The total is the field that differs",
            trigger: ".o_vn_einv_fields tr.table-danger td:contains(Tổng tiền thanh toán)",
            run() {
                sessionStorage.removeItem(STORE_KEY);
            },
        },
    ],
});
