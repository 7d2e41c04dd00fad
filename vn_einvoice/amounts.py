"""Rounding, tax breakdown and totals: compute them, and check the ones a document carries.

What we write: VND amounts are whole đồng (ROUND_HALF_UP); other currencies keep 2 decimals. VAT per
rate is computed on the rate's taxable amount (the sum of its lines).

What we accept when checking (the rounding rules; README "Rounding"). The law fixes the format, not a
tolerance: amounts are numbers of up to 21 digits with up to 6 decimals (field tables of Decisions
1450/1510/1271, ``schema.NUM``), so a per-rate VAT of ``348655.2`` is a legal value; the tax
authority's checks are what real invoices it accepted show (``tests/data/realworld``). Hence:

1. a line: ``ThTien`` = ``SLuong`` × ``DGia`` − discount within 1 unit of the currency (prices with
   decimals are rounded once); a line of quantity 0 and price 0 with an amount (a fee or service charge
   written as a line, BKAV) is a warning, not compared;
2. VAT of a rate: ``TThue`` = rate × ``ThTien`` within ``1 + n/2`` units for ``n`` lines at that rate:
   each line's VAT rounded on its own moves the sum by at most half a unit, and a taxable amount derived
   from a price including VAT (price ÷ (1 + rate), Viettel 2023: 12 445 455 → VAT 1 244 545, not 1 244 546)
   moves it by one more unit;
3. totals: ``TgTCThue``/``TgTThue``/``TgTTTBSo`` against the sums of the breakdown (and fees): equal, or
   less than one unit apart — per-rate amounts with decimals rounded in the total — which is a warning.
   One unit or more apart is an error.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal, localcontext

from .codes import TaxRate, template_kind, template_title
from .document import Invoice, LineKind, TaxBreakdown, Totals
from .errors import WARNING, Problem, ValidationError
from .words import total_in_words

ZERO = Decimal(0)


def currency_digits(currency: str) -> int:
    return 0 if (currency or "VND").upper() == "VND" else 2


def round_amount(value: Decimal, currency: str = "VND") -> Decimal:
    quant = Decimal(1).scaleb(-currency_digits(currency))
    return Decimal(value).quantize(quant, rounding=ROUND_HALF_UP)


def vat_of(base: Decimal, rate: TaxRate, currency: str = "VND") -> Decimal | None:
    """VAT of a taxable amount at a rate; None for KCT/KKKNT (no VAT is written)."""
    if not rate.is_taxed:
        return None
    percent = rate.percent
    if percent is None:
        raise ValidationError.at("TSuat", f"rate {rate} has no percentage: write it as KHAC:x%")
    return round_amount(base * percent / 100, currency)


def line_amount(quantity, unit_price, discount_amount=None, discount_rate=None, currency="VND") -> Decimal:
    """``ThTien`` of a goods line: quantity × unit price − discount, rounded to the currency.

    Computed with 60 significant digits, exact for any quantity and price of 21 digits (the XML's
    limit): with the default 28, a product beyond 10**28 could not be rounded (``InvalidOperation``).
    """
    with localcontext() as ctx:
        ctx.prec = 60
        gross = Decimal(quantity) * Decimal(unit_price)
        if discount_amount is not None:
            gross -= Decimal(discount_amount)
        elif discount_rate:
            gross -= round_amount(gross * Decimal(discount_rate) / 100, currency)
        return round_amount(gross, currency)


def compute_breakdown(invoice: Invoice) -> tuple[TaxBreakdown, ...]:
    groups: OrderedDict[TaxRate, Decimal] = OrderedDict()
    for line in invoice.lines:
        if not line.counts_in_totals or line.tax_rate is None:
            continue
        groups[line.tax_rate] = groups.get(line.tax_rate, ZERO) + line.signed_amount
    return tuple(
        TaxBreakdown(rate=rate, taxable_amount=round_amount(base, invoice.currency),
                     tax_amount=vat_of(base, rate, invoice.currency))
        for rate, base in groups.items()
    )


def compute_totals(invoice: Invoice, breakdown: tuple[TaxBreakdown, ...]) -> Totals:
    before = sum((b.taxable_amount for b in breakdown), ZERO)
    # Lines without a rate (e.g. a sales invoice, template 2) still count before tax.
    before += sum((ln.signed_amount for ln in invoice.lines if ln.counts_in_totals and ln.tax_rate is None), ZERO)
    tax = sum((b.tax_amount or ZERO for b in breakdown), ZERO)
    discounts = [ln.amount or ZERO for ln in invoice.lines if ln.kind is LineKind.DISCOUNT]
    old = invoice.totals
    fees = old.fees if old else ()
    other = old.total_other_deduction if old else None
    total = before + tax + sum((f.amount for f in fees), ZERO) - (other or ZERO)
    total = round_amount(total, invoice.currency)
    return Totals(
        total_before_tax=round_amount(before, invoice.currency),
        total_tax=round_amount(tax, invoice.currency),
        total=total,
        total_in_words=total_in_words(total, invoice.currency),
        total_discount=round_amount(sum(discounts, ZERO), invoice.currency) if discounts else None,
        fees=fees,
        total_non_taxable_deduction=old.total_non_taxable_deduction if old else None,
        total_other_deduction=other,
        extra=old.extra if old else (),
    )


def complete(invoice: Invoice) -> Invoice:
    """Return the invoice with its title, line numbers, tax breakdown, totals and words computed from its lines."""
    lines = tuple(
        replace(ln, seq=ln.seq if ln.seq is not None else i) for i, ln in enumerate(invoice.lines, start=1)
    )

    title = invoice.title
    if not title:
        try:
            title = template_title(invoice.template, invoice.symbol)
        except ValidationError:
            title = ""
    invoice = replace(invoice, lines=lines, title=title)
    breakdown = compute_breakdown(invoice)
    return replace(invoice, tax_breakdown=breakdown, totals=compute_totals(invoice, breakdown))


def _fmt(value) -> str:
    return f"{Decimal(value):,f}".replace(",", " ") if value is not None else "nothing"


def check_amounts(invoice: Invoice) -> list[Problem]:
    """Every inconsistency between lines, breakdown and totals, naming the amounts."""
    problems: list[Problem] = []
    cur = invoice.currency
    digits = currency_digits(cur)
    lines_path = "HDon/DLHDon/NDHDon/DSHHDVu/HHDVu"
    toan = "HDon/DLHDon/NDHDon/TToan"
    for i, ln in enumerate(invoice.lines, start=1):
        p = f"{lines_path}[{i}]"
        if ln.kind is LineKind.NOTE:
            continue
        if ln.amount is None:
            problems.append(Problem(f"{p}/ThTien", "amount (ThTien) is missing"))
            continue
        for name, value in (("ThTien", ln.amount), ("DGia", ln.unit_price), ("STCKhau", ln.discount_amount)):
            if value is not None and cur.upper() == "VND" and name == "ThTien" and value != value.to_integral_value():
                problems.append(Problem(f"{p}/{name}", f"VND amount {_fmt(value)} must be rounded to the đồng"))
        if ln.quantity == 0 and ln.unit_price == 0 and ln.amount and ln.kind is LineKind.GOODS:
            problems.append(Problem(f"{p}/ThTien", f"line {i}: quantity and unit price are 0, the amount "
                                                   f"{_fmt(ln.amount)} stands alone (a fee or charge line)", WARNING))
        elif ln.quantity is not None and ln.unit_price is not None and ln.kind is LineKind.GOODS:
            expected = line_amount(ln.quantity, ln.unit_price, ln.discount_amount, ln.discount_rate, cur)
            # one unit of rounding is tolerated (prices with decimals)
            if abs(expected - ln.amount) > Decimal(1).scaleb(-digits):
                problems.append(Problem(
                    f"{p}/ThTien",
                    f"line {i}: {_fmt(ln.quantity)} × {_fmt(ln.unit_price)}"
                    + (f" − {_fmt(ln.discount_amount)}" if ln.discount_amount else "")
                    + f" = {_fmt(expected)}, but the amount is {_fmt(ln.amount)}",
                ))
        if ln.counts_in_totals and ln.tax_rate is None and codes_template_needs_rate(invoice.template):
            problems.append(Problem(f"{p}/TSuat", f"line {i}: VAT rate (TSuat) is missing"))
    lines_at = Counter(ln.tax_rate for ln in invoice.lines if ln.counts_in_totals)  # once: rates may be many
    expected_bd = {b.rate: b for b in compute_breakdown(invoice)}
    given_bd = {b.rate: b for b in invoice.tax_breakdown}
    bd_path = f"{toan}/THTTLTSuat/LTSuat"
    # lines' rates first, then rows without lines, in document order (a set would shuffle the problems)
    for rate in [*expected_bd, *(r for r in given_bd if r not in expected_bd)]:
        exp, got = expected_bd.get(rate), given_bd.get(rate)
        if got is None:
            problems.append(Problem(bd_path, f"the lines at {rate} ({_fmt(exp.taxable_amount)}) have no breakdown row"))
            continue
        if exp is None:
            if got.taxable_amount or got.tax_amount:
                problems.append(Problem(bd_path, f"breakdown row {rate} ({_fmt(got.taxable_amount)}) has no lines"))
            continue
        if exp.taxable_amount != got.taxable_amount:
            problems.append(Problem(
                f"{bd_path}[TSuat={rate}]/ThTien",
                f"lines at {rate} add up to {_fmt(exp.taxable_amount)}, the breakdown says {_fmt(got.taxable_amount)}",
            ))
        if rate.is_taxed and rate.percent is not None:
            expected_tax = vat_of(got.taxable_amount, rate, cur)
            n_lines = lines_at[rate]
            # rule 2 of the module docstring: half a unit per line, one more for a VAT-inclusive price
            tolerance = Decimal(1).scaleb(-digits) * (1 + Decimal(n_lines) / 2)
            if got.tax_amount is None or abs(got.tax_amount - expected_tax) > tolerance:
                problems.append(Problem(
                    f"{bd_path}[TSuat={rate}]/TThue",
                    f"VAT at {rate} of {_fmt(got.taxable_amount)} is {_fmt(expected_tax)}, "
                    f"the breakdown says {_fmt(got.tax_amount)}",
                ))
        elif not rate.is_taxed and got.tax_amount:
            problems.append(Problem(
                f"{bd_path}[TSuat={rate}]/TThue", f"{rate} carries no VAT, but the breakdown says {_fmt(got.tax_amount)}",
            ))
    t = invoice.totals
    if t is None:
        problems.append(Problem(toan, "totals are missing"))
        return problems
    before = sum((b.taxable_amount for b in invoice.tax_breakdown), ZERO) + sum(
        (ln.signed_amount for ln in invoice.lines if ln.counts_in_totals and ln.tax_rate is None), ZERO)
    tax = sum((b.tax_amount or ZERO for b in invoice.tax_breakdown), ZERO)
    unit = Decimal(1).scaleb(-digits)
    grand = t.total_before_tax + t.total_tax + sum((f.amount for f in t.fees), ZERO) - (t.total_other_deduction or ZERO)
    for name, given, summed, what in (
            ("TgTCThue", t.total_before_tax, before, f"the breakdown adds up to {_fmt(before)} before VAT"),
            ("TgTThue", t.total_tax, tax, f"the breakdown adds up to {_fmt(tax)} of VAT"),
            ("TgTTTBSo", t.total, grand, f"{_fmt(t.total_before_tax)} + {_fmt(t.total_tax)} VAT"
             + (" + fees" if t.fees else "") + f" = {_fmt(grand)}")):
        if given == summed:
            continue
        # rule 3 of the module docstring: less than a unit apart is per-rate decimals rounded in the total
        rounded = abs(given - summed) < unit
        problems.append(Problem(f"{toan}/{name}", f"{what}, the total says {_fmt(given)}"
                                + (" (amounts with decimals rounded in the total)" if rounded else ""),
                                WARNING if rounded else "error"))
    if cur.upper() == "VND":
        for name, value in (("TgTCThue", t.total_before_tax), ("TgTThue", t.total_tax), ("TgTTTBSo", t.total)):
            if value != value.to_integral_value():
                problems.append(Problem(f"{toan}/{name}", f"VND total {_fmt(value)} must be rounded to the đồng"))
    return problems


def codes_template_needs_rate(template: str) -> bool:
    """VAT invoices (template 1, 8, legacy 01GTKT) need a rate on every line; sales invoices do not."""
    try:
        return template_kind(template) in {"1", "8"}
    except ValidationError:
        return False
