"""E-mail over SMTP (smtplib): STARTTLS, implicit TLS or plain, as SMTP_SECURITY says.

SMTP's quirks:
- a 4xx reply is "not now" (greylisting, a full queue) and worth another try; a 5xx (550 no such mailbox, 535
  a refused login) will not change;
- a server that drops the connection or never answers is tried again later;
- the Message-ID is made from the delivery key, so every try of a copy carries the same one; a mail client may
  fold repeats by it, but servers deliver them: not keyed.
One connection per message, so the sending threads share nothing.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from gridops.messages.channels.base import Outcome, Outgoing, failed, retry

SECURITY = ("starttls", "ssl", "none")
TIMEOUT = 10.0


class Email:
    name = "email"
    keyed = False

    def __init__(self, host: str, sender: str, *, port: int = 0, user: str = "", password: str = "",
                 security: str = "starttls") -> None:
        if security not in SECURITY:
            raise ValueError(f"SMTP_SECURITY is one of {', '.join(SECURITY)}, not {security!r}")
        self.host, self.sender, self.user, self.password, self.security = host, sender, user, password, security
        self.port = port or {"starttls": 587, "ssl": 465, "none": 25}[security]

    def mail(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, message.address, message.title
        mail["Date"] = formatdate(localtime=False)
        domain = self.sender.rsplit("@", 1)[-1].strip("> ") or "gridops.local"
        mail["Message-ID"] = f"<{message.key}@{domain}>"
        mail.set_content(message.body, charset="utf-8")
        return mail

    def send(self, message: Outgoing) -> Outcome:
        try:
            with self._connect() as smtp:
                if self.user:
                    smtp.login(self.user, self.password)
                refused = smtp.send_message(self.mail(message))
        except smtplib.SMTPRecipientsRefused as exc:
            code, said = next(iter(exc.recipients.values()), (0, b""))
            return _reply(code, said, message.address)
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, login refused …
            return _reply(exc.smtp_code, exc.smtp_error, message.address)
        except smtplib.SMTPNotSupportedError as exc:
            return failed(f"the mail server does not offer it: {exc} (check SMTP_SECURITY)")
        except UnicodeEncodeError:
            return failed("smtplib logs in with ASCII only: SMTP_USER and SMTP_PASSWORD cannot hold other characters")
        except ssl.SSLCertVerificationError as exc:
            return failed(f"the mail server's certificate is not trusted: {exc.verify_message}")
        except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, dropped
            return retry(f"could not reach the mail server: {type(exc).__name__}: {exc}")
        if refused:
            code, said = next(iter(refused.values()))
            return _reply(code, said, message.address)
        return Outcome("sent", provider_id=f"<{message.key}>")

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT, context=ssl.create_default_context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
        if self.security == "starttls":
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp


def _reply(code: int, said: bytes | str, address: str) -> Outcome:
    text = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
    line = f"SMTP {code} for {address}: {text}"
    return retry(line) if 400 <= code < 500 else failed(line)
