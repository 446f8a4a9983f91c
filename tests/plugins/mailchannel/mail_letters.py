"""Letters as real mail programs write them, built by the tests (no fixtures on
disk): Outlook, Gmail, Apple Mail, Thunderbird, KOI8-R and Windows-1251 ones,
auto-replies and delivery reports."""

from __future__ import annotations

import base64
from email.header import Header
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate


def plain(sender="ivan@example.ru", subject="Не работает принтер", body="Принтер не печатает.",
          message_id="<p1@example.ru>", to="support@desk.example", **headers) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate()
    if message_id:
        msg["Message-ID"] = message_id
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    return bytes(msg)


def reply(to_letter, sender="ivan@example.ru", body="Спасибо, заработало.",
          message_id="<r1@example.ru>", drop_references=False) -> bytes:
    """A reply as Thunderbird writes it: In-Reply-To, References, the quote."""
    part = to_letter.get_body(("plain",))
    text = part.get_content() if part is not None else ""
    quoted = "\n".join("> " + line for line in text.splitlines())
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = str(to_letter["From"])
    msg["Subject"] = "Re: " + str(to_letter["Subject"])
    msg["Message-ID"] = message_id
    msg["In-Reply-To"] = str(to_letter["Message-ID"])
    if not drop_references:
        refs = str(to_letter.get("References", "") or "")
        msg["References"] = (refs + " " + str(to_letter["Message-ID"])).strip()
    msg.set_content(f"{body}\n\n03.12.2026 10:00, Hookdesk пишет:\n{quoted}\n")
    return bytes(msg)


def outlook(sender="olga@corp.example", subject="Счёт за декабрь") -> bytes:
    """Outlook: multipart/mixed > multipart/alternative (text + HTML with a
    remote image and a script), a PDF with an RFC 2231 Russian name, Thread-Index."""
    outer = MIMEMultipart("mixed")
    outer["From"] = f"=?utf-8?b?{base64.b64encode('Ольга Петрова'.encode()).decode()}?= <{sender}>"
    outer["To"] = "support@desk.example"
    outer["Subject"] = Header(subject, "utf-8").encode()
    outer["Message-ID"] = "<AM0PR01MB1234@corp.example>"
    outer["Thread-Index"] = "AdnHqL1+abc="
    outer["X-MS-Has-Attach"] = "yes"
    alt = MIMEMultipart("alternative")
    alt.attach(MIMEText("Добрый день!\r\nПрошу выставить счёт.\r\n", "plain", "utf-8"))
    alt.attach(MIMEText('<html><body><p>Добрый день!</p><p>Прошу <b>выставить</b> счёт.</p>'
                        '<img src="https://tracker.example/pixel.gif">'
                        '<script>alert(1)</script><a href="https://corp.example" '
                        'onclick="steal()">сайт</a></body></html>', "html", "utf-8"))
    outer.attach(alt)
    pdf = MIMEApplication(b"%PDF-1.4\n%test\n", "pdf")
    pdf.add_header("Content-Disposition", "attachment", filename=("utf-8", "", "Счёт №5.pdf"))
    outer.attach(pdf)
    return outer.as_bytes()


def gmail_html_only(sender="petr@gmail.example") -> bytes:
    """Gmail writing HTML only, with an inline picture (cid:) and a quoted-printable body."""
    related = MIMEMultipart("related")
    related["From"] = f"Petr <{sender}>"
    related["To"] = "support@desk.example"
    related["Subject"] = "Screenshot of the error"
    related["Message-ID"] = "<CAF=abc123@mail.gmail.example>"
    html = MIMEText('<div dir="ltr">See the error:<br><img src="cid:ii_1"><br>'
                    '<img src="http://remote.example/a.png">Thanks</div>', "html", "utf-8")
    related.attach(html)
    png = MIMEApplication(b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "png")
    png.replace_header("Content-Type", "image/png")
    png.add_header("Content-ID", "<ii_1>")
    png.add_header("Content-Disposition", "inline", filename="image.png")
    related.attach(png)
    return related.as_bytes()


def apple_mail(sender="anna@icloud.example") -> bytes:
    """Apple Mail: quoted-printable text with an attachment in the middle."""
    outer = MIMEMultipart("mixed")
    outer["From"] = f"Anna <{sender}>"
    outer["To"] = "support@desk.example"
    outer["Subject"] = "Photo of the broken door"
    outer["Message-ID"] = "<5E1F2A3B-1111-2222-3333-444455556666@icloud.example>"
    first = MIMEText("Here is the photo:\n", "plain", "us-ascii")
    outer.attach(first)
    photo = MIMEApplication(b"\xff\xd8\xff\xe0" + b"\0" * 64, "octet-stream")
    photo.add_header("Content-Disposition", "attachment", filename="IMG_0042.jpg")
    outer.attach(photo)
    outer.attach(MIMEText("\nSent from my iPhone\n", "plain", "us-ascii"))
    return outer.as_bytes()


def eight_bit(charset: str, sender="sergey@mail.example") -> bytes:
    """An 8-bit Russian letter in ``charset`` (koi8-r, windows-1251), the subject
    RFC 2047-encoded in the same charset, the body sent as 8bit."""
    text = "Здравствуйте! Сломался кондиционер в офисе 5."
    subject = Header("Кондиционер", charset).encode()
    head = (f"From: Сергей <{sender}>\r\nTo: support@desk.example\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{charset}-1@mail.example>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n")
    head = head.replace("Сергей", Header("Сергей", charset).encode())
    return head.encode("ascii") + text.encode(charset) + b"\r\n"


def auto_reply(to_letter, sender="ivan@example.ru", header="Auto-Submitted",
               value="auto-replied", subject=None, message_id="<auto-1@example.ru>",
               thread=True) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = str(to_letter["From"])
    msg["Subject"] = subject or ("Автоответ: " + str(to_letter["Subject"]))
    msg["Message-ID"] = message_id
    if thread:
        msg["In-Reply-To"] = str(to_letter["Message-ID"])
    if header:
        msg[header] = value
    msg.set_content("Я в отпуске до 10 декабря.")
    return bytes(msg)


def bounce(original, failed="ivan@example.ru") -> bytes:
    """A delivery status notification (RFC 3464) as Postfix's mailer-daemon sends it."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.desk.example>\r\n"
        f"To: {original['From']}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.desk.example>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n\r\n'
        "--B1\r\nContent-Type: text/plain\r\n\r\n"
        f"Your message could not be delivered to {failed}.\r\n"
        "--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.desk.example\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        "--B1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original['Message-ID']}\r\n"
        f"References: {original.get('References', '')}\r\n"
        "Subject: something\r\n\r\n"
        "--B1--\r\n").encode()

# The plugins every test of the e-mail channel enables.
PLUGINS = ("helpdesk", "notifications", "mailchannel")
