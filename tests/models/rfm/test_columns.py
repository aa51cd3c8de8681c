"""Finding the RFM roles in a header: aliases, overrides, and what is missing."""

import pytest

from app.core.errors import InvalidDataset
from app.models.rfm.columns import detect_columns


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"],
            {"customer_id": "CustomerID", "date": "InvoiceDate", "quantity": "Quantity", "unit_price": "UnitPrice",
             "order_id": "InvoiceNo"},
        ),
        (
            ["Invoice", "Customer ID", "Price", "Quantity", "InvoiceDate"],
            {"customer_id": "Customer ID", "date": "InvoiceDate", "quantity": "Quantity", "unit_price": "Price",
             "order_id": "Invoice"},
        ),
        (["client_id", "order_date", "Revenue"],
         {"customer_id": "client_id", "date": "order_date", "amount": "Revenue"}),
        (["customer_id", "timestamp", "Sales", "OrderID"],
         {"customer_id": "customer_id", "date": "timestamp", "amount": "Sales", "order_id": "OrderID"}),
        (["CUSTOMER", "Date", "Total", "Qty", "unit_price"],
         {"customer_id": "CUSTOMER", "date": "Date", "amount": "Total", "quantity": "Qty", "unit_price": "unit_price"}),
        # Exports in other languages: German, French, Spanish, Italian, Dutch, Portuguese.
        (["Rechnungsnummer", "Kundennummer", "Rechnungsdatum", "Menge", "Einzelpreis"],
         {"customer_id": "Kundennummer", "date": "Rechnungsdatum", "quantity": "Menge", "unit_price": "Einzelpreis",
          "order_id": "Rechnungsnummer"}),
        (["Kundennummer", "Datum", "Betrag"], {"customer_id": "Kundennummer", "date": "Datum", "amount": "Betrag"}),
        (["N° facture", "N° client", "Date de facture", "Quantité", "Prix unitaire"],
         {"customer_id": "N° client", "date": "Date de facture", "quantity": "Quantité", "unit_price": "Prix unitaire",
          "order_id": "N° facture"}),
        (["Número de cliente", "Fecha", "Importe"],
         {"customer_id": "Número de cliente", "date": "Fecha", "amount": "Importe"}),
        (["Codice cliente", "Data", "Importo"], {"customer_id": "Codice cliente", "date": "Data", "amount": "Importo"}),
        (["Klantnummer", "Factuurdatum", "Bedrag", "Factuurnummer"],
         {"customer_id": "Klantnummer", "date": "Factuurdatum", "amount": "Bedrag", "order_id": "Factuurnummer"}),
        (["Código do cliente", "Data da compra", "Valor"],
         {"customer_id": "Código do cliente", "date": "Data da compra", "amount": "Valor"}),
        # The most telling name wins where several match: an invoice date over a bare date.
        (["Kundennummer", "Datum", "Rechnungsdatum", "Betrag"],
         {"customer_id": "Kundennummer", "date": "Rechnungsdatum", "amount": "Betrag"}),
    ],
)  # fmt: skip
def test_detect_columns_by_alias(header, expected):
    assert detect_columns(header).to_dict() == expected


def test_overrides_take_a_role_and_its_header():
    found = detect_columns(["who", "when", "Amount"], {"customer_id": "who", "date": "when"})
    assert (found.customer_id, found.date, found.amount) == ("who", "when", "Amount")


def test_an_override_naming_no_column_is_refused():
    with pytest.raises(InvalidDataset, match="'Buyer' is not in the file; its header: id, Date, Amount"):
        detect_columns(["id", "Date", "Amount"], {"customer_id": "Buyer"})


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["CustomerID", "Amount"], "no date column; its header: CustomerID, Amount"),
        (["Date", "Amount"], "no customer id column; its header: Date, Amount"),
        (["CustomerID", "Date", "Quantity"], "no amount column, nor quantity and unit price (unit price missing)"),
    ],
)
def test_missing_roles_are_named_with_the_header(header, message):
    with pytest.raises(InvalidDataset) as caught:
        detect_columns(header)
    assert message in caught.value.message


def test_a_header_naming_a_column_twice_is_refused():
    with pytest.raises(InvalidDataset) as caught:
        detect_columns(["InvoiceNo", "CustomerID", "CustomerID", "InvoiceDate", "Amount", "", ""])
    assert caught.value.message == (
        "the transactions file has duplicated column name(s): 'CustomerID'; rename or remove the copies. Its header: "
        "InvoiceNo, CustomerID, CustomerID, InvoiceDate, Amount, , "
    )
