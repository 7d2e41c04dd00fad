"""User-log retention: time and memory of the daily purge of old exchange texts (run by scripts/bench-log-retention).

Runs inside ``odoo-bin shell`` on a throw-away database where l10n_vn_einvoice is installed without demo data.
Writes, by SQL, BENCH_N provider exchanges 400 to 600 days old with a 4 KB request and a 2 KB response (hex, so
that PostgreSQL cannot compress them away), BENCH_N / 5 young ones (10 days old, kept) and BENCH_N / 2 old
"issued" rows without texts, then measures in the same run:
  * baseline: ``search_count`` of the rows to purge (the ORM's count of the same rows, same domain),
  * purge: ``_cron_l10n_vn_einvoice_purge_texts`` called and committed chunk by chunk as ir.cron does
    (5 000 rows a chunk), until it reports nothing remaining; Python memory peak (tracemalloc),
  * a second daily run with nothing left to do,
and checks that every old text and no young one was removed and that no row was deleted. The last line is
``rows=… purge_s=… count_s=… ratio=… chunks=… peak_mb=…``.

Environment: BENCH_N (default 100000).
"""
import os
import time
import tracemalloc
from datetime import timedelta

from odoo import fields
from odoo.tools import SQL

N = int(os.environ.get('BENCH_N', '100000'))


def sizes(env):
    env.cr.execute("SELECT pg_total_relation_size('l10n_vn_einvoice_event')")
    return env.cr.fetchone()[0] / 2 ** 20


def fill(env, company, now):
    texts = """(SELECT string_agg(md5(g::text || '-' || i::text), '') FROM generate_series(1, %s) i)"""
    insert = f"""
        INSERT INTO l10n_vn_einvoice_event (date, company_id, user_id, event, outcome, channel, message,
                                            request, response, create_uid, create_date, write_uid, write_date)
        SELECT %(now)s - make_interval(days => %(days)s) - make_interval(mins => g %% 288000),
               %(company)s, 2, %(event)s, 'done', 'ImportAndPublishInv', 'provider exchange ' || g,
               CASE WHEN %(texts)s THEN {texts % 128} END, CASE WHEN %(texts)s THEN {texts % 64} END,
               2, %(now)s, 2, %(now)s
          FROM generate_series(1, %(count)s) g
    """  # noqa: S608 - constants only
    for event, days, count, texts_ in (('provider_exchange', 400, N, True), ('provider_exchange', 10, N // 5, True),
                                       ('issued', 400, N // 2, False)):
        env.cr.execute(insert, {'now': now, 'days': days, 'company': company.id, 'event': event, 'count': count,
                                'texts': texts_})
    env.cr.commit()
    env.cr.execute('ANALYZE l10n_vn_einvoice_event')
    env.cr.commit()


def main(env):
    env = env(su=True)
    company = env.ref('base.main_company')
    company.l10n_vn_einvoice_log_text_days = 365
    Event = env['l10n_vn_einvoice.event']
    now = fields.Datetime.now()
    t0 = time.perf_counter()
    fill(env, company, now)
    total = Event.search_count([])
    print(f'filled {total} rows in {time.perf_counter() - t0:.1f} s; table with indexes and TOAST: '
          f'{sizes(env):.0f} MB')

    domain = [('company_id', '=', company.id), ('event', 'in', ['provider', 'provider_exchange', 'tax_authority']),
              ('date', '<', now - timedelta(days=365)), ('texts_removed_date', '=', False),
              '|', ('request', '!=', False), ('response', '!=', False)]
    t0 = time.perf_counter()
    to_purge = Event.search_count(domain)
    count_s = time.perf_counter() - t0

    cron = env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_purge_texts')
    chunks, slowest, done_total = 0, 0.0, 0
    tracemalloc.start()
    t0 = time.perf_counter()
    while True:  # as ir.cron's batch protocol does: call, commit, call again while some remain
        progress = env['ir.cron.progress'].create({'cron_id': cron.id, 'done': 0, 'remaining': 0})
        t1 = time.perf_counter()
        Event.with_context(ir_cron_progress_id=progress.id)._cron_l10n_vn_einvoice_purge_texts(now=now)
        env.cr.commit()
        slowest = max(slowest, time.perf_counter() - t1)
        if not progress.done:
            break
        chunks += 1
        done_total += progress.done
        if not progress.remaining:
            break
    purge_s = time.perf_counter() - t0
    peak_mb = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    env.invalidate_all()
    again = Event._cron_l10n_vn_einvoice_purge_texts(now=now)
    kept = Event.search_count([('event', '=', 'provider_exchange'), ('texts_removed_date', '=', False),
                               ('request', 'like', '%')])
    if (to_purge, done_total, again, Event.search_count([]), kept) != (N, N, 0, total, N // 5):
        raise SystemExit(f'unexpected: to purge {to_purge}, purged {done_total}, second run {again}, '
                         f'rows {Event.search_count([])}/{total}, young kept {kept}/{N // 5}')
    size_after = sizes(env)
    env.cr.commit()
    env.cr._cnx.autocommit = True  # VACUUM runs outside a transaction
    env.cr.execute('VACUUM ANALYZE l10n_vn_einvoice_event')  # what autovacuum does after such an update
    env.cr._cnx.autocommit = False
    # the next daily run, with nothing to do: how it finds the rows
    where = Event._l10n_vn_einvoice_purge_where(company, now - timedelta(days=365))
    plan = []
    for query in ('SELECT id FROM l10n_vn_einvoice_event WHERE %s ORDER BY date, id LIMIT 5000',
                  'SELECT count(*) FROM l10n_vn_einvoice_event WHERE %s'):
        env.cr.execute(SQL(f'EXPLAIN {query}', where))
        plan.append(next((line.strip(' ->').split('  (')[0] for (line,) in env.cr.fetchall() if 'Scan' in line), '?'))
    t0 = time.perf_counter()
    Event._cron_l10n_vn_einvoice_purge_texts(now=now)
    env.cr.commit()
    noop_s = time.perf_counter() - t0
    env.cr.execute("""SELECT avg(pg_column_size(e.*))::int FROM l10n_vn_einvoice_event e
                       WHERE texts_removed_date IS NOT NULL""")
    row_bytes = env.cr.fetchone()[0]
    print(f'purged {done_total} rows in {chunks} chunks of at most 5000 (slowest chunk {slowest:.2f} s); '
          f'next run (nothing to do) {noop_s * 1000:.0f} ms (chunk: {plan[0]}; count: {plan[1]}); '
          f'table {size_after:.0f} MB after (freed space reused by PostgreSQL after VACUUM: {sizes(env):.0f} MB); a purged row {row_bytes} bytes')
    print(f'rows={done_total} purge_s={purge_s:.2f} count_s={count_s:.3f} ratio={purge_s / count_s:.0f} '
          f'chunks={chunks} peak_mb={peak_mb:.1f}')


main(env)  # noqa: F821 - given by odoo-bin shell
