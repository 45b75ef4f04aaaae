"""
Privacy at rest: the keys, the cipher and the model field that encrypts
text before it reaches the database (issue 13). Imports Django and
`cryptography` only; the models use it.
"""
