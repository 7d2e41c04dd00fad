"""E-invoice providers (Viettel SInvoice, VNPT, MISA, …): mappings between their formats and the document."""
