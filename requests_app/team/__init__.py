"""The team: who is on it and in which role, and how an account is opened
(`accounts`). May import the domain, `mail/` and `services`; the interfaces
import it."""
