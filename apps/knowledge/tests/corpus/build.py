"""Rebuild the shipped corpus: ``python apps/knowledge/tests/corpus/build.py``.

The PDF is written by hand (a few text objects per page), so the corpus needs no PDF library.
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

HANDBOOK_PAGES = [
    [
        "Riverside Makerspace Member Handbook",
        "Opening hours: the makerspace opens at 7 am and closes at 10 pm on weekdays.",
        "On weekends the doors open at 9 am and close at 6 pm.",
        "Members receive a blue RFID key fob on their first visit; a lost fob costs 15 dollars to replace.",
    ],
    [
        "Laser cutter safety",
        "Never leave the laser cutter unattended while it is running a job.",
        "PVC and vinyl are banned from the laser cutter because they release chlorine gas.",
        "The air assist compressor must be switched on before every cut to prevent flare-ups.",
        "A carbon dioxide fire extinguisher hangs beside the laser cutter door.",
    ],
    [
        "Three dimensional printing",
        "The makerspace runs six Prusa printers loaded with PLA filament by default.",
        "Prints longer than eight hours need a booking approved by a volunteer steward.",
        "Members pay five cents per gram of filament, settled monthly by invoice.",
    ],
    [
        "Membership fees and cancellation",
        "A standard membership costs 45 dollars per month; students pay 25 dollars.",
        "Cancel your membership with thirty days written notice to the front desk.",
        "Family memberships cover two adults and up to three children under sixteen.",
    ],
]

PRODUCTS_CSV = """sku,name,category,price,warehouse,notes
T-100,Jasmine Cloud Tea,green tea,12.50,Rotterdam,Hand-rolled pearls scented with night-blooming jasmine
T-101,Smoky Lapsang Souchong,black tea,14.00,Hamburg,Dried over pinewood fires in the Wuyi mountains
T-102,Alpine Peppermint,herbal tea,8.75,Zurich,Caffeine free peppermint grown at 1200 metres
T-103,Ceremonial Matcha,green tea,32.00,Osaka,Stone-ground shade-grown tencha for whisking
T-104,Rooibos Vanilla,herbal tea,9.90,Cape Town,Red bush tea from the Cederberg with Madagascar vanilla
T-105,Darjeeling First Flush,black tea,21.00,Kolkata,Spring harvest with a muscatel aroma
T-106,Silver Needle White,white tea,27.50,Fuzhou,Unopened downy buds picked in early April
T-107,Masala Chai Blend,spiced tea,11.25,Mumbai,Assam with cardamom ginger cinnamon and clove
"""

GUIDE_MD = """# Deploying the Nightjar service

## Requirements
Nightjar needs PostgreSQL 16 or newer and at least 4 GB of memory. The service listens on port 7443 by default.

## Configuration
All settings come from environment variables. `NIGHTJAR_SECRET` signs session cookies and must be at least 32 characters long.
Set `NIGHTJAR_WORKERS` to the number of CPU cores; the default is two workers.

## Backups
Nightjar writes a nightly backup at 02:30 UTC to the bucket named in `NIGHTJAR_BACKUP_BUCKET`.
Backups are kept for 35 days and then pruned automatically.

## Troubleshooting
If the dashboard shows error E-42, the message queue is unreachable: check that RabbitMQ is running.
Error E-17 means the licence file expired; request a new licence from the vendor portal.
"""

FAQ_HTML = """<html><head><title>Greenhouse FAQ</title><style>body{color:red}</style></head>
<body><h1>Community Greenhouse FAQ</h1>
<p>The community greenhouse waters its tomato beds with a drip irrigation system every morning at six.</p>
<p>Plot holders may grow anything except invasive species such as Japanese knotweed.</p>
<script>var ignored = "this script text must never be indexed";</script>
<p>The compost bins are turned every second Saturday by the volunteer rota.</p>
</body></html>
"""

FACTS_JSON = """[
  {"planet": "Mars", "fact": "Olympus Mons on Mars is the tallest volcano in the solar system."},
  {"planet": "Jupiter", "fact": "Jupiter's Great Red Spot is a storm larger than Earth that has raged for centuries."},
  {"planet": "Saturn", "fact": "Saturn is less dense than water and its rings are mostly ice."}
]
"""

POLICY_PARAGRAPHS = [
    "Travel expense policy",
    "Employees must book economy class for flights shorter than six hours.",
    "Hotel stays are reimbursed up to 180 euros per night in capital cities.",
    "Receipts must be submitted within fourteen days of returning from a trip.",
    "Meal allowances are 40 euros per day, and alcohol is never reimbursed.",
]


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF: one Helvetica text block per page."""
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    font_id = 3 + 2 * len(pages)
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for index, lines in enumerate(pages):
        content_id = page_ids[index] + 1
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
                f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>"
            ).encode()
        )
        body = "BT /F1 11 Tf 14 TL 56 740 Td " + " ".join(f"({_pdf_escape(line)}) Tj T*" for line in lines) + " ET"
        stream = body.encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_docx(paragraphs: list[str]) -> bytes:
    import io

    import docx

    document = docx.Document()
    document.add_heading(paragraphs[0], level=1)
    for text in paragraphs[1:]:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def build() -> None:
    (HERE / "handbook.pdf").write_bytes(make_pdf(HANDBOOK_PAGES))
    (HERE / "teas.csv").write_text(PRODUCTS_CSV)
    (HERE / "nightjar.md").write_text(GUIDE_MD)
    (HERE / "greenhouse.html").write_text(FAQ_HTML)
    (HERE / "planets.json").write_text(FACTS_JSON)
    (HERE / "travel-policy.docx").write_bytes(make_docx(POLICY_PARAGRAPHS))


if __name__ == "__main__":
    build()
