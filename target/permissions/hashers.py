"""A cheap password hasher: the seeded passwords are public, and logins sit on load-test paths."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 with few iterations. Never use this outside a test target."""

    algorithm = "pbkdf2_sha256_fast"
    iterations = 1000
