"""Which header holds each RFM role (customer id, date, amount, quantity, unit price, order id)."""

from collections import Counter
from dataclasses import dataclass

from app.core.errors import InvalidDataset
from app.models.features import CUSTOMER_ID_HEADERS, header_letters
from app.models.segmentations.spec import RFM_ROLES

# Header names as header_letters compares them ("Customer ID" and "customer_id" are "customerid"), most telling first:
# English, then the same in German, French, Spanish, Italian, Dutch and Portuguese exports ("Rechnungsdatum",
# "Montant", "Cantidad"), as the customer id's are. "data" (Italian and Portuguese for date) comes last of all.
ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": CUSTOMER_ID_HEADERS,
    "date": (
        "invoicedate", "date", "orderdate", "timestamp", "transactiondate", "purchasedate", "datetime", "saledate",
        "orderdatetime", "createdat", "ordertime", "time", "day",
        "rechnungsdatum", "bestelldatum", "kaufdatum", "belegdatum", "buchungsdatum", "datum", "datedefacture",
        "datedecommande", "datedachat", "fechadefactura", "fechadecompra", "fechadepedido", "fecha",
        "datafattura", "datadellordine", "factuurdatum", "besteldatum", "datadafatura", "datadacompra", "data",
    ),
    "amount": (
        "amount", "total", "revenue", "sales", "totalprice", "totalamount", "linetotal", "ordervalue", "value",
        "sale", "spend", "net", "netamount", "salesamount", "subtotal",
        "betrag", "gesamtbetrag", "umsatz", "summe", "nettobetrag", "montant", "montanttotal", "importe",
        "importetotal", "monto", "importo", "importototale", "bedrag", "totaalbedrag", "valor", "valortotal",
        "montante",
    ),
    "quantity": (
        "quantity", "qty", "units", "unitssold", "quantityordered", "itemcount",
        "menge", "anzahl", "stuck", "quantite", "cantidad", "quantita", "aantal", "quantidade",
    ),
    "unit_price": (
        "unitprice", "price", "priceeach", "itemprice", "priceperunit", "unitcost",
        "einzelpreis", "stuckpreis", "preis", "prixunitaire", "prix", "preciounitario", "precio", "prezzounitario",
        "prezzo", "stukprijs", "prijs", "precounitario", "preco",
    ),
    "order_id": (
        "invoiceno", "invoice", "invoiceid", "invoicenumber", "orderid", "order", "orderno", "ordernumber",
        "transactionid", "receiptid", "receiptno", "basketid",
        "rechnungsnummer", "rechnungsnr", "bestellnummer", "bestellnr", "belegnummer", "numerodefacture", "nfacture",
        "numerodecommande", "numerodefactura", "factura", "numerodepedido", "pedido", "numerofattura", "fattura",
        "ordine", "factuurnummer", "bestelnummer", "numerodafatura", "fatura",
    ),
}  # fmt: skip
# How each role is named in messages.
ROLE_TEXT = {
    "customer_id": "customer id",
    "date": "date",
    "amount": "amount",
    "quantity": "quantity",
    "unit_price": "unit price",
    "order_id": "order id",
}


@dataclass(frozen=True)
class RfmColumns:
    """The header of each role found in a file; an optional role absent is None."""

    customer_id: str
    date: str
    amount: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    order_id: str | None = None

    @property
    def amount_columns(self) -> list[str]:
        """The column(s) a line's amount comes from: the amount, or quantity and unit price."""
        if self.amount is not None:
            return [self.amount]
        return [name for name in (self.quantity, self.unit_price) if name is not None]

    def to_dict(self) -> dict[str, str]:
        """Role -> header, for the roles found."""
        return {role: getattr(self, role) for role in RFM_ROLES if getattr(self, role) is not None}


def _missing(role: str, header: list[str]) -> InvalidDataset:
    shown = ", ".join(header) or "(no columns)"
    return InvalidDataset(f"the transactions file has no {ROLE_TEXT[role]} column; its header: {shown}")


def detect_columns(header: list[str], overrides: dict[str, str] | None = None) -> RfmColumns:
    """Each role's column, from `overrides` (role -> header) or the header's names; InvalidDataset naming what is
    missing (customer id, date, and an amount or quantity with unit price) and listing the header."""
    overrides = dict(overrides or {})
    shown = ", ".join(header)
    # Two columns of one name: which one holds the role cannot be told (blank names are never read: not refused).
    duplicated = sorted(name for name, count in Counter(header).items() if count > 1 and name)
    if duplicated:
        named = ", ".join(repr(name) for name in duplicated)
        raise InvalidDataset(
            f"the transactions file has duplicated column name(s): {named}; rename or remove the copies. Its header: "
            f"{shown}"
        )
    found: dict[str, str | None] = {}
    for role, name in overrides.items():
        if role not in RFM_ROLES:
            raise InvalidDataset(f"unknown RFM column role {role!r}; known: {', '.join(RFM_ROLES)}")
        if name not in header:
            raise InvalidDataset(f"the {ROLE_TEXT[role]} column {name!r} is not in the file; its header: {shown}")
        found[role] = name
    by_name = {}
    for name in header:
        by_name.setdefault(header_letters(name), name)
    taken = set(found.values())
    for role in RFM_ROLES:
        if role in found:
            continue
        match = next((by_name[alias] for alias in ALIASES[role] if alias in by_name), None)
        found[role] = match if match not in taken else None
        if match is not None:
            taken.add(match)
    for role in ("customer_id", "date"):
        if found.get(role) is None:
            raise _missing(role, header)
    if found.get("amount") is None and (found.get("quantity") is None or found.get("unit_price") is None):
        absent = [ROLE_TEXT[role] for role in ("quantity", "unit_price") if found.get(role) is None]
        raise InvalidDataset(
            f"the transactions file has no amount column, nor quantity and unit price ({' and '.join(absent)} "
            f"missing); its header: {shown}"
        )
    return RfmColumns(**found)
